using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using ImFunctions.Core.Domain;

namespace ImFunctions.Core.Push.WebPubSub;

/// <summary>
/// The HS256 tokens Web PubSub accepts when signed with an access key (the UTF-8 bytes of the key string):
/// REST tokens (aud = the exact request URL) and client access tokens (aud = the hub's client URL).
/// Roles and groups are always JSON arrays, as both SDKs write them.
/// </summary>
public static class WebPubSubTokens
{
    /// <summary>The .NET SDK signs each REST attempt for 5 minutes.</summary>
    public static readonly TimeSpan RestTokenLifetime = TimeSpan.FromMinutes(5);

    static readonly JsonWriterOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string ForRestRequest(Uri requestUri, string accessKey, DateTimeOffset now) =>
        Sign(accessKey, claims =>
        {
            claims.WriteString("aud", requestUri.AbsoluteUri);
            WriteTimes(claims, now, now + RestTokenLifetime);
        });

    public static string ForClient(string audience, string? userId, IReadOnlyCollection<string>? roles,
        IReadOnlyCollection<string>? groups, string accessKey, DateTimeOffset now, DateTimeOffset expiresAt) =>
        Sign(accessKey, claims =>
        {
            claims.WriteString("aud", audience);
            if (userId is not null) claims.WriteString("sub", userId);
            WriteArray(claims, "role", roles);
            WriteArray(claims, "webpubsub.group", groups);
            WriteTimes(claims, now, expiresAt);
        });

    static void WriteTimes(Utf8JsonWriter claims, DateTimeOffset now, DateTimeOffset expiresAt)
    {
        claims.WriteNumber("iat", now.ToUnixTimeSeconds());
        claims.WriteNumber("nbf", now.ToUnixTimeSeconds());
        claims.WriteNumber("exp", expiresAt.ToUnixTimeSeconds());
    }

    static void WriteArray(Utf8JsonWriter claims, string name, IReadOnlyCollection<string>? values)
    {
        if (values is not { Count: > 0 }) return;
        claims.WriteStartArray(name);
        foreach (var value in values) claims.WriteStringValue(value);
        claims.WriteEndArray();
    }

    /// <summary>The token's first segment and its dot: the same header on every token.</summary>
    static readonly byte[] HeaderSegment = Encoding.ASCII.GetBytes(Base64Url.EncodeToString("""{"alg":"HS256","typ":"JWT"}"""u8) + ".");

    static readonly KeptJsonWriter Claims = new(Compact);

    /// <summary>
    /// Signs with a per-thread claims buffer, the stack and one pooled buffer: on Azure every push call signs a token,
    /// so this runs twice per 1:1 message (the bench's micro scenario measures it).
    /// </summary>
    static string Sign(string accessKey, Action<Utf8JsonWriter> writeClaims)
    {
        var claims = Claims.WriteObject(writeClaims, static (writer, write) => write(writer));
        var length = HeaderSegment.Length + Base64Url.GetEncodedLength(claims.Length) + 1 + Base64Url.GetEncodedLength(HMACSHA256.HashSizeInBytes);
        var rented = ArrayPool<byte>.Shared.Rent(length + Encoding.UTF8.GetMaxByteCount(accessKey.Length));
        try
        {
            var token = rented.AsSpan(0, length);
            var key = rented.AsSpan(length, Encoding.UTF8.GetBytes(accessKey, rented.AsSpan(length)));
            HeaderSegment.CopyTo(token);
            var signed = HeaderSegment.Length + Base64Url.EncodeToUtf8(claims, token[HeaderSegment.Length..]);
            Span<byte> signature = stackalloc byte[HMACSHA256.HashSizeInBytes];
            HMACSHA256.HashData(key, token[..signed], signature);
            token[signed] = (byte)'.';
            Base64Url.EncodeToUtf8(signature, token[(signed + 1)..]);
            return Encoding.ASCII.GetString(token);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented, clearArray: true);   // it held the key
        }
    }
}
