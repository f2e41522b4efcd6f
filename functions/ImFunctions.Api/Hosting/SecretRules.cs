namespace ImFunctions.Api.Hosting;

/// <summary>
/// Each secret has one job. With Auth:TokenSecret equal to UniIm:JwtSecret, every legacy backend that knows its
/// jwtSecret could mint ImFunctions tokens for anyone; the hub key and webhook secret must not double as either.
/// </summary>
public static class SecretRules
{
    public static readonly string[] Settings = ["UniIm:JwtSecret", "Auth:TokenSecret", "LocalHub:AccessKey", "Webhooks:Secret"];

    public static void Check(IConfiguration config)
    {
        var set = Settings.Select(name => (name, value: config[name])).Where(s => !string.IsNullOrEmpty(s.value)).ToArray();
        foreach (var (a, i) in set.Select((s, i) => (s, i)))
            foreach (var b in set.Skip(i + 1))
                if (string.Equals(a.value, b.value, StringComparison.Ordinal))
                    throw new InvalidOperationException(
                        $"{a.name.Replace(":", "__")} and {b.name.Replace(":", "__")} are the same secret; give each its own random value.");
    }
}
