using System.Buffers;
using System.Runtime.CompilerServices;

namespace JobApi.Inputs;

/// <summary>Reads byte ranges of an uploaded input. A shard that owns the nominal range [start, end) of a
/// record-oriented input (lines, words) owns the records that <em>begin</em> in it: it skips a record cut by
/// its start and reads on past its end to finish its last record. A record may begin at 0 and after each
/// separator byte, so every record belongs to exactly one shard whatever the shard count.</summary>
public static class InputRange
{
    /// <summary>Lines end at '\n'.</summary>
    public static bool IsNewline(byte b) => b == (byte)'\n';

    /// <summary>Any ASCII byte that is not a letter or digit; never part of a word nor of a multi-byte UTF-8 sequence.</summary>
    public static bool IsAsciiNonAlphanumeric(byte b) => b < 0x80 && !char.IsAsciiLetterOrDigit((char)b);

    /// <summary>Splits [0, bytes) into <paramref name="shards"/> nominal ranges of about equal size.</summary>
    public static (long Start, long End) Nominal(long bytes, int shards, int index) =>
        ((long)((Int128)bytes * index / shards), (long)((Int128)bytes * (index + 1) / shards));

    /// <summary>The records that begin in [start, end), cut after separators as described on the class.</summary>
    public static async Task<byte[]> ReadRecordsAsync(IInputStore store, InputInfo input, long start, long end,
        Func<byte, bool> isSeparator, CancellationToken cancellationToken)
    {
        if (start >= end) return [];
        var from = Math.Max(0, start - 1); // the byte before start tells whether a record begins at start
        var buffer = new ArrayBufferWriter<byte>((int)Math.Min(int.MaxValue / 2, end - from + 1024));
        long? first = start == 0 ? 0 : null, stop = null;
        long pieceStart = from;
        await foreach (var piece in ReadAsync(store, input, from, input.Bytes, cancellationToken))
        {
            var span = piece.Span;
            for (var i = 0; i < span.Length; i++)
            {
                if (!isSeparator(span[i])) continue;
                var cut = pieceStart + i + 1; // a record may begin right after a separator
                if (first is null && cut >= start) first = cut;
                if (cut >= end) { stop = cut; break; }
            }
            buffer.Write(stop is null ? span : span[..(int)(stop.Value - pieceStart)]);
            if (stop is not null) break;
            pieceStart += span.Length;
        }
        stop ??= input.Bytes;
        first ??= input.Bytes;
        if (first >= end) return [];
        var written = buffer.WrittenSpan;
        return written.Slice((int)(first.Value - from), (int)(stop.Value - first.Value)).ToArray();
    }

    /// <summary>The raw bytes of [start, end), chunk by chunk.</summary>
    public static async IAsyncEnumerable<ReadOnlyMemory<byte>> ReadAsync(IInputStore store, InputInfo input, long start, long end,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        end = Math.Min(end, input.Bytes);
        for (var chunk = start / input.ChunkBytes; start < end; chunk++)
        {
            var bytes = await store.ReadChunkAsync(input, chunk, cancellationToken);
            var offset = (int)(start - chunk * input.ChunkBytes);
            var length = (int)Math.Min(bytes.Length - offset, end - start);
            yield return bytes.AsMemory(offset, length);
            start += length;
        }
    }
}
