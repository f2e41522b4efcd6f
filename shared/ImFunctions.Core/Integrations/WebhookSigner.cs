using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace ImFunctions.Core.Integrations;

/// <summary>
/// Signs webhook calls: <c>X-ImF-Webhook-Signature</c> = lowercase hex HMAC-SHA256(secret, <c>ID.TIMESTAMP.RAW_BODY</c>),
/// with the id and timestamp (epoch ms) in their own headers, so a receiver can verify, reject stale calls and dedupe.
/// </summary>
public sealed class WebhookSigner(WebhookOptions options, TimeProvider clock)
{
    public const string IdHeader = "X-ImF-Webhook-Id", TimestampHeader = "X-ImF-Webhook-Timestamp", SignatureHeader = "X-ImF-Webhook-Signature";

    public HttpRequestMessage CreateRequest(string url, string id, string body)
    {
        var timestamp = clock.GetUtcNow().ToUnixTimeMilliseconds().ToString();
        var request = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue("application/json")),
        };
        request.Headers.Add(IdHeader, id);
        request.Headers.Add(TimestampHeader, timestamp);
        request.Headers.Add(SignatureHeader, Sign(options.Secret!, id, timestamp, body));
        return request;
    }

    public static string Sign(string secret, string id, string timestamp, string body) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{id}.{timestamp}.{body}")));
}
