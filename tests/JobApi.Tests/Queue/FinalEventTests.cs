using JobApi.Engine;

namespace JobApi.Tests.Queue;

public class FinalEventTests
{
    [Theory]
    [InlineData("01M8B3WV82X0RNM2G4DF6HFTME", false, false)]
    [InlineData("01M8B3WV82X0RNM2G4DF6HFTME|d", true, false)]
    [InlineData("01M8B3WV82X0RNM2G4DF6HFTME|w", false, true)]
    [InlineData("01M8B3WV82X0RNM2G4DF6HFTME|dw", true, true)]
    public void A_final_event_message_gives_the_job_id_and_what_its_end_made_due(string message, bool dependents, bool webhook)
    {
        var parsed = FinalEvent.Parse(message);
        Assert.Equal("01M8B3WV82X0RNM2G4DF6HFTME", parsed.JobId);
        Assert.Equal(dependents, parsed.Dependents);
        Assert.Equal(webhook, parsed.Webhook);
    }
}
