namespace ImFunctions.Core.Integrations;

/// <summary>The <c>Webhooks</c> settings section (env: <c>Webhooks__EventsUrl</c>, ...). docs/legacy-backends.md explains each.</summary>
public sealed class WebhookOptions
{
    /// <summary>Signs every webhook call (HMAC-SHA256); required when either URL is set.</summary>
    public string? Secret { get; set; }

    /// <summary>Called before a user's message is stored: allow, reject (403 with its reason) or rewrite the body.</summary>
    public string? BeforeSendUrl { get; set; }
    public TimeSpan BeforeSendTimeout { get; set; } = TimeSpan.FromSeconds(2);
    /// <summary>When the hook is down, slow or answers nonsense: true lets the message through, false (default) refuses it with 503.</summary>
    public bool BeforeSendFailOpen { get; set; }

    /// <summary>Receives after-the-fact events (message.sent, ...) from the durable outbox.</summary>
    public string? EventsUrl { get; set; }
    public TimeSpan EventsTimeout { get; set; } = TimeSpan.FromSeconds(10);
    /// <summary>How often each instance looks for due events besides being woken by its own publishes.</summary>
    public TimeSpan EventsPollInterval { get; set; } = TimeSpan.FromSeconds(5);
    public TimeSpan EventsFirstRetryDelay { get; set; } = TimeSpan.FromSeconds(1);
    public TimeSpan EventsMaxRetryDelay { get; set; } = TimeSpan.FromMinutes(10);
    /// <summary>An event still undelivered after this long is dropped with an error log (the receiver was gone for days).</summary>
    public TimeSpan EventsMaxAge { get; set; } = TimeSpan.FromDays(3);
    /// <summary>While one instance delivers an event, others leave it alone for this long.</summary>
    public TimeSpan EventsLease { get; set; } = TimeSpan.FromSeconds(60);

    public void Validate()
    {
        foreach (var (name, url) in new[] { ("Webhooks:BeforeSendUrl", BeforeSendUrl), ("Webhooks:EventsUrl", EventsUrl) })
        {
            if (string.IsNullOrEmpty(url)) continue;
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
                throw new InvalidOperationException($"{name.Replace(":", "__")} must be an absolute http(s) URL.");
            if (string.IsNullOrEmpty(Secret) || System.Text.Encoding.UTF8.GetByteCount(Secret) < 32)
                throw new InvalidOperationException($"{name.Replace(":", "__")} is set, so Webhooks__Secret must be set too (32+ random bytes): receivers verify every call with it.");
        }
        if (BeforeSendTimeout <= TimeSpan.Zero || EventsTimeout <= TimeSpan.Zero || EventsPollInterval <= TimeSpan.Zero ||
            EventsFirstRetryDelay <= TimeSpan.Zero || EventsMaxRetryDelay < EventsFirstRetryDelay || EventsLease <= TimeSpan.Zero)
            throw new InvalidOperationException("Webhooks: timeouts, intervals and delays must be positive (and EventsMaxRetryDelay ≥ EventsFirstRetryDelay).");
    }
}
