using System.Security.Cryptography;

namespace JobApi.Workers;

/// <summary>This process's worker id (host:pid) and the random token its leases carry.</summary>
public sealed class WorkerIdentity
{
    public string Id { get; } = $"{Environment.MachineName}:{Environment.ProcessId}";
    public string Token { get; } = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
    public DateTimeOffset StartedAt { get; } = DateTimeOffset.UtcNow;
}
