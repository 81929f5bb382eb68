using System.Collections.Concurrent;
using System.Diagnostics;

namespace JobApi.IntegrationTests.Watching;

/// <summary>Traces: the submit span's context travels with the job to the shard and merge spans.</summary>
[Collection(RedisCollection.Name)]
public sealed class TracingTests(RedisServerFixture redis, ServiceFixture service) : ApiTest(redis, service)
{
    [Fact]
    public async Task Shard_and_merge_spans_join_the_submit_trace_with_job_id_and_shard_index()
    {
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == "JobApi",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);

        var job = await Client.SubmitAsync(new { kind = "noop", input = new { sleepMs = 0 }, shards = 6 });
        await Client.WaitForFinalAsync(job.Id());
        List<Activity> Of(string name) => spans.Where(a => a.OperationName == name && (string?)a.GetTagItem("jobapi.job_id") == job.Id()).ToList();
        await TestSupport.WaitUntilAsync(() => Task.FromResult(Of("shard.execute").Count == 6 && Of("job.merge").Count == 1), "six shard spans and one merge span");

        var submit = Assert.Single(Of("job.submit"));
        foreach (var span in Of("shard.execute").Concat(Of("job.merge")))
            Assert.Equal(submit.TraceId, span.TraceId);
        Assert.Equal(Enumerable.Range(0, 6), Of("shard.execute").Select(s => (int)s.GetTagItem("jobapi.shard_index")!).Order());
    }
}
