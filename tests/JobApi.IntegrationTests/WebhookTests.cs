using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace JobApi.IntegrationTests;

/// <summary>callbackUrl: the final status is POSTed, signed with HMAC-SHA256, retried with backoff, and every
/// attempt shows in the job status. The receiver is a Kestrel server on 127.0.0.1 (loopback allowed here).</summary>
[Collection(RedisCollection.Name)]
public sealed class WebhookTests(RedisServerFixture redis, ServiceFixture service) : ApiTest(redis, service, new Dictionary<string, string?>
{
    ["JobApi:Webhooks:Secret"] = Secret,
    ["JobApi:Webhooks:AllowLoopback"] = "true",
    ["JobApi:Webhooks:RetryBackoff"] = "00:00:00.100",
    ["JobApi:Webhooks:MaxAttempts"] = "3",
})
{
    private const string Secret = "webhook-test-secret";

    /// <summary>The signature, computed here independently of the service.</summary>
    private static string Expected(byte[] body)
    {
        using var hmac = new HMACSHA256(Encoding.UTF8.GetBytes(Secret));
        return "sha256=" + string.Concat(hmac.ComputeHash(body).Select(b => b.ToString("x2")));
    }

    private async Task<JsonElement> WaitForWebhookAsync(string id, string state)
    {
        JsonElement status = default;
        await TestSupport.WaitUntilAsync(async () =>
        {
            status = await Client.GetJsonAsync($"/v1/jobs/{id}");
            return status.GetProperty("webhook").GetProperty("state").GetString() == state;
        }, $"the webhook of {id} is {state}");
        return status.GetProperty("webhook");
    }

    [Fact]
    public async Task The_final_status_is_posted_to_the_callback_url_with_a_valid_signature()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var job = await Client.SubmitAsync(new { kind = "noop", input = new { }, shards = 2, callbackUrl = receiver.Url });
        Assert.Equal("pending", job.GetProperty("webhook").GetProperty("state").GetString());

        var webhook = await WaitForWebhookAsync(job.Id(), "delivered");
        Assert.Equal(1, webhook.GetProperty("attempts").GetInt32());
        Assert.Equal(200, webhook.GetProperty("lastStatus").GetInt32());
        webhook.GetProperty("deliveredAt").AssertUtc("deliveredAt");
        Assert.Single(receiver.Received);
        var (body, signature, contentType) = receiver.Received.Single();
        Assert.Equal(Expected(body), signature);
        Assert.StartsWith("application/json", contentType);
        var posted = JsonDocument.Parse(body).RootElement;
        Assert.Equal(job.Id(), posted.Id());
        Assert.Equal("succeeded", posted.State());
        Assert.Equal(2, posted.GetProperty("shards").GetProperty("succeeded").GetInt32());
    }

    [Fact]
    public async Task A_failing_receiver_gets_retries_until_it_answers_and_each_attempt_shows_in_the_status()
    {
        await using var receiver = await WebhookReceiver.StartAsync(500, 503);
        var job = await Client.SubmitAsync(new { kind = "noop", input = new { }, callbackUrl = receiver.Url });
        var webhook = await WaitForWebhookAsync(job.Id(), "delivered");
        Assert.Equal(3, webhook.GetProperty("attempts").GetInt32());
        Assert.Equal(200, webhook.GetProperty("lastStatus").GetInt32());
        Assert.Equal(3, receiver.Received.Count);
        Assert.All(receiver.Received, r => Assert.Equal(Expected(r.Body), r.Signature));
    }

    [Fact]
    public async Task A_receiver_that_never_answers_well_is_given_up_after_maxAttempts()
    {
        await using var receiver = await WebhookReceiver.StartAsync(500, 500, 500, 500);
        var job = await Client.SubmitAsync(new { kind = "noop", input = new { }, callbackUrl = receiver.Url });
        var webhook = await WaitForWebhookAsync(job.Id(), "failed");
        Assert.Equal(3, webhook.GetProperty("attempts").GetInt32());
        Assert.Equal(500, webhook.GetProperty("lastStatus").GetInt32());
        Assert.Equal(3, receiver.Received.Count);
        // The outcome is recorded in the job's slot first, then the delivery queue (the partition's slot) lets go of
        // the job in a call of its own: the queue entry goes right after the status shows "failed".
        var queue = Keys.Webhooks(Keys.PartitionOf(job.Id()));
        await TestWait.UntilAsync(async () => await Redis.Redis.GetDatabase().SortedSetScoreAsync(queue, job.Id()) is null,
            TimeSpan.FromSeconds(10), $"the webhook queue still holds job {job.Id()}");
        Assert.Null(await Redis.Redis.GetDatabase().SortedSetScoreAsync(queue, job.Id()));
        await Task.Delay(500); // and it stays gone: no further attempt is planned
        Assert.Null(await Redis.Redis.GetDatabase().SortedSetScoreAsync(queue, job.Id()));
        Assert.Equal(3, receiver.Received.Count);
    }

    [Fact]
    public async Task A_canceled_job_is_reported_too()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var job = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 5000 }, callbackUrl = receiver.Url });
        (await Client.PostAsync($"/v1/jobs/{job.Id()}/cancel", null)).Dispose();
        await WaitForWebhookAsync(job.Id(), "delivered");
        Assert.Equal("canceled", JsonDocument.Parse(receiver.Received.Single().Body).RootElement.State());
    }
}

/// <summary>The SSRF guard, on by default: callbacks to loopback and private addresses are refused at submit.</summary>
[Collection(RedisCollection.Name)]
public sealed class WebhookGuardTests(RedisServerFixture redis, ServiceFixture service) : ApiTest(redis, service)
{
    [Theory]
    [InlineData("http://127.0.0.1:9/hook")]
    [InlineData("http://localhost:9/hook")]
    [InlineData("http://10.1.2.3/hook")]
    [InlineData("http://192.168.0.10/hook")]
    [InlineData("http://169.254.169.254/latest/meta-data")]
    [InlineData("http://[::1]/hook")]
    [InlineData("ftp://example.com/hook")]
    [InlineData("not a url")]
    public async Task A_callback_to_an_internal_or_invalid_address_is_a_400_naming_callbackUrl(string url)
    {
        var before = await SnapshotAsync();
        using var response = await PostJobJsonAsync(JsonSerializer.Serialize(new { kind = "noop", input = new { }, callbackUrl = url }));
        (await response.AssertProblemAsync(400)).AssertNamesField("callbackUrl");
        await AssertNothingCreatedSinceAsync(before);
    }
}
