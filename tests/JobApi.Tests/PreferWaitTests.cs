using JobApi.Api;
using Microsoft.Extensions.Primitives;

namespace JobApi.Tests;

/// <summary>The <c>wait</c> preference of <c>Prefer</c> headers (RFC 7240), as POST /v1/jobs reads it.</summary>
public sealed class PreferWaitTests
{
    [Theory]
    [InlineData("wait=5", 5)]
    [InlineData("WAIT=5", 5)]
    [InlineData("wait = 5", 5)]
    [InlineData("wait=\"7\"", 7)]
    [InlineData("respond-async, wait=10", 10)]
    [InlineData("return=minimal; foo=\"bar\", wait=3", 3)]
    [InlineData("wait=3; extra, respond-async", 3)]
    [InlineData("wait=3, wait=9", 3)]
    [InlineData("wait=60", 60)]
    [InlineData("wait=61", 60)]
    [InlineData("wait=99999999999999999999", 60)]
    public void Reads_the_wait_in_seconds_capped_at_the_limit(string header, int expected) =>
        Assert.Equal(expected, PreferWait.Parse(header, 60));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("respond-async")]
    [InlineData("wait")]
    [InlineData("wait=")]
    [InlineData("wait=0")]
    [InlineData("wait=-1")]
    [InlineData("wait=1.5")]
    [InlineData("wait=abc")]
    [InlineData("waiting=5")]
    [InlineData("handling=lenient; wait=5")] // a parameter of another preference, not the preference
    public void A_header_without_a_readable_positive_wait_asks_for_none(string? header) =>
        Assert.Null(PreferWait.Parse(header, 60));

    [Fact]
    public void Several_headers_are_read_in_order_and_a_limit_of_0_turns_waiting_off()
    {
        Assert.Equal(7, PreferWait.Parse(new StringValues(["handling=lenient", "wait=7", "wait=2"]), 60));
        Assert.Null(PreferWait.Parse("wait=5", 0));
    }
}
