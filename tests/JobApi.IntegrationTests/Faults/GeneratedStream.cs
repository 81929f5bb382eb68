using System.Buffers.Binary;
using System.Security.Cryptography;
using JobApi.JobKinds;

namespace JobApi.IntegrationTests.Faults;

/// <summary>A request body of any length made up on the fly, never held in memory: byte p is byte p % 8 (little
/// endian) of <see cref="CounterRng.At"/>(seed, p / 8). It hashes what it hands out, and after <see cref="PauseAfter"/>
/// bytes it waits until its reader gives up (a client stalled mid-upload).</summary>
public sealed class GeneratedStream(long length, long seed = 7) : Stream
{
    private readonly ulong _seedBase = CounterRng.Base(seed);
    private readonly IncrementalHash _sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private long _position;
    private string? _digest;

    /// <summary>Hand out this many bytes, then block until the read is canceled.</summary>
    public long? PauseAfter { get; init; }

    public long Produced => _position;

    /// <summary>The lowercase hex SHA-256 of the whole body, once it has all been read.</summary>
    public string Sha256 => _digest ?? throw new InvalidOperationException($"Only {_position} of {length} bytes were read.");

    /// <summary>The generator's bytes at <paramref name="offset"/>, to compare with what the service stored.</summary>
    public static byte[] Expected(long offset, int count, long seed = 7)
    {
        var bytes = new byte[count];
        Fill(CounterRng.Base(seed), offset, bytes);
        return bytes;
    }

    private static void Fill(ulong seedBase, long offset, Span<byte> destination)
    {
        Span<byte> word = stackalloc byte[8];
        var i = 0;
        while (i < destination.Length)
        {
            var p = offset + i;
            BinaryPrimitives.WriteUInt64LittleEndian(word, CounterRng.At(seedBase, p / 8));
            var from = (int)(p % 8);
            var n = Math.Min(8 - from, destination.Length - i);
            word.Slice(from, n).CopyTo(destination[i..]);
            i += n;
        }
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (PauseAfter is { } pause && _position >= pause) await Task.Delay(Timeout.Infinite, cancellationToken);
        var limit = Math.Min(length, PauseAfter ?? length);
        var n = (int)Math.Min(buffer.Length, limit - _position);
        if (n <= 0) return 0;
        Fill(_seedBase, _position, buffer.Span[..n]);
        _sha256.AppendData(buffer.Span[..n]);
        _position += n;
        if (_position == length) _digest = Convert.ToHexStringLower(_sha256.GetHashAndReset());
        return n;
    }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => length;
    public override long Position { get => _position; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) _sha256.Dispose();
        base.Dispose(disposing);
    }
}
