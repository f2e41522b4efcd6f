namespace ImFunctions.Api.Hosting;

/// <summary>
/// Each secret has one job. With Auth:TokenSecret equal to UniIm:JwtSecret, every legacy backend that knows its
/// jwtSecret could mint ImFunctions tokens for anyone; the hub key, webhook secret and server-to-server keys (S2S:Keys:*) must not double as any other.
/// </summary>
public static class SecretRules
{
    public static readonly string[] Settings = ["UniIm:JwtSecret", "Auth:TokenSecret", "LocalHub:AccessKey", "Webhooks:Secret"];

    public static void Check(IConfiguration config)
    {
        var set = Settings.Select(name => (name, value: config[name]))
            .Concat(config.GetSection("S2S:Keys").GetChildren().Select(key => (name: key.Path, value: key.Value)))
            .Where(s => !string.IsNullOrEmpty(s.value)).ToArray();
        foreach (var (a, i) in set.Select((s, i) => (s, i)))
            foreach (var b in set.Skip(i + 1))
                if (string.Equals(a.value, b.value, StringComparison.Ordinal))
                    throw new InvalidOperationException(
                        $"{a.name.Replace(":", "__")} and {b.name.Replace(":", "__")} are the same secret; give each its own random value.");
    }
}
