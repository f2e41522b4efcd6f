using System.Security.Cryptography;
using System.Text.Json;

namespace ImFunctions.Api.Hosting;

/// <summary>
/// With no settings at all the app still runs: the secrets it needs are generated once into the data folder
/// and reused on every start. Never in Azure, where every instance must share the configured secrets.
/// </summary>
public static class DevSecrets
{
    public const string FileName = "dev-secrets.json";
    static readonly string[] Keys = ["UniIm:JwtSecret", "Auth:TokenSecret", "LocalHub:AccessKey"];

    /// <summary>Fills in the missing secrets; returns the file used, or null when none was needed.</summary>
    public static string? Apply(ConfigurationManager configuration, string dataDirectory)
    {
        var missing = Keys.Where(k => configuration[k] is null).ToArray();
        if (missing.Length == 0 || RunsInAzure(configuration)) return null;

        var path = Path.GetFullPath(Path.Combine(dataDirectory, FileName));
        var secrets = File.Exists(path)
            ? JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(path))!
            : Create(path);
        configuration.AddInMemoryCollection(missing.Where(secrets.ContainsKey).Select(k => KeyValuePair.Create(k, (string?)secrets[k])));
        return path;
    }

    public static bool RunsInAzure(IConfiguration configuration) => configuration["WEBSITE_SITE_NAME"] is not null;

    static Dictionary<string, string> Create(string path)
    {
        // The data folder also holds the chat history: only its owner may list or enter it.
        var directory = Path.GetDirectoryName(path)!;
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(directory);
        else if (!Directory.Exists(directory)) Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var secrets = Keys.ToDictionary(k => k, _ => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        JsonSerializer.Serialize(file, secrets, new JsonSerializerOptions { WriteIndented = true });
        return secrets;
    }
}
