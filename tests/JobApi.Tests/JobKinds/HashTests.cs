using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using JobApi.JobKinds;

namespace JobApi.Tests.JobKinds;

public class HashTests
{
    private static readonly MemoryInputStore Inputs = new(chunkBytes: 1000);
    private static readonly Hash Kind = new(Inputs);

    [Theory]
    [InlineData("sha256")]
    [InlineData("sha1")]
    [InlineData("md5")]
    public async Task Document_digests_match_System_Security_Cryptography_in_input_order(string algorithm)
    {
        var random = new Random(1);
        var documents = Enumerable.Range(0, 37).Select(i => new string((char)('a' + i % 26), random.Next(0, 300)) + "é😀").ToArray();
        var name = Hash.AlgorithmName(algorithm);
        var expected = documents.Select(d => Convert.ToHexStringLower(CryptographicOperations.HashData(name, Encoding.UTF8.GetBytes(d))));
        foreach (var shards in new[] { 1, 5, 37 })
        {
            var result = await KindRunner.RunAsync(Kind, JsonSerializer.Serialize(new { documents, algorithm }), shards);
            Assert.Equal(expected, result.GetProperty("digests").EnumerateArray().Select(e => e.GetString()!));
        }
    }

    /// <summary>RFC 6962, section 2.1, written as the recursion it states.</summary>
    private static byte[] MerkleTreeHash(HashAlgorithmName name, byte[][] chunks)
    {
        if (chunks.Length == 0) return CryptographicOperations.HashData(name, ReadOnlySpan<byte>.Empty);
        if (chunks.Length == 1) return CryptographicOperations.HashData(name, [0x00, .. chunks[0]]);
        var k = 1;
        while (k * 2 < chunks.Length) k *= 2;
        return CryptographicOperations.HashData(name, [0x01, .. MerkleTreeHash(name, chunks[..k]), .. MerkleTreeHash(name, chunks[k..])]);
    }

    private static string Tool(string tool, byte[] data)
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(file, data);
            using var process = Process.Start(new ProcessStartInfo(tool, file) { RedirectStandardOutput = true })!;
            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return output.Split(' ')[0];
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData(0, 1024, 3)]
    [InlineData(1, 1024, 1)]
    [InlineData(1024, 1024, 2)]
    [InlineData(70_001, 1024, 1)]
    [InlineData(70_001, 1024, 9)]
    [InlineData(70_001, 4096, 100)]
    public async Task Upload_digest_matches_sha256sum_and_the_merkle_root_the_rfc_6962_recursion(int bytes, int chunkBytes, int shards)
    {
        var data = new byte[bytes];
        new Random(bytes).NextBytes(data);
        var id = Inputs.Add(data);
        var result = await KindRunner.RunAsync(Kind, JsonSerializer.Serialize(new { inputRef = id, algorithm = "sha256", chunkBytes }), shards);
        Assert.Equal(Tool("sha256sum", data), result.GetProperty("digest").GetString());
        var chunks = data.Chunk(chunkBytes).ToArray();
        Assert.Equal(chunks.Length, result.GetProperty("chunks").GetInt32());
        Assert.Equal(Convert.ToHexStringLower(MerkleTreeHash(HashAlgorithmName.SHA256, chunks)), result.GetProperty("merkleRoot").GetString());
    }

    [Fact]
    public async Task Upload_md5_matches_md5sum()
    {
        var data = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("the quick brown fox\n", 500)));
        var id = Inputs.Add(data);
        var result = await KindRunner.RunAsync(Kind, JsonSerializer.Serialize(new { inputRef = id, algorithm = "md5", chunkBytes = 2048 }), 4);
        Assert.Equal(Tool("md5sum", data), result.GetProperty("digest").GetString());
        Assert.Equal(Convert.ToHexStringLower(MerkleTreeHash(HashAlgorithmName.MD5, data.Chunk(2048).ToArray())), result.GetProperty("merkleRoot").GetString());
    }
}
