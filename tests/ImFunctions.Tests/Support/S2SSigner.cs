using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace ImFunctions.Tests.Support;

/// <summary>
/// Signs server-to-server calls as docs/legacy-backends.md tells a backend to, with every part overridable so a test
/// can sign one thing and send another.
/// </summary>
public sealed record S2SCall(string Method, string ApiMethod, string Body, string ActAs = "")
{
    public string KeyId { get; init; } = S2SSigner.KeyId;
    public string Key { get; init; } = S2SSigner.Key;
    public long Timestamp { get; init; } = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
    public string Nonce { get; init; } = Guid.NewGuid().ToString("N");
    public string? Signature { get; init; }

    /// <summary>The lowercase hex HMAC-SHA256 of the canonical string over these parts.</summary>
    public string Sign() => S2SSigner.Sign(Key, Method, "/api/" + ApiMethod, Timestamp.ToString(), Nonce, ActAs, Body);
}

public static class S2SSigner
{
    public const string KeyId = "backend-1";
    public const string Key = "test-s2s-key-backend-1-0123456789abcdef";
    public const string SecondKeyId = "backend-2";
    public const string SecondKey = "test-s2s-key-backend-2-0123456789abcdef";

    public static IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["S2S:Keys:" + KeyId] = Key,
        ["S2S:Keys:" + SecondKeyId] = SecondKey,
    };

    public static string Sign(string key, string method, string path, string timestamp, string nonce, string actAs, string body) =>
        Sign(key, method, path, timestamp, nonce, actAs, Encoding.UTF8.GetBytes(body));

    public static string Sign(string key, string method, string path, string timestamp, string nonce, string actAs, byte[] body)
    {
        var bodyHash = Convert.ToHexStringLower(SHA256.HashData(body));
        var canonical = $"{method}\n{path}\n{timestamp}\n{nonce}\n{actAs}\n{bodyHash}";
        return Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(canonical)));
    }

    /// <summary>The headers that sign exactly <paramref name="body"/> (any bytes, even invalid UTF-8) as a call acting as nobody.</summary>
    public static Dictionary<string, string> HeadersFor(HttpMethod verb, string apiMethod, byte[]? body)
    {
        var (timestamp, nonce) = (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString(), Guid.NewGuid().ToString("N"));
        return new()
        {
            ["X-ImF-Key-Id"] = KeyId,
            ["X-ImF-Timestamp"] = timestamp,
            ["X-ImF-Nonce"] = nonce,
            ["X-ImF-Act-As"] = "",
            ["X-ImF-Signature"] = Sign(Key, verb.Method, "/api/" + apiMethod, timestamp, nonce, "", body ?? []),
        };
    }

    public static S2SCall Call(string apiMethod, object body, string actAs = "") =>
        new("POST", apiMethod, JsonSerializer.Serialize(body), actAs);

    /// <summary>Sends <paramref name="call"/> signed (or with its own <see cref="S2SCall.Signature"/>); <paramref name="sendTo"/> changes the path.</summary>
    public static async Task<ApiReply> SendAsync(this TestApp app, S2SCall call, string? sendTo = null, string? sendBody = null,
        string? sendActAs = null, Action<HttpRequestHeaders>? headers = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/" + (sendTo ?? call.ApiMethod))
        {
            Content = new StringContent(sendBody ?? call.Body, Encoding.UTF8, new MediaTypeHeaderValue("application/json")),
        };
        request.Headers.Add("X-ImF-Key-Id", call.KeyId);
        request.Headers.Add("X-ImF-Timestamp", call.Timestamp.ToString());
        request.Headers.Add("X-ImF-Nonce", call.Nonce);
        request.Headers.Add("X-ImF-Act-As", sendActAs ?? call.ActAs);
        request.Headers.Add("X-ImF-Signature", call.Signature ?? call.Sign());
        headers?.Invoke(request.Headers);
        using var response = await app.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return new ApiReply((int)response.StatusCode, JsonDocument.Parse(text).RootElement.Clone(), response.Headers);
    }

    public static Task<ApiReply> SignedAsync(this TestApp app, string apiMethod, object body, string actAs = "") =>
        app.SendAsync(Call(apiMethod, body, actAs));
}
