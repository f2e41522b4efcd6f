using Azure;
using Azure.Core;
using Azure.Core.Pipeline;

namespace ImFunctions.Core.Push.WebPubSub;

/// <summary>
/// Signs every attempt (it sits in the per-retry part of the pipeline) with a fresh HS256 token whose audience
/// is the exact URL being sent, query included, as the SDKs do.
/// </summary>
sealed class WebPubSubKeyAuthenticationPolicy(string accessKey, TimeProvider clock) : HttpPipelineSynchronousPolicy
{
    public override void OnSendingRequest(HttpMessage message)
    {
        var token = WebPubSubTokens.ForRestRequest(message.Request.Uri.ToUri(), accessKey, clock.GetUtcNow());
        message.Request.Headers.SetValue(HttpHeader.Names.Authorization, "Bearer " + token);
    }
}

/// <summary>
/// One operation's outcome: only its documented status codes are success (the SDKs enforce the same), and
/// Azure.Core's transient set (408, 429, 500, 502, 503, 504, I/O errors) is retried, except when the service
/// asks for a longer pause than <paramref name="maxRetryAfter"/>: that wait is the caller's to decide.
/// </summary>
sealed class WebPubSubOperationClassifier(TimeSpan maxRetryAfter, params int[] success) : ResponseClassifier
{
    public override bool IsErrorResponse(HttpMessage message) => !success.Contains(message.Response.Status);

    public override bool IsRetriableResponse(HttpMessage message) =>
        base.IsRetriableResponse(message) && RetryAfter(message.Response) <= maxRetryAfter;

    // The headers Azure.Core's retry policy honours.
    static TimeSpan RetryAfter(Response response)
    {
        foreach (var header in (string[])["retry-after-ms", "x-ms-retry-after-ms"])
            if (response.Headers.TryGetValue(header, out var ms) && double.TryParse(ms, out var milliseconds))
                return TimeSpan.FromMilliseconds(milliseconds);
        if (!response.Headers.TryGetValue("Retry-After", out var value)) return TimeSpan.Zero;
        if (int.TryParse(value, out var seconds)) return TimeSpan.FromSeconds(seconds);
        return DateTimeOffset.TryParse(value, out var at) ? at - DateTimeOffset.UtcNow : TimeSpan.Zero;
    }
}
