using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Text;

namespace ImFunctions.Tests.Support;

/// <summary>
/// The built local host (ImFunctions.Local.dll) as a process of its own, on a data folder the test chooses, so a
/// test can kill it with SIGKILL and start another on the same folder. Stopped by its pid.
/// </summary>
public sealed class LocalHostProcess : IAsyncDisposable
{
    readonly Process process;
    readonly StringBuilder output = new();

    public Uri BaseAddress { get; }

    LocalHostProcess(Process process, Uri baseAddress)
    {
        this.process = process;
        BaseAddress = baseAddress;
    }

    static string Dll => typeof(LocalHostProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "LocalHostAssembly").Value!;

    public static async Task<LocalHostProcess> StartAsync(string dataDirectory)
    {
        Assert.That(File.Exists(Dll), Is.True, $"{Dll} is missing; the test project builds it through its project reference");
        var port = FreePort();
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { Dll },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            // The content root's file watcher must not see the data folder being written.
            WorkingDirectory = Directory.CreateDirectory(Path.Combine(dataDirectory, "..", Path.GetFileName(dataDirectory) + "-cwd")).FullName,
        };
        var settings = new Dictionary<string, string>
        {
            ["DataDirectory"] = dataDirectory,
            ["PORT"] = port.ToString(),
            ["UniIm__JwtSecret"] = TestApp.JwtSecret,
            ["Auth__TokenSecret"] = TestApp.TokenSecret,
            ["LocalHub__AccessKey"] = TestApp.HubAccessKey,
            ["RateLimit__Burst"] = "100000",
            ["RateLimit__PermitsPerSecond"] = "100000",
            ["RateLimit__AddressBurst"] = "100000",
            ["RateLimit__AddressPermitsPerSecond"] = "100000",
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["DOTNET_ENVIRONMENT"] = "Production",
        };
        foreach (var (key, value) in settings) start.Environment[key] = value;
        var server = new LocalHostProcess(Process.Start(start)!, new Uri($"http://127.0.0.1:{port}/"));
        server.process.OutputDataReceived += (_, e) => server.Collect(e.Data);
        server.process.ErrorDataReceived += (_, e) => server.Collect(e.Data);
        server.process.BeginOutputReadLine();
        server.process.BeginErrorReadLine();
        await server.WaitUntilHealthyAsync(TimeSpan.FromSeconds(60));
        return server;
    }

    async Task WaitUntilHealthyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (process.HasExited) Assert.Fail($"the local host exited with {process.ExitCode}:\n{Logged()}");
            try
            {
                using var response = await http.GetAsync("api/health");
                if (response.IsSuccessStatusCode) return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
            await Task.Delay(100);
        }
        await DisposeAsync();
        Assert.Fail($"the local host did not answer api/health within {timeout}:\n{Logged()}");
    }

    /// <summary>SIGKILL: no shutdown hooks, no flush; what the OS already holds is all that survives.</summary>
    public async Task KillAsync()
    {
        process.Kill();   // SIGKILL on Linux
        await process.WaitForExitAsync();
    }

    /// <summary>What the server printed, for failure messages (its last 4,000 characters).</summary>
    public string Logged()
    {
        lock (output) return output.Length > 4000 ? output.ToString(output.Length - 4000, 4000) : output.ToString();
    }

    void Collect(string? line)
    {
        if (line is null) return;
        lock (output) output.AppendLine(line);
    }

    static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
        process.Dispose();
    }
}
