using System.Text.Json;
using System.Text.Json.Serialization;

namespace ImFunctions.Bench;

/// <summary>
/// The machine's own limit for the sendMsg request shape: Kestrel and minimal-API binding of the same JSON body,
/// a small JSON answer, and nothing else (no auth, no store, no push). The bench starts it as a separate process,
/// like the app, and drives it with the same generator.
/// </summary>
public static class BareServer
{
    public static async Task RunAsync(int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.WebHost.ConfigureKestrel(k => k.AddServerHeader = false);
        builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower);
        var app = builder.Build();
        app.MapGet("/", () => "bare");
        app.MapPost("/api/sendMsg", (BareSendRequest req) =>
            Results.Json(new BareReply(0, "", new BareSent("000000000000000000000000", "single_" + req.ToUid, 1, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()))));
        await app.RunAsync();
    }

    public sealed record BareSendRequest(string? ToUid, [property: JsonPropertyName("appId")] string? AppId, string? Type,
        JsonElement Body, string? ClientMsgId);

    public sealed record BareReply([property: JsonPropertyName("errCode")] int ErrCode, [property: JsonPropertyName("errMsg")] string ErrMsg, BareSent Data);

    public sealed record BareSent([property: JsonPropertyName("_id")] string Id, string ConversationId, long Seq, long CreateTime);
}
