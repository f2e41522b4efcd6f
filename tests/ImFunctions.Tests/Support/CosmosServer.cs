using System.Diagnostics;
using System.Text;

namespace ImFunctions.Tests.Support;

/// <summary>
/// The Cosmos DB-compatible server (tests/node/cosmos-server.js) on a free loopback port, stopped by pid.
/// <see cref="SharedAsync"/> is the one the whole test run shares, started on first use and stopped when the run
/// ends; a test that must kill a server starts its own.
/// </summary>
public sealed class CosmosServer : IDisposable
{
    /// <summary>The server ignores keys; the SDK only needs a base64 one.</summary>
    public static readonly string Key = Convert.ToBase64String("the-local-server-ignores-keys"u8);

    static readonly SemaphoreSlim SharedLock = new(1, 1);
    static CosmosServer? shared;

    readonly Process process;
    readonly StringBuilder output = new();

    public Uri Endpoint { get; private set; } = null!;

    CosmosServer(Process process) => this.process = process;

    public static async Task<CosmosServer> SharedAsync()
    {
        await SharedLock.WaitAsync();
        try
        {
            if (shared is not null) return shared;
            var server = shared = await StartAsync();
            // The end of the test run; a crashed run closes the server's stdin, which stops it as well.
            AppDomain.CurrentDomain.ProcessExit += (_, _) => server.Dispose();
            return server;
        }
        finally { SharedLock.Release(); }
    }

    public static async Task<CosmosServer> StartAsync()
    {
        await NodeTools.EnsureInstalledAsync();
        // --port 0: the OS picks a free port and the ready line says which. Closing our end of stdin stops it too.
        var server = new CosmosServer(new Process
        {
            StartInfo = new ProcessStartInfo("node", "cosmos-server.js --port 0 --host 127.0.0.1 --exit-with-stdin")
            {
                WorkingDirectory = NodeTools.PackageDirectory,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            },
            EnableRaisingEvents = true,
        });
        var ready = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        server.process.OutputDataReceived += (_, e) => server.Collect(e.Data, ready);
        server.process.ErrorDataReceived += (_, e) => server.Collect(e.Data, ready);
        server.process.Exited += (_, _) => ready.TrySetException(new InvalidOperationException("cosmos-server.js exited"));
        server.process.Start();
        server.process.BeginOutputReadLine();
        server.process.BeginErrorReadLine();

        if (await Task.WhenAny(ready.Task, Task.Delay(TimeSpan.FromSeconds(30))) != ready.Task || ready.Task.IsFaulted)
        {
            server.Dispose();
            Assert.Fail($"tests/node/cosmos-server.js did not start:\n{server.Logged()}");
        }
        server.Endpoint = await ready.Task;
        return server;
    }

    /// <summary>What the server printed, for failure messages.</summary>
    public string Logged()
    {
        lock (output) return output.ToString();
    }

    void Collect(string? line, TaskCompletionSource<Uri> ready)
    {
        if (line is null) return;
        lock (output) output.AppendLine(line);
        const string Ready = "cosmos-server ready at ";
        if (line.StartsWith(Ready, StringComparison.Ordinal)) ready.TrySetResult(new Uri(line[Ready.Length..].Trim()));
    }

    public void Dispose()
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill();
                process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException) { }   // it exited on its own meanwhile
        process.Dispose();
    }
}
