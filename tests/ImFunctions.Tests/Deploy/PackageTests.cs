using System.Diagnostics;
using System.IO.Compression;
using System.Text.Json;
using NUnit.Framework;

namespace ImFunctions.Tests.Deploy;

// Checks the zip that goes to Azure (infra/package.sh) the way the Functions host will read it:
// a flat app root, HTTP-only function.json files, an executable handler, nothing local.
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
    public void Every_function_folder_in_the_repo_is_a_function_in_the_zip()
    {
        var inRepo = RepoFunctionNames();

        Assert.That(inRepo, Is.Not.Empty, "functions/<name>/function.json");
        Assert.That(_zip.FunctionNames, Is.EqualTo(inRepo));
        foreach (var name in inRepo)
        {
            var source = File.ReadAllText(Path.Combine(_repoRoot, "functions", name, "function.json"));
            Assert.That(_zip.Text($"{name}/function.json"), Is.EqualTo(source), name);
        }
    }

    [Test]
    public void Every_function_json_in_the_zip_is_http_only()
    {
        // The host forwards a request as-is only for exactly one httpTrigger in and one http out;
        // anything else silently falls back to its JSON payload protocol.
        const string httpOnly = "in httpTrigger anonymous | out http";
        var actual = _zip.FunctionNames.Select(name => $"{name}: {DescribeBindings(_zip.Text($"{name}/function.json"))}");
        var expected = _zip.FunctionNames.Select(name => $"{name}: {httpOnly}");

        Assert.That(actual, Is.EqualTo(expected));
    }

    [Test]
    public void The_app_root_is_host_json_the_function_folders_and_bin()
    {
        var expected = new[] { "bin", "host.json" }.Concat(RepoFunctionNames()).Order(StringComparer.Ordinal);

        Assert.That(_zip.TopLevelNames, Is.EqualTo(expected));
        Assert.That(_zip.Text("host.json"), Is.EqualTo(File.ReadAllText(Path.Combine(_repoRoot, "host.json"))));
    }

    [Test]
    public void The_handler_named_in_host_json_is_in_the_zip_and_executable()
    {
        var (executable, workingDirectory) = HandlerFromHostJson(_zip.Text("host.json"));

        Assert.That(_zip.Modes.ContainsKey(executable), Is.True, $"{executable} is not in the zip");
        var mode = _zip.Modes[executable];
        Assert.That(mode & 0xF000, Is.EqualTo(0x8000), $"{executable} is not stored as a regular unix file");
        Assert.That(mode & 0x40, Is.EqualTo(0x40), $"{executable} has no owner execute bit (mode {Convert.ToString(mode & 0xFFF, 8)})");
        Assert.That(executable.StartsWith(workingDirectory + "/", StringComparison.Ordinal), Is.True,
            $"the handler {executable} is outside its working directory {workingDirectory}");
    }

    [Test]
    public void The_handler_is_a_linux_x64_executable()
    {
        var (executable, _) = HandlerFromHostJson(_zip.Text("host.json"));
        var header = _zip.HandlerHeader;

        Assert.That(header.Take(4), Is.EqualTo(new byte[] { 0x7F, (byte)'E', (byte)'L', (byte)'F' }), $"{executable} is not an ELF file");
        Assert.That(header[4], Is.EqualTo(2), "ELF class: 64-bit");
        Assert.That(BitConverter.ToUInt16(header, 18), Is.EqualTo(0x3E), "ELF machine: x86-64");
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
    }

    string[] RepoFunctionNames() =>
        Directory.GetDirectories(Path.Combine(_repoRoot, "functions"))
            .Where(dir => File.Exists(Path.Combine(dir, "function.json")))
            .Select(Path.GetFileName)
            .OfType<string>()
            .Order(StringComparer.Ordinal)
            .ToArray();

    static string DescribeBindings(string functionJson)
    {
        using var doc = JsonDocument.Parse(functionJson);
        var bindings = doc.RootElement.GetProperty("bindings").EnumerateArray().Select(b =>
        {
            var direction = b.GetProperty("direction").GetString();
            var type = b.GetProperty("type").GetString();
            var auth = b.TryGetProperty("authLevel", out var level) ? " " + level.GetString() : "";
            return $"{direction} {type}{auth}";
        });
        return string.Join(" | ", bindings.Order(StringComparer.Ordinal));
    }

    static (string Executable, string WorkingDirectory) HandlerFromHostJson(string hostJson)
    {
        using var doc = JsonDocument.Parse(hostJson);
        var description = doc.RootElement.GetProperty("customHandler").GetProperty("description");
        var workingDirectory = description.TryGetProperty("workingDirectory", out var wd) ? wd.GetString() ?? "" : "";
        return (description.GetProperty("defaultExecutablePath").GetString()!, workingDirectory);
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
    sealed record PackageContents(
        IReadOnlyDictionary<string, int> Modes,
        IReadOnlyDictionary<string, string> JsonFiles,
        byte[] HandlerHeader)
    {
        public string[] FunctionNames =>
            JsonFiles.Keys.Where(p => p.EndsWith("/function.json", StringComparison.Ordinal) && p.Count(c => c == '/') == 1)
                .Select(p => p[..p.IndexOf('/')])
                .Order(StringComparer.Ordinal)
                .ToArray();

        public string[] TopLevelNames =>
            Modes.Keys.Select(p => p.Split('/')[0]).Distinct().Order(StringComparer.Ordinal).ToArray();

        public string Text(string path) =>
            JsonFiles.TryGetValue(path, out var text) ? text : throw new KeyNotFoundException($"{path} is not in the zip");

        public static PackageContents Read(string zipPath)
        {
            using var zip = ZipFile.OpenRead(zipPath);
            var files = zip.Entries.Where(e => !e.FullName.EndsWith('/')).ToList();
            // Unix zips keep st_mode in the high 16 bits of the external attributes.
            var modes = files.ToDictionary(e => e.FullName, e => (e.ExternalAttributes >> 16) & 0xFFFF);
            var json = files.Where(e => e.FullName.EndsWith(".json", StringComparison.Ordinal) && !e.FullName.StartsWith("bin/", StringComparison.Ordinal))
                .ToDictionary(e => e.FullName, e => { using var r = new StreamReader(e.Open()); return r.ReadToEnd(); });

            var header = new byte[64];
            if (json.TryGetValue("host.json", out var hostJson) && zip.GetEntry(HandlerFromHostJson(hostJson).Executable) is { } handler)
            {
                using var stream = handler.Open();
                stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
            }
            return new PackageContents(modes, json, header);
        }
    }
}
