using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

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

    static string Sign(string accessKey, Action<Utf8JsonWriter> writeClaims)
    {
        var payload = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(payload, Compact))
        {
            writer.WriteStartObject();
            writeClaims(writer);
            writer.WriteEndObject();
        }
        var signingInput = Base64Url.EncodeToString("""{"alg":"HS256","typ":"JWT"}"""u8) + "." + Base64Url.EncodeToString(payload.WrittenSpan);
        var signature = HMACSHA256.HashData(Encoding.UTF8.GetBytes(accessKey), Encoding.ASCII.GetBytes(signingInput));
        return signingInput + "." + Base64Url.EncodeToString(signature);
    }
}
