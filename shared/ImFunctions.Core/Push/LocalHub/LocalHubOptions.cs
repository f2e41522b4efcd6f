namespace ImFunctions.Core.Push.LocalHub;

public sealed class LocalHubOptions
{
    /// <summary>The Web PubSub hub name (setting WebPubSub__Hub).</summary>
    public string Hub { get; set; } = "im";
    /// <summary>Signs client access tokens, like a Web PubSub access key (setting LocalHub__AccessKey).</summary>
    public string AccessKey { get; set; } = "";
    /// <summary>Where clients reach this app, e.g. http://127.0.0.1:7071; set from the listening address at start.</summary>
    public Uri? PublicBaseUrl { get; set; }
}
