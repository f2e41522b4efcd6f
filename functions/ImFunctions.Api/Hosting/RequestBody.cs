using System.Buffers;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Unicode;
using ImFunctions.Core.Domain;

namespace ImFunctions.Api.Hosting;

/// <summary>
/// Reads a method's body the same way in both hosts: at most 64 KB (413 before parsing), JSON only (415),
/// valid UTF-8 with no lone surrogates (400 naming the field), and no body at all read as <c>{}</c> the way
/// uniCloud clients send methods without params.
/// </summary>
public static class RequestBody
{
    /// <summary>A whole request over this is refused before it is parsed (SPEC §4).</summary>
    public const int MaxBytes = 64 * 1024;

    public static readonly ImError TooLarge = new(413, ErrorCodes.TooLarge, $"The request body is larger than {MaxBytes / 1024} KB.");
    static readonly ImError NotJson = new(415, ErrorCodes.InvalidParam, "Content-Type must be application/json.");
    static readonly JsonElement EmptyObject = JsonDocument.Parse("{}").RootElement;

    public static async Task<Result<JsonElement>> ReadAsync(HttpRequest request, CancellationToken ct)
    {
        var raw = await ReadRawAsync(request, ct);
        if (raw.Error is { } tooLarge) return tooLarge;
        using var body = raw.Match(b => b, _ => null!);
        return Parse(request, body);
    }

    /// <summary>
    /// The body's bytes, read once, at most <see cref="MaxBytes"/> (413 otherwise): signed server-to-server calls hash
    /// exactly these bytes before <see cref="Parse"/> reads them. Dispose returns the buffer to the pool.
    /// </summary>
    public static async Task<Result<Raw>> ReadRawAsync(HttpRequest request, CancellationToken ct)
    {
        if (request.ContentLength > MaxBytes) return TooLarge;
        var buffer = ArrayPool<byte>.Shared.Rent(MaxBytes + 1);
        var length = 0;
        int read;
        try
        {
            while (length <= MaxBytes && (read = await request.Body.ReadAsync(buffer.AsMemory(length, MaxBytes + 1 - length), ct)) > 0)
                length += read;
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
        if (length <= MaxBytes) return new Raw(buffer, length);
        ArrayPool<byte>.Shared.Return(buffer);
        return TooLarge;
    }

    /// <summary>The checks after the size: JSON content type, UTF-8, well-formed, no lone surrogates; no body at all is <c>{}</c>.</summary>
    public static Result<JsonElement> Parse(HttpRequest request, Raw raw)
    {
        var length = raw.Length;
        if (length == 0) return EmptyObject;
        if (!IsJson(request.ContentType)) return NotJson;

        var bytes = raw.Bytes;
        var validUtf8 = Utf8.IsValid(bytes);
        JsonDocument document;
        try { document = JsonDocument.Parse(raw.Memory); }
        catch (JsonException) { return ImError.InvalidParam("body", validUtf8 ? "is malformed JSON" : "is not valid UTF-8"); }
        using (document)
        {
            // The parser leaves string contents undecoded: invalid bytes, and lone surrogates (which only \u
            // escapes can spell in valid UTF-8), show when a string is read. Name the field they sit in.
            if ((!validUtf8 || bytes.IndexOf("\\u"u8) >= 0) && FirstBadString(document.RootElement, "") is { } field)
                return ImError.InvalidParam(field, "is not valid Unicode");
            if (!validUtf8) return ImError.InvalidParam("body", "is not valid UTF-8");
            return document.RootElement.Clone();
        }
    }

    /// <summary>A body's bytes in a pooled buffer.</summary>
    public sealed class Raw(byte[] pooled, int length) : IDisposable
    {
        bool returned;
        public int Length => length;
        public ReadOnlySpan<byte> Bytes => pooled.AsSpan(0, length);
        public ReadOnlyMemory<byte> Memory => pooled.AsMemory(0, length);

        public void Dispose()
        {
            if (returned) return;
            returned = true;
            ArrayPool<byte>.Shared.Return(pooled);
        }
    }

    static bool IsJson(string? contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var media) && media.MediaType is { } type &&
        (type.Equals("application/json", StringComparison.OrdinalIgnoreCase) || type.EndsWith("+json", StringComparison.OrdinalIgnoreCase));

    /// <summary>The path of the first string or property name that does not decode to valid UTF-16.</summary>
    static string? FirstBadString(JsonElement element, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                return Decodes(() => element.GetString()) ? null : Name(path);
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in element.EnumerateArray())
                    if (FirstBadString(item, $"{path}[{i++}]") is { } bad) return bad;
                return null;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    string name = "";
                    if (!Decodes(() => name = property.Name)) return Name(path);
                    if (FirstBadString(property.Value, path.Length == 0 ? name : $"{path}.{name}") is { } bad) return bad;
                }
                return null;
            default:
                return null;
        }

        static string Name(string path) => path.Length == 0 ? "body" : path;
    }

    static bool Decodes(Func<string?> read)
    {
        try { read(); return true; }
        catch (InvalidOperationException) { return false; }
    }
}
