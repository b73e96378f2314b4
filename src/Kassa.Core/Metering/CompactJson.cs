using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Kassa.Core.Metering;

/// <summary>
/// Compact JSON text written by one writer per thread, reused: an event's properties and a meter's group key
/// are written once per event (and per meter) at ingest and in every roll, and a buffer and a writer each time
/// were a third of an ingest batch's garbage. Non-ASCII text is written as it is, as the API's JSON
/// (KassaJson) writes it, so the properties' 64 KiB limit measures what the client sent rather than \u escapes.
/// </summary>
internal static class CompactJson
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    // A buffer grown past this by a large value is dropped after use rather than kept by the thread.
    private const int BufferKept = 4096;

    [ThreadStatic] private static (ArrayBufferWriter<byte> Buffer, Utf8JsonWriter Writer)? Cached;

    /// <summary>
    /// The text <paramref name="write"/> writes for <paramref name="state"/> (passed, not captured, so the call
    /// allocates no closure), or null when it is longer than <paramref name="bytesMax"/> UTF-8 bytes.
    /// </summary>
    public static string? Write<TState>(TState state, Action<Utf8JsonWriter, TState> write, int bytesMax = int.MaxValue)
    {
        var (buffer, writer) = Cached ??= New();
        buffer.ResetWrittenCount();
        writer.Reset(buffer);
        write(writer, state);
        writer.Flush();
        var text = buffer.WrittenCount > bytesMax ? null : Encoding.UTF8.GetString(buffer.WrittenSpan);
        if (buffer.Capacity > BufferKept) Cached = null;
        return text;
    }

    private static (ArrayBufferWriter<byte>, Utf8JsonWriter) New()
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        return (buffer, new Utf8JsonWriter(buffer, Options));
    }
}
