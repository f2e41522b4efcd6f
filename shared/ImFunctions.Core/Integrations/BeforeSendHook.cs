using System.Text.Json;
using ImFunctions.Core.Domain;
using Microsoft.Extensions.Logging;

namespace ImFunctions.Core.Integrations;

/// <summary>Asked before a user's message is stored: may let it through, refuse it, or change its body.</summary>
public interface IBeforeSendHook
{
    /// <summary>The message to store (the same, or with a rewritten body), or the error the sender gets.</summary>
    Task<Result<SendMessage>> CheckAsync(User sender, SendMessage message, CancellationToken ct);
}

/// <summary>No before-send URL: every message passes as it is.</summary>
public sealed class BeforeSendOff : IBeforeSendHook
{
    public Task<Result<SendMessage>> CheckAsync(User sender, SendMessage message, CancellationToken ct) =>
        Task.FromResult(Result<SendMessage>.Ok(message));
}

/// <summary>
/// <c>Webhooks:BeforeSendUrl</c>: posts <c>{id, type: "message.before_send", time, data}</c> (signed like every webhook)
/// and waits up to <c>BeforeSendTimeout</c> for <c>{"action":"allow"}</c>, <c>{"action":"reject","reason":...}</c> or
/// <c>{"action":"rewrite","body":...}</c>. Anything else (down, slow, 5xx, bad JSON) counts as a failure, which
/// <c>BeforeSendFailOpen</c> turns into "allow" or, by default, into 503.
/// </summary>
public sealed class BeforeSendWebhook(WebhookSigner signer, WebhookOptions options, IHttpClientFactory httpClients, TimeProvider clock,
    ILogger<BeforeSendWebhook> logger) : IBeforeSendHook
{
    const int MaxReasonLength = 200;

    public async Task<Result<SendMessage>> CheckAsync(User sender, SendMessage message, CancellationToken ct)
    {
        var id = "message.before_send:" + Ids.New();
        var body = JsonSerializer.Serialize(new
        {
            id,
            type = "message.before_send",
            time = clock.GetUtcNow().ToUnixTimeMilliseconds(),
            data = new
            {
                from_uid = sender.Id, to_uid = message.ToUid, group_id = message.GroupId, appid = message.AppId,
                type = message.Type, body = message.Body, client_msg_id = message.ClientMsgId, about_msg_id = message.AboutMsgId,
            },
        }, ImJson.Options);

        JsonElement answer;
        try
        {
            using var request = signer.CreateRequest(options.BeforeSendUrl!, id, body);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(options.BeforeSendTimeout);
            using var response = await httpClients.CreateClient(OutboxDelivery.HttpClientName).SendAsync(request, timeout.Token);
            if (!response.IsSuccessStatusCode) return Failed(message, $"HTTP {(int)response.StatusCode}");
            answer = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(timeout.Token)).RootElement.Clone();
        }
        catch (Exception e) when (e is HttpRequestException or JsonException || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            return Failed(message, e is OperationCanceledException ? "timeout" : e.Message);
        }

        var action = answer.ValueKind == JsonValueKind.Object && answer.TryGetProperty("action", out var a) && a.ValueKind == JsonValueKind.String
            ? a.GetString() : null;
        switch (action)
        {
            case "allow":
                return message;
            case "reject":
                var reason = answer.TryGetProperty("reason", out var r) && r.ValueKind == JsonValueKind.String && r.GetString() is { Length: > 0 } text
                    ? text : "The message was rejected.";
                return ImError.NoPermission(reason.Length > MaxReasonLength ? reason[..MaxReasonLength] : reason);
            case "rewrite" when answer.TryGetProperty("body", out var rewritten):
                return message with { Body = rewritten.Clone() };
            default:
                return Failed(message, "an answer that is not allow, reject or rewrite");
        }
    }

    Result<SendMessage> Failed(SendMessage message, string why)
    {
        logger.LogWarning("Before-send webhook failed ({Failure}); {Outcome}", why, options.BeforeSendFailOpen ? "letting the message through" : "refusing the message");
        return options.BeforeSendFailOpen ? message : ImError.Unavailable("The before-send check is unavailable; retry later.");
    }
}
