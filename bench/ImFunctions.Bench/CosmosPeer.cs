using System.Diagnostics;

namespace ImFunctions.Bench;

/// <summary>
/// With <c>--store cosmos</c>: the local Cosmos-compatible server from tests/node (the one the test suite uses),
/// started once per bench run on a free port and stopped by its pid; each app instance gets its own database.
/// Request units cannot be measured against it: its latency and throughput say nothing about Azure's.
/// </summary>
public static class CosmosPeer
{
    const string Ready = "cosmos-server ready at ";
    static Process? server;
    static Uri? endpoint;

    public static async Task<Dictionary<string, string>> AppSettingsAsync(Bench bench, string name)
    {
        endpoint ??= await StartAsync(bench);
        return new Dictionary<string, string>
        {
            ["Storage__Provider"] = "cosmos",
            ["Cosmos__Endpoint"] = endpoint.ToString(),
            ["Cosmos__Key"] = Convert.ToBase64String("the-local-server-ignores-keys"u8),
            ["Cosmos__Database"] = $"bench-{name}-{Environment.ProcessId}",
            ["Cosmos__TrustLocalCertificate"] = "true",
        };
    }

    static async Task<Uri> StartAsync(Bench bench)
    {
        var directory = Path.Combine(RepositoryRoot(), "tests", "node");
        if (!File.Exists(Path.Combine(directory, "cosmos-server.js")))
            throw new InvalidOperationException($"--store cosmos needs {directory}/cosmos-server.js, which this checkout does not have.");
        if (!File.Exists(Path.Combine(directory, "node_modules", ".package-lock.json")))
        {
            bench.Log("  cosmos    npm ci in tests/node");
            using var npm = Process.Start(new ProcessStartInfo("npm", "ci --no-audit --no-fund") { WorkingDirectory = directory })!;
            await npm.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
            if (npm.ExitCode != 0) throw new InvalidOperationException("npm ci in tests/node failed");
        }
        var ready = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        server = new Process
        {
            StartInfo = new ProcessStartInfo("node", "cosmos-server.js --port 0 --host 127.0.0.1 --exit-with-stdin")
            {
                WorkingDirectory = directory,
                RedirectStandardInput = true,   // closing it (or our exit) stops the server
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            },
        };
        server.OutputDataReceived += (_, e) =>
        {
            if (e.Data?.StartsWith(Ready, StringComparison.Ordinal) == true) ready.TrySetResult(new Uri(e.Data[Ready.Length..].Trim()));
        };
        server.ErrorDataReceived += (_, _) => { };
        server.Start();
        server.BeginOutputReadLine();
        server.BeginErrorReadLine();
        var uri = await ready.Task.WaitAsync(TimeSpan.FromSeconds(30));
        bench.Log($"  cosmos    local server at {uri} (pid {server.Id})");
        bench.Report.Notes.Add("store: the local Cosmos-compatible server (tests/node/cosmos-server.js, single-threaded Node); its numbers are this emulator's, not Azure Cosmos DB's, and RU cannot be measured.");
        return uri;
    }

    public static async Task StopAsync()
    {
        if (server is null) return;
        try
        {
            server.StandardInput.Close();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try { await server.WaitForExitAsync(timeout.Token); }
            catch (OperationCanceledException) { server.Kill(); }
        }
        catch (InvalidOperationException) { }
        server.Dispose();
        server = null;
        endpoint = null;
    }

    public static string RepositoryRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "ImFunctions.sln"))) return dir.FullName;
        throw new InvalidOperationException("cannot find the repository root (ImFunctions.sln) from here");
    }
}
