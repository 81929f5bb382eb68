using System.Net.Sockets;
using System.Text;

namespace JobApi.IntegrationTests.Security;

/// <summary>A 100 MB body, declared or chunked, sent over a raw socket to the real Kestrel server: the 413
/// problem comes back before the client has sent even a third of it (a declared length is refused before
/// any of the body is read; a chunked one once it passes 16 MiB), and nothing is created.</summary>
[Collection(RedisCollection.Name)]
public sealed class BigBodyTests(RedisServerFixture redis) : IAsyncLifetime
{
    private const long HundredMegabytes = 100L << 20;
    private readonly JobApiFactory _factory = new(redis);

    public Task InitializeAsync()
    {
        _factory.UseKestrel(0);
        _factory.StartServer();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _factory.DisposeAsync();

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_100_MB_body_is_answered_413_long_before_it_is_sent_whole(bool declareLength)
    {
        using var http = _factory.CreateClient();
        var before = await redis.KeysUnderAsync(_factory.KeyPrefix);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(http.BaseAddress!.Host, http.BaseAddress.Port);
        var stream = tcp.GetStream();
        var framing = declareLength ? $"Content-Length: {HundredMegabytes}" : "Transfer-Encoding: chunked";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            $"POST /v1/jobs HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n{framing}\r\n\r\n"));

        var response = new StringBuilder();
        var reader = Task.Run(async () =>
        {
            var buffer = new byte[8192];
            int n;
            while ((n = await stream.ReadAsync(buffer)) > 0)
            {
                lock (response) response.Append(Encoding.UTF8.GetString(buffer, 0, n));
            }
        });
        long sent = 0;
        var chunk = Encoding.ASCII.GetBytes(new string(' ', 64 * 1024));
        var chunkHeader = Encoding.ASCII.GetBytes($"{chunk.Length:X}\r\n");
        try
        {
            while (sent < HundredMegabytes && !HasAnswer(response))
            {
                if (!declareLength) await stream.WriteAsync(chunkHeader);
                await stream.WriteAsync(chunk);
                if (!declareLength) await stream.WriteAsync("\r\n"u8.ToArray());
                sent += chunk.Length;
            }
        }
        catch (IOException)
        {
            // the server closed the connection after answering
        }
        await Task.WhenAny(reader, Task.Delay(TimeSpan.FromSeconds(10)));
        var text = Text(response);
        Assert.StartsWith("HTTP/1.1 413", text);
        Assert.Contains("application/problem+json", text);
        Assert.Contains("JobApi:Limits:MaxBodyBytes", text);
        Assert.True(sent <= 32L << 20, $"the client had sent {sent} bytes before the 413 came");
        Assert.Equal(before.Count, (await redis.KeysUnderAsync(_factory.KeyPrefix)).Count);
    }

    private static string Text(StringBuilder response)
    {
        lock (response) return response.ToString();
    }

    private static bool HasAnswer(StringBuilder response) => Text(response).Contains("\r\n\r\n", StringComparison.Ordinal);
}
