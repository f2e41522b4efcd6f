namespace ImFunctions.Core.Push.WebPubSub;

/// <summary>
/// <c>Endpoint=https://name.webpubsub.azure.com;AccessKey=...;Version=1.0;</c> read the way the .NET SDK reads it:
/// keys are case-insensitive and trimmed, a duplicate key is an error, <c>Port</c> overrides the endpoint's port,
/// <c>Version</c> is ignored, and an endpoint without a scheme is taken as http (always write the scheme).
/// </summary>
public sealed record WebPubSubConnectionString(Uri Endpoint, string AccessKey)
{
    public static WebPubSubConnectionString Parse(string connectionString)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        var properties = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var property in connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var pair = property.Split('=', 2);
            if (pair.Length != 2) continue;
            var key = pair[0].Trim();
            if (!properties.TryAdd(key, pair[1].Trim()))
                throw new ArgumentException($"Duplicate properties found in connection string: {key}.", nameof(connectionString));
        }

        if (!properties.TryGetValue("Endpoint", out var endpoint))
            throw new ArgumentException("Required property not found in connection string: Endpoint.", nameof(connectionString));
        if (!properties.TryGetValue("AccessKey", out var accessKey))
            throw new ArgumentException("Required property not found in connection string: AccessKey.", nameof(connectionString));

        var uri = new UriBuilder(endpoint.TrimEnd('/'));
        if (properties.TryGetValue("Port", out var rawPort))
        {
            if (!int.TryParse(rawPort, out var port) || port is <= 0 or > 0xFFFF)
                throw new ArgumentException($"Invalid Port value: {rawPort}", nameof(connectionString));
            uri.Port = port;
        }
        return new WebPubSubConnectionString(uri.Uri, accessKey);
    }

    /// <summary>The string form, e.g. for the local hub: <c>Endpoint=http://127.0.0.1;Port=7071;AccessKey=...;Version=1.0;</c>.</summary>
    public static string Format(Uri endpoint, string accessKey) =>
        $"Endpoint={endpoint.Scheme}://{endpoint.Host};Port={endpoint.Port};AccessKey={accessKey};Version=1.0;";

    // Keep the key out of logs and exception messages.
    public override string ToString() => $"Endpoint={Endpoint.GetLeftPart(UriPartial.Authority)};AccessKey=***";
}
