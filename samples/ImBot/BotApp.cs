using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ImBot;

/// <summary>
/// An "assistant" user: ImFunctions posts every <c>message.sent</c> event here (signed with the webhook secret); for
/// a text message to the bot it answers through a signed server-to-server <c>sendMsg</c> acting as the bot.
/// Events arrive at least once, so the reply carries <c>client_msg_id = "reply-" + the message's _id</c>:
/// a redelivered event stores no second reply.
/// </summary>
public static class BotApp
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        configure?.Invoke(builder);
        var settings = builder.Configuration.GetSection("Bot").Get<BotSettings>() ?? new BotSettings();
        builder.Services.AddSingleton(settings);
        builder.Services.AddHttpClient<ImClient>(http => http.BaseAddress = new Uri(settings.ImUrl));
        var app = builder.Build();
        app.MapPost("/events", HandleEventAsync);
        return app;
    }

    static async Task<IResult> HandleEventAsync(HttpRequest request, BotSettings settings, ImClient im, CancellationToken ct)
    {
        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        var raw = await reader.ReadToEndAsync(ct);
        if (!Webhook.IsGenuine(request.Headers, raw, settings.WebhookSecret)) return Results.Unauthorized();

        var received = JsonNode.Parse(raw)!;
        if ((string?)received["type"] != "message.sent") return Results.Ok();
        var message = received["data"]!;
        var me = await im.BotUidAsync(ct);
        if ((string?)message["to_uid"] != me || (string?)message["type"] != "text") return Results.Ok();

        var answer = Answer((string?)message["body"] ?? "");
        // A failed reply answers 500: ImFunctions delivers the event again later, and client_msg_id dedupes the reply.
        var sent = await im.CallAsync("sendMsg", new
        {
            to_uid = (string?)message["from_uid"], appId = (string?)message["appid"] ?? "__UNI__BOT", type = "text", body = answer,
            client_msg_id = "reply-" + (string?)message["_id"],
        }, actAs: me, ct);
        return sent ? Results.Ok() : Results.StatusCode(500);
    }

    /// <summary>
    /// The bot's brain. A real assistant ("connect ChatGPT to uni-im") calls its model here: send the text (and the
    /// conversation's recent history from getMsgList, acting as the bot) and return the model's reply.
    /// </summary>
    public static string Answer(string text) => text.Trim() switch
    {
        "/help" => "I answer /help and /time, and echo anything else.",
        "/time" => "It is " + DateTimeOffset.UtcNow.ToString("yyyy-MM-dd HH:mm:ss") + " UTC.",
        var other => "You said: " + other,
    };
}

public sealed class BotSettings
{
    /// <summary>ImFunctions' base URL.</summary>
    public string ImUrl { get; set; } = "http://127.0.0.1:7071";
    public string KeyId { get; set; } = "";
    public string Key { get; set; } = "";
    public string WebhookSecret { get; set; } = "";
    /// <summary>The bot's own account, created on first use with upsertUser.</summary>
    public string ExtUid { get; set; } = "bot:assistant";
    public string Nickname { get; set; } = "Assistant";
}

/// <summary>Checks a webhook call as docs/legacy-backends.md says: HMAC-SHA256(secret, ID.TIMESTAMP.BODY), a fresh timestamp.</summary>
public static class Webhook
{
    public static bool IsGenuine(IHeaderDictionary headers, string body, string secret)
    {
        var (id, timestamp, signature) = (headers["X-ImF-Webhook-Id"].ToString(), headers["X-ImF-Webhook-Timestamp"].ToString(),
            headers["X-ImF-Webhook-Signature"].ToString());
        if (!long.TryParse(timestamp, out var ms) || Math.Abs(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - ms) > 5 * 60_000) return false;
        var expected = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{id}.{timestamp}.{body}")));
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(signature));
    }
}

/// <summary>Signed server-to-server calls to ImFunctions (SPEC §13).</summary>
public sealed class ImClient(HttpClient http, BotSettings settings)
{
    string? botUid;

    public async Task<string> BotUidAsync(CancellationToken ct)
    {
        if (botUid is not null) return botUid;
        var reply = await SendAsync("upsertUser", new { ext_uid = settings.ExtUid, nickname = settings.Nickname }, "", ct);
        return botUid = reply!.RootElement.GetProperty("data").GetProperty("uid").GetString()!;
    }

    public async Task<bool> CallAsync(string method, object body, string actAs, CancellationToken ct) =>
        await SendAsync(method, body, actAs, ct) is not null;

    async Task<JsonDocument?> SendAsync(string method, object body, string actAs, CancellationToken ct)
    {
        var json = JsonSerializer.Serialize(body);
        var path = "/api/" + method;
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString();
        var nonce = Guid.NewGuid().ToString("N");
        var bodyHash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(json)));
        var signature = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(settings.Key),
            Encoding.UTF8.GetBytes($"POST\n{path}\n{timestamp}\n{nonce}\n{actAs}\n{bodyHash}")));

        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new StringContent(json, Encoding.UTF8, new MediaTypeHeaderValue("application/json")),
        };
        request.Headers.Add("X-ImF-Key-Id", settings.KeyId);
        request.Headers.Add("X-ImF-Timestamp", timestamp);
        request.Headers.Add("X-ImF-Nonce", nonce);
        request.Headers.Add("X-ImF-Act-As", actAs);
        request.Headers.Add("X-ImF-Signature", signature);
        using var response = await http.SendAsync(request, ct);
        return response.IsSuccessStatusCode ? JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct)) : null;
    }
}
