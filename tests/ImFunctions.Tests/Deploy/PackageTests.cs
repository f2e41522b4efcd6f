using System.Diagnostics;
using System.IO.Compression;
using System.Text.Json;
using ImFunctions.Api;
using NUnit.Framework;

namespace ImFunctions.Tests.Deploy;

// Checks the zip that goes to Azure (infra/package.sh) the way the Functions host will read it:
// the published isolated worker at the root, its metadata declaring exactly our methods, nothing local.
// Builds the zip once per run; set IMFUNCTIONS_PACKAGE_ZIP to inspect one built earlier.
[TestFixture]
public class PackageTests
{
    const string PrebuiltZipVariable = "IMFUNCTIONS_PACKAGE_ZIP";

    string _repoRoot = "";
    PackageContents _zip = null!;

    [OneTimeSetUp]
    public async Task BuildOrOpenThePackage()
    {
        _repoRoot = FindRepoRoot();
        var prebuilt = Environment.GetEnvironmentVariable(PrebuiltZipVariable);
        var zipPath = string.IsNullOrEmpty(prebuilt) ? await RunPackageScript(_repoRoot) : prebuilt;
        Assert.That(File.Exists(zipPath), Is.True, $"no package at {zipPath}");
        _zip = PackageContents.Read(zipPath);
    }

    [Test]
    public void The_metadata_lists_exactly_the_uni_im_methods_each_an_anonymous_post_http_trigger_and_health()
    {
        var expected = UniImMethods.Create().Select(m => $"{m.Name}: httpTrigger In Anonymous [post] route={m.Name} | http Out")
            .Append("health: httpTrigger In Anonymous [get] route=health | http Out")
            .Order(StringComparer.Ordinal);

        Assert.That(_zip.DescribeFunctions(), Is.EqualTo(expected));
    }

    [Test]
    public void The_app_root_holds_the_published_worker_and_the_repos_host_json()
    {
        string[] required = ["host.json", "functions.metadata", "worker.config.json", "ImFunctions.Functions.dll", "ImFunctions.Api.dll"];

        Assert.That(required.Where(f => !_zip.Modes.ContainsKey(f)), Is.Empty);
        Assert.That(_zip.Text("host.json"), Is.EqualTo(File.ReadAllText(Path.Combine(_repoRoot, "host.json"))));
        using var worker = JsonDocument.Parse(_zip.Text("worker.config.json"));
        Assert.That(worker.RootElement.GetProperty("description").GetProperty("defaultWorkerPath").GetString(), Is.EqualTo("ImFunctions.Functions.dll"));
    }

    [Test]
    public void Host_json_is_an_isolated_worker_host_json_with_the_api_route_prefix()
    {
        using var host = JsonDocument.Parse(_zip.Text("host.json"));

        Assert.That(host.RootElement.GetProperty("version").GetString(), Is.EqualTo("2.0"));
        Assert.That(host.RootElement.TryGetProperty("customHandler", out _), Is.False, "a custom handler section left over");
        Assert.That(host.RootElement.GetProperty("extensions").GetProperty("http").GetProperty("routePrefix").GetString(), Is.EqualTo("api"));
    }

    [Test]
    public void The_zip_holds_no_secrets_or_local_data()
    {
        string[] secretFiles = ["local.settings.json", "dev-secrets.json"];
        string[] databaseExtensions = [".db", ".db-wal", ".db-shm", ".sqlite"];
        string[] localFolders = ["data", "node_modules"];

        var offenders = _zip.Modes.Keys.Where(path =>
        {
            var segments = path.Split('/');
            var fileName = segments[^1];
            return secretFiles.Any(name => name == fileName)
                || databaseExtensions.Any(ext => fileName.EndsWith(ext, StringComparison.OrdinalIgnoreCase))
                || segments[..^1].Any(segment => localFolders.Any(folder => folder == segment));
        });

        Assert.That(offenders, Is.Empty);
        // Nor any setting value that looks like one of ours.
        Assert.That(_zip.JsonFiles.Values.Where(text => text.Contains("AccessKey=", StringComparison.Ordinal) || text.Contains("JwtSecret", StringComparison.Ordinal)), Is.Empty);
    }

    static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "host.json")) && File.Exists(Path.Combine(dir.FullName, "infra", "package.sh")))
                return dir.FullName;
        }
        throw new InvalidOperationException($"no repo root (host.json + infra/package.sh) above {TestContext.CurrentContext.TestDirectory}");
    }

    static async Task<string> RunPackageScript(string repoRoot)
    {
        var start = new ProcessStartInfo("bash")
        {
            ArgumentList = { Path.Combine(repoRoot, "infra", "package.sh") },
            WorkingDirectory = repoRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        // `dotnet test` leaves MSBuild variables behind that would steer the script's own publish.
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
            start.Environment.Remove(key);

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("infra/package.sh needs bash, python3 and dotnet on PATH (apt-get install bash python3)", e);
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(15));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException("infra/package.sh ran for more than 15 minutes");
            }

            var output = (await stdout).Trim();
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"infra/package.sh exited {process.ExitCode}:\n{await stderr}");
            return output.Split('\n')[^1].Trim();
        }
    }

    // Everything the tests read, copied out of the zip once so tests may run in any order or in parallel.
    sealed record PackageContents(IReadOnlyDictionary<string, int> Modes, IReadOnlyDictionary<string, string> JsonFiles)
    {
        public string Text(string path) =>
            JsonFiles.TryGetValue(path, out var text) ? text : throw new KeyNotFoundException($"{path} is not in the zip");

        /// <summary>Each function as "name: type direction auth [methods] route | ..." from functions.metadata.</summary>
        public IEnumerable<string> DescribeFunctions()
        {
            using var metadata = JsonDocument.Parse(Text("functions.metadata"));
            return metadata.RootElement.EnumerateArray().Select(f =>
            {
                var bindings = f.GetProperty("bindings").EnumerateArray().Select(b =>
                {
                    var text = $"{b.GetProperty("type").GetString()} {b.GetProperty("direction").GetString()}";
                    if (b.TryGetProperty("authLevel", out var auth)) text += " " + auth.GetString();
                    if (b.TryGetProperty("methods", out var methods)) text += $" [{string.Join(",", methods.EnumerateArray().Select(m => m.GetString()))}]";
                    if (b.TryGetProperty("route", out var route)) text += " route=" + route.GetString();
                    return text;
                });
                return $"{f.GetProperty("name").GetString()}: {string.Join(" | ", bindings)}";
            }).Order(StringComparer.Ordinal).ToList();
        }

        public static PackageContents Read(string zipPath)
        {
            using var zip = ZipFile.OpenRead(zipPath);
            var files = zip.Entries.Where(e => !e.FullName.EndsWith('/')).ToList();
            // Unix zips keep st_mode in the high 16 bits of the external attributes.
            var modes = files.ToDictionary(e => e.FullName, e => (e.ExternalAttributes >> 16) & 0xFFFF);
            var json = files.Where(e => e.FullName.EndsWith(".json", StringComparison.Ordinal) || e.FullName == "functions.metadata")
                .ToDictionary(e => e.FullName, e => { using var r = new StreamReader(e.Open()); return r.ReadToEnd(); });
            return new PackageContents(modes, json);
        }
    }
}
