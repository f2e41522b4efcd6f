using Azure.Core;

namespace ImFunctions.Core.Push.WebPubSub;

/// <summary>
/// Azure.Core client options with push-sized retries: a few quick attempts with bounded exponential backoff, a short
/// per-attempt timeout. The PushDispatcher retries whole pushes on top of this until its own deadline.
/// </summary>
public sealed class WebPubSubRestClientOptions : ClientOptions
{
    /// <summary>The data-plane API version both current SDKs send.</summary>
    public const string LatestApiVersion = "2024-12-01";

    public WebPubSubRestClientOptions()
    {
        Retry.Mode = RetryMode.Exponential;
        Retry.MaxRetries = 3;
        Retry.Delay = TimeSpan.FromMilliseconds(200);
        Retry.MaxDelay = TimeSpan.FromSeconds(2);
        Retry.NetworkTimeout = TimeSpan.FromSeconds(10);
        Diagnostics.ApplicationId = "ImFunctions";
    }

    public string ApiVersion { get; set; } = LatestApiVersion;

    /// <summary>A 429/503 asking for a longer pause than this is not retried inside the call.</summary>
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromSeconds(2);

    public TimeProvider Clock { get; set; } = TimeProvider.System;
}

/// <summary>The app settings of the WebPubSub section (WebPubSub__ConnectionString, WebPubSub__Hub, ...).</summary>
public sealed class WebPubSubSettings
{
    public string? ConnectionString { get; set; }
    public string Hub { get; set; } = "im";
    public int MaxRetries { get; set; } = 3;
    public TimeSpan NetworkTimeout { get; set; } = TimeSpan.FromSeconds(10);

    public WebPubSubRestClientOptions ToClientOptions()
    {
        var options = new WebPubSubRestClientOptions();
        options.Retry.MaxRetries = MaxRetries;
        options.Retry.NetworkTimeout = NetworkTimeout;
        return options;
    }
}
