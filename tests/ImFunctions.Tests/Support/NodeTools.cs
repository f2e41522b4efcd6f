using System.Diagnostics;

namespace ImFunctions.Tests.Support;

/// <summary>
/// The npm packages under tests/node (pinned by its lockfile): installed on first use, so `dotnet test` alone
/// works too. A machine without node or npm fails the tests that need them, with how to get them.
/// </summary>
public static class NodeTools
{
    static readonly SemaphoreSlim InstallLock = new(1, 1);
    static bool installed;

    public static string PackageDirectory { get; } = FindPackageDirectory();

    public static async Task EnsureInstalledAsync()
    {
        await InstallLock.WaitAsync();
        try
        {
            if (installed) return;
            RequireTool("node");
            if (!File.Exists(Path.Combine(PackageDirectory, "node_modules", ".package-lock.json")))
            {
                RequireTool("npm");
                var (code, output) = await RunAsync("npm", "ci --no-audit --no-fund", PackageDirectory, TimeSpan.FromMinutes(5));
                if (code != 0) Assert.Fail($"npm ci in {PackageDirectory} failed ({code}):\n{output}");
            }
            installed = true;
        }
        finally
        {
            InstallLock.Release();
        }
    }

    static void RequireTool(string tool)
    {
        var found = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Any(dir => File.Exists(Path.Combine(dir, tool)));
        if (!found)
            Assert.Fail($"'{tool}' is not on PATH. These tests run real Node.js peers: install Node.js 20+ with npm " +
                        "(e.g. `apt-get install nodejs npm`), then run the test command again.");
    }

    public static async Task<(int ExitCode, string Output)> RunAsync(string file, string arguments, string workingDirectory, TimeSpan timeout)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try { await process.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"timed out after {timeout}\n{await stdout}\n{await stderr}");
        }
        return (process.ExitCode, await stdout + await stderr);
    }

    static string FindPackageDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "node");
            if (File.Exists(Path.Combine(candidate, "package.json"))) return candidate;
        }
        throw new DirectoryNotFoundException("tests/node/package.json not found above " + AppContext.BaseDirectory);
    }
}
