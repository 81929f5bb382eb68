namespace JobApi.JobKinds;

/// <summary>
/// Optional for a kind whose merge is too big for <see cref="IJobKind.Merge"/>: it reads shard results one at a
/// time (so it need not hold them all), may read an uploaded input, and may write an <c>items</c> array of any
/// length item by item. The engine stores those items as a Redis list that <c>GET /v1/jobs/{id}/result</c>
/// pages through; the returned JSON holds the result's other fields.
/// </summary>
public interface IStreamingMerge
{
    /// <summary>Whether the result has an <c>items</c> array (written to the sink, possibly empty).</summary>
    bool ResultHasItems { get; }

    ValueTask<string> MergeAsync(string mergeContext, IShardResults shardResults, IResultItems items, CancellationToken cancellationToken);
}

/// <summary>The committed shard results of a job, fetched on demand.</summary>
public interface IShardResults
{
    int Count { get; }
    ValueTask<string> GetAsync(int index, CancellationToken cancellationToken);
}

/// <summary>Where a streaming merge writes the result's items, in order; each is one JSON value.</summary>
public interface IResultItems
{
    long Count { get; }
    ValueTask AddAsync(string itemJson, CancellationToken cancellationToken);
}

/// <summary>Base for kinds merged through <see cref="IStreamingMerge"/>.</summary>
public abstract class StreamingJobKind<TInput> : JobKind<TInput>, IStreamingMerge where TInput : class
{
    public abstract bool ResultHasItems { get; }
    public abstract ValueTask<string> MergeAsync(string mergeContext, IShardResults shardResults, IResultItems items, CancellationToken cancellationToken);

    public sealed override string Merge(string mergeContext, IReadOnlyList<string> shardResults) =>
        throw new NotSupportedException($"{Name} is merged with {nameof(MergeAsync)}.");
}
