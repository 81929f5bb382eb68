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

    [Theory]
    [InlineData("01M8B3WV82X0RNM2G4DF6HFTME||{\"shards\":1}", false, false, "{\"shards\":1}")]
    [InlineData("01M8B3WV82X0RNM2G4DF6HFTME|dw|{\"text\":\"a|b\"}", true, true, "{\"text\":\"a|b\"}")]
    [InlineData("01M8B3WV82X0RNM2G4DF6HFTME|w|", false, true, "")]
    public void A_final_event_on_the_events_channel_may_carry_the_whole_result(string message, bool dependents, bool webhook, string result)
    {
        var parsed = FinalEvent.Parse(message);
        Assert.Equal("01M8B3WV82X0RNM2G4DF6HFTME", parsed.JobId);
        Assert.Equal(dependents, parsed.Dependents);
        Assert.Equal(webhook, parsed.Webhook);
        Assert.Equal(result, parsed.Result);
    }

    [Theory]
    [InlineData("01M8B3WV82X0RNM2G4DF6HFTME|x", true)]
    [InlineData("01M8B3WV82X0RNM2G4DF6HFTME|dw", false)]
    [InlineData("01M8B3WV82X0RNM2G4DF6HFTME||{\"text\":\"x|x\"}", false)]
    public void A_delete_event_is_told_apart_from_a_final_event(string message, bool deleted)
    {
        var parsed = FinalEvent.Parse(message);
        Assert.Equal("01M8B3WV82X0RNM2G4DF6HFTME", parsed.JobId);
        Assert.Equal(deleted, parsed.Deleted);
        if (deleted) Assert.False(parsed.Dependents || parsed.Webhook || parsed.Result is not null);
    }

    [Fact]
    public void A_message_of_several_events_gives_each_in_order()
    {
        const string a = "01M8B3WV82X0RNM2G4DF6HFTME", b = "01M8B3WV82X0RNM2G4DF6HFTMF", c = "01M8B3WV82X0RNM2G4DF6HFTMG";
        var message = string.Join(FinalEvent.Separator, $"{a}||{{\"text\":\"a|b\\n\"}}", $"{b}|dw", c);
        var parsed = FinalEvent.ParseAll(message).ToList();
        Assert.Equal([a, b, c], parsed.Select(e => e.JobId));
        Assert.Equal("{\"text\":\"a|b\\n\"}", parsed[0].Result);
        Assert.True(parsed[1].Dependents && parsed[1].Webhook);
        Assert.Null(parsed[2].Result);
        Assert.Equal([FinalEvent.Parse(a)], FinalEvent.ParseAll(a));
        // JSON escapes every control character, so a result can never hold the separator itself.
        Assert.DoesNotContain(FinalEvent.Separator, System.Text.Json.JsonSerializer.Serialize(new { text = $"x{FinalEvent.Separator}y" }));
    }

    [Fact]
    public void A_final_event_without_a_result_has_none()
    {
        Assert.Null(FinalEvent.Parse("01M8B3WV82X0RNM2G4DF6HFTME").Result);
        Assert.Null(FinalEvent.Parse("01M8B3WV82X0RNM2G4DF6HFTME|d").Result);
    }
}
