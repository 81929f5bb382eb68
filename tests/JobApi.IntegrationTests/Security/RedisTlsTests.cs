using System.Diagnostics;

namespace JobApi.IntegrationTests.Security;

/// <summary>The service talks to Redis over TLS: a real redis-server that listens on TLS only, with a certificate
/// signed by a private CA made for the test with openssl; the service trusts that CA through
/// <c>JobApi:Redis:TlsCaFile</c> and runs a job end to end. Trusting another CA stops start-up with a message that
/// names the TLS handshake and the setting.</summary>
public sealed class RedisTlsTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("jobapi-tls-").FullName;
    private Process? _redis;
    private int _port;

    public async Task InitializeAsync()
    {
        // A CA, a server certificate it signs (for localhost and 127.0.0.1), and an unrelated second CA.
        await RunAsync("openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj '/CN=JobApi test CA'");
        await RunAsync("openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj '/CN=localhost'");
        await System.IO.File.WriteAllTextAsync(Path.Combine(_dir, "san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
        await RunAsync("openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile san.ext");
        await RunAsync("openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other-ca.crt -days 2 -subj '/CN=Another CA'");
        // Debian's redis-server is built with TLS; one built without it refuses --tls-port and exits.
        var port = LoopbackPorts.Next();
        (_redis, _port) = RedisServerFixture.StartLocal(false, _dir, port: port, extraArgs:
        [
            "--port", "0", "--tls-port", port.ToString(), "--tls-cert-file", File("server.crt"), "--tls-key-file", File("server.key"),
            "--tls-ca-cert-file", File("ca.crt"), "--tls-auth-clients", "no",
        ]);
        Assert.False(_redis.HasExited, "redis-server exited: it needs TLS support (Debian's redis-server has it)");
    }

    private string File(string name) => Path.Combine(_dir, name);

    private async Task RunAsync(string command)
    {
        var info = new ProcessStartInfo("bash", ["-c", command]) { WorkingDirectory = _dir, RedirectStandardError = true, RedirectStandardOutput = true };
        using var process = Process.Start(info) ?? throw new InvalidOperationException("bash did not start");
        var errors = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"{command}: {await errors} (openssl is installed by scripts/ensure-redis.sh)");
    }

    private JobApiFactory Service(string caFile) =>
        new($"127.0.0.1:{_port},ssl=true,sslHost=localhost", new Dictionary<string, string?> { ["JobApi:Redis:TlsCaFile"] = caFile });

    [Fact]
    public async Task The_service_runs_a_job_end_to_end_over_tls_trusting_the_configured_ca()
    {
        await using var service = Service(File("ca.crt"));
        var client = service.CreateClient();
        var job = await client.SubmitAsync(new { kind = "primes", input = new { from = 0, to = 100_000 }, shards = 4 });
        var result = await client.ResultAsync(job.Id());
        Assert.Equal(9592, result.GetProperty("count").GetInt64()); // pi(10^5)
        Assert.Equal(454396537, result.GetProperty("sum").GetInt64());
        Assert.Equal(200, (int)(await client.GetAsync("/health/ready")).StatusCode);
    }

    [Fact]
    public async Task A_server_certificate_from_another_ca_stops_startup_with_one_clear_tls_message()
    {
        // The real binary, as an operator runs it: the message is what it prints.
        using var node = new Faults.ServiceProcess("node", "Api,Worker", new Dictionary<string, string>
        {
            ["ConnectionStrings__Redis"] = $"127.0.0.1:{_port},ssl=true,sslHost=localhost",
            ["JobApi__Redis__TlsCaFile"] = File("other-ca.crt"),
            ["JobApi__KeyPrefix"] = "tls-" + Guid.NewGuid().ToString("N")[..8],
        }, _dir);
        await Assert.ThrowsAsync<InvalidOperationException>(() => node.StartAsync());
        Assert.Equal(2, node.ExitCode);
        Assert.Contains("failed the TLS handshake", node.Log);
        Assert.Contains("JobApi:Redis:TlsCaFile", node.Log);
        Assert.DoesNotContain("credentials", node.Log);
        Assert.DoesNotContain("   at ", node.Log); // no stack trace
    }

    public async Task DisposeAsync()
    {
        if (_redis is { HasExited: false })
        {
            _redis.Kill();
            await _redis.WaitForExitAsync();
        }
        Directory.Delete(_dir, recursive: true);
    }
}
