using JobApi.Inputs;

namespace JobApi.JobKinds;

/// <summary>Looks up the upload an input names with <c>inputRef</c> at plan time (which also restarts its retention).</summary>
internal static class InputRefs
{
    public const string Field = "input.inputRef";

    /// <summary>Another tenant's input is refused exactly as an unknown one.</summary>
    public static async Task<(InputInfo? Input, JobPlan? Error)> FindAsync(IInputStore store, string id, string tenant, CancellationToken cancellationToken)
    {
        var input = await store.FindAsync(id, tenant, cancellationToken);
        return input is null
            ? (null, JobPlan.Invalid(Field, $"'inputRef' names no input '{id}': upload one with POST /v1/inputs (inputs expire after the retention)."))
            : (input, null);
    }

    /// <summary>Shards for an upload: one per <paramref name="bytesPerShard"/> unless the client asked for a count.</summary>
    public static long DefaultShards(InputInfo input, long bytesPerShard, int cap) =>
        Math.Clamp((input.Bytes + bytesPerShard - 1) / bytesPerShard, 1, cap);
}
