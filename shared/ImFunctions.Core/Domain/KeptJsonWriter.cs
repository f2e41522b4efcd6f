using System.Buffers;
using System.Text.Json;

namespace ImFunctions.Core.Domain;

/// <summary>
/// A JSON writer and its buffer kept per thread, for the small JSON objects written on every request or push call
/// (a log line, a Web PubSub token's claims). A fresh Utf8JsonWriter reserves room for the worst-case escaping of each
/// string it writes, which grew a fresh buffer to ~5 KB per object (docs/benchmarks.md, <i>Request path</i>). A buffer
/// that a rare large object grew past <see cref="KeptCapacity"/> is not kept.
/// </summary>
public sealed class KeptJsonWriter(JsonWriterOptions options)
{
    const int KeptCapacity = 64 * 1024;

    readonly ThreadLocal<(ArrayBufferWriter<byte> Buffer, Utf8JsonWriter Writer)> kept = new(() =>
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        return (buffer, new Utf8JsonWriter(buffer, options));
    });

    /// <summary>
    /// Writes one JSON object, its properties by <paramref name="writeProperties"/>. The bytes stay valid until this
    /// thread's next call: a caller that keeps them copies them.
    /// </summary>
    public ReadOnlySpan<byte> WriteObject<TState>(TState state, Action<Utf8JsonWriter, TState> writeProperties)
    {
        var (buffer, writer) = kept.Value;
        if (buffer.Capacity > KeptCapacity)
        {
            buffer = new ArrayBufferWriter<byte>(4096);
            kept.Value = (buffer, writer);
        }
        buffer.ResetWrittenCount();
        writer.Reset(buffer);
        writer.WriteStartObject();
        writeProperties(writer, state);
        writer.WriteEndObject();
        writer.Flush();
        return buffer.WrittenSpan;
    }
}
