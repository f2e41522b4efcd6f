using ImFunctions.Core.Push.WebPubSub;
using Microsoft.Extensions.Configuration;

namespace ImFunctions.Core.Push.LocalHub;

public sealed class LocalHubOptions
{
    /// <summary>The Web PubSub hub name (setting WebPubSub__Hub).</summary>
    public string Hub { get; set; } = "im";
    /// <summary>Signs and checks client and REST tokens, like a Web PubSub access key (setting LocalHub__AccessKey).</summary>
    public string AccessKey { get; set; } = "";
    /// <summary>Where clients reach this app, e.g. http://127.0.0.1:7071; set from the listening address at start.</summary>
    public Uri? PublicBaseUrl { get; set; }
    /// <summary>How long a dropped reliable connection waits for its client to recover it (the service keeps ≥ 30 s).</summary>
    public TimeSpan RecoveryWindow { get; set; } = TimeSpan.FromSeconds(30);
    /// <summary>Un-acked messages a reliable connection may hold; beyond either limit it is closed for good.</summary>
    public int MaxUnackedMessages { get; set; } = 1000;
    public long MaxUnackedBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>This hub as a Web PubSub connection string, once the app knows its address.</summary>
    public string? ConnectionString => PublicBaseUrl is { } url ? WebPubSubConnectionString.Format(url, AccessKey) : null;

    /// <summary>Settings: the LocalHub section, with the hub name shared with production (WebPubSub:Hub).</summary>
    public static LocalHubOptions FromConfiguration(IConfiguration config)
    {
        var options = config.GetSection("LocalHub").Get<LocalHubOptions>() ?? new LocalHubOptions();
        options.Hub = config["WebPubSub:Hub"] ?? "im";
        if (string.IsNullOrEmpty(options.AccessKey)) throw new InvalidOperationException("LocalHub:AccessKey is required.");
        if (System.Text.Encoding.UTF8.GetByteCount(options.AccessKey) < 32)
            throw new InvalidOperationException("LocalHub:AccessKey must be at least 32 bytes (HS256 keys shorter than that are refused).");
        return options;
    }
}
