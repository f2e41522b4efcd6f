using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;

namespace ImFunctions.Bench;

/// <summary>
/// A server under test, in its own process on a free loopback port: the app (fresh data folder, fixed secrets,
/// rate limit raised), the bare-Kestrel baseline, or a peer (EjabberdPeer). Stopped by its pid, SIGTERM first.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    public const string JwtSecret = "bench-legacy-jwt-secret-0123456789abcdef";
    public const string TokenSecret = "bench-imfunctions-token-secret-0123456789";
    public const string HubAccessKey = "bench-local-hub-access-key-0123456789ABCDEFG";

    readonly Process process;
    public int Port { get; }
    public Uri BaseAddress { get; }
    public string LogPath { get; }
    public string? DataDirectory { get; }
    public int Pid => process.Id;

    ServerProcess(Process process, int port, string logPath, string? dataDirectory)
    {
        this.process = process;
        Port = port;
        BaseAddress = new Uri($"http://127.0.0.1:{port}/");
        LogPath = logPath;
        DataDirectory = dataDirectory;
    }

    /// <summary>Starts the app from the build output beside this assembly, with its own data folder.</summary>
    public static Task<ServerProcess> StartAppAsync(string workDirectory, string dataDirectory, IDictionary<string, string>? settings = null)
    {
        Directory.CreateDirectory(dataDirectory);
        var env = new Dictionary<string, string>
        {
            ["DataDirectory"] = dataDirectory,
            ["UniIm__JwtSecret"] = JwtSecret,
            ["Auth__TokenSecret"] = TokenSecret,
            ["LocalHub__AccessKey"] = HubAccessKey,
            ["RateLimit__PermitsPerSecond"] = "1000000",
            ["RateLimit__Burst"] = "1000000",
            // Every bench user logs in from 127.0.0.1: the per-address login limit would refuse the 6th second's logins.
            ["RateLimit__AddressPermitsPerSecond"] = "1000000",
            ["RateLimit__AddressBurst"] = "1000000",
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["DOTNET_ENVIRONMENT"] = "Production",
        };
        foreach (var (k, v) in settings ?? new Dictionary<string, string>()) env[k] = v;
        return StartAsync(Path.Combine(AppContext.BaseDirectory, "ImFunctions.Local.dll"), [], env, workDirectory, "app", dataDirectory);
    }

    /// <summary>
    /// Starts this assembly's bare-Kestrel endpoint (the machine's limit for one JSON POST), with the thread-pool
    /// setting the app's runtimeconfig carries, so that the two differ only in what they do per request.
    /// </summary>
    public static Task<ServerProcess> StartBareAsync(string workDirectory)
    {
        var env = new Dictionary<string, string>();
        if (AppRuntimeSetting("System.Threading.ThreadPool.UnfairSemaphoreSpinLimit") is { } spinLimit)
            env["DOTNET_ThreadPool_UnfairSemaphoreSpinLimit"] = spinLimit;
        return StartAsync(Path.Combine(AppContext.BaseDirectory, "ImFunctions.Bench.dll"), ["bare-server"], env, workDirectory, "bare", null);
    }

    /// <summary>A runtime setting of the app's build (its runtimeconfig.json); null where it keeps the runtime's default.</summary>
    static string? AppRuntimeSetting(string name)
    {
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "ImFunctions.Local.runtimeconfig.json")));
        return config?["runtimeOptions"]?["configProperties"]?[name]?.ToString();
    }

    static Task<ServerProcess> StartAsync(string dll, string[] args, Dictionary<string, string> env, string workDirectory,
        string name, string? dataDirectory)
    {
        if (!File.Exists(dll)) throw new FileNotFoundException($"{dll} is missing: build the bench project first.", dll);
        return LaunchAsync(name, [DotnetHost(), dll, .. args], env, workDirectory, FreePort(), "/", dataDirectory);
    }

    /// <summary>
    /// Starts any server command on a port the caller chose (and wrote into its configuration), logging its output to
    /// the work folder; it is ready when GET <paramref name="readyPath"/> answers 2xx.
    /// </summary>
    public static async Task<ServerProcess> LaunchAsync(string name, IReadOnlyList<string> command, IDictionary<string, string> env,
        string workDirectory, int port, string readyPath, string? dataDirectory = null)
    {
        var log = Path.Combine(workDirectory, $"{name}-{port}.log");
        // exec: the shell becomes the server, so the pid we hold (and measure in /proc) is the server's own.
        // An empty working directory: the content root's config watcher must not see the data folder and log
        // being written (as in Azure, where the app's folder is read-only).
        var cwd = Path.Combine(workDirectory, $"{name}-{port}-cwd");
        Directory.CreateDirectory(cwd);
        var start = new ProcessStartInfo("/bin/sh")
        {
            ArgumentList = { "-c", "exec \"$0\" \"$@\" >\"$LOG_FILE\" 2>&1" },
            UseShellExecute = false,
            WorkingDirectory = cwd,
        };
        foreach (var a in command) start.ArgumentList.Add(a);
        // The generator may run with its own runtime tuning (run.sh turns thread-pool spinning off for it); the
        // servers it measures run with their own settings (the app's runtimeconfig), as they would be deployed.
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("DOTNET_ThreadPool_", StringComparison.Ordinal)).ToList())
            start.Environment.Remove(key);
        foreach (var (k, v) in env) start.Environment[k] = v;
        start.Environment["LOG_FILE"] = log;
        start.Environment["PORT"] = port.ToString();
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start " + command[0]);
        lock (Live) Live.Add(process);
        var server = new ServerProcess(process, port, log, dataDirectory);
        try { await server.WaitUntilReadyAsync(readyPath, TimeSpan.FromSeconds(60)); }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
        return server;
    }

    async Task WaitUntilReadyAsync(string path, TimeSpan timeout)
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            if (process.HasExited)
                throw new InvalidOperationException($"server exited with {process.ExitCode}: {Tail(LogPath)}");
            try
            {
                using var response = await http.GetAsync(path);
                if (response.IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(100);
        }
        throw new TimeoutException($"server on port {Port} did not answer within {timeout}: {Tail(LogPath)}");
    }

    public ProcStats Stats() => ProcStats.Read(process.Id);

    /// <summary>Servers this bench started; killed by pid if the bench itself is stopped (SIGTERM, Ctrl-C).</summary>
    static readonly List<Process> Live = [];

    static ServerProcess()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            lock (Live)
                foreach (var p in Live)
                    try { if (!p.HasExited) p.Kill(); } catch (InvalidOperationException) { }
        };
    }

    public async ValueTask DisposeAsync()
    {
        lock (Live) Live.Remove(process);
        if (!process.HasExited)
        {
            _ = Kill(process.Id, 15);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try { await process.WaitForExitAsync(timeout.Token); }
            catch (OperationCanceledException) { process.Kill(); }
        }
        process.Dispose();
    }

    static string Tail(string path)
    {
        try { var text = File.ReadAllText(path); return text.Length > 2000 ? text[^2000..] : text; }
        catch (IOException) { return "(no log)"; }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The dotnet host that runs this bench (dotnet run starts the apphost, so look on PATH too).</summary>
    static string DotnetHost()
    {
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet") return Environment.ProcessPath!;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
            if (File.Exists(Path.Combine(dir, "dotnet"))) return Path.Combine(dir, "dotnet");
        var root = Environment.GetEnvironmentVariable("DOTNET_ROOT");
        if (root is not null && File.Exists(Path.Combine(root, "dotnet"))) return Path.Combine(root, "dotnet");
        throw new InvalidOperationException("dotnet not found on PATH or DOTNET_ROOT");
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    static extern int Kill(int pid, int signal);
}

/// <summary>One reading of a process's CPU time and memory from /proc (Linux).</summary>
public readonly record struct ProcStats(double CpuSeconds, long RssBytes, int Threads, int OpenFiles)
{
    const double ClockTicks = 100;   // USER_HZ; 100 on every Linux the bench runs on

    public static ProcStats Read(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // After the command name: state is field 3, utime 14, stime 15 (1-based, man proc).
            var cpu = (long.Parse(fields[11]) + long.Parse(fields[12])) / ClockTicks;
            long rss = 0;
            var threads = 0;
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:")) rss = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
                else if (line.StartsWith("Threads:")) threads = int.Parse(line.Split('\t', ' ', StringSplitOptions.RemoveEmptyEntries)[1]);
            }
            var files = Directory.Exists($"/proc/{pid}/fd") ? Directory.GetFiles($"/proc/{pid}/fd").Length : 0;
            return new ProcStats(cpu, rss, threads, files);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return default;
        }
    }

    public static ProcStats Self() => Read(Environment.ProcessId);
}

/// <summary>The whole machine's busy CPU time (all cores) from /proc/stat: to tell our load from everyone else's.</summary>
public readonly record struct MachineCpu(double BusySeconds, double TotalSeconds)
{
    public static MachineCpu Read()
    {
        var line = File.ReadLines("/proc/stat").First();
        var ticks = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(8).Select(long.Parse).ToArray();
        var idle = ticks[3] + ticks[4];
        var total = ticks.Sum();
        return new MachineCpu((total - idle) / 100.0, total / 100.0);
    }
}

/// <summary>CPU use of the server, the generator and everything else over one measured window.</summary>
public sealed class Window
{
    readonly Func<ProcStats> server;
    readonly Stopwatch clock = Stopwatch.StartNew();
    readonly ProcStats serverStart, selfStart;
    readonly MachineCpu machineStart;
    long peakRss, minRss;
    readonly Timer sampler;

    public Window(Func<ProcStats> server)
    {
        this.server = server;
        serverStart = server();
        selfStart = ProcStats.Self();
        machineStart = MachineCpu.Read();
        peakRss = minRss = serverStart.RssBytes;
        sampler = new Timer(_ => Sample(), null, 250, 250);
    }

    void Sample()
    {
        var rss = server().RssBytes;
        long seen;
        while (rss > (seen = Interlocked.Read(ref peakRss)) && Interlocked.CompareExchange(ref peakRss, rss, seen) != seen) { }
        while (rss < (seen = Interlocked.Read(ref minRss)) && Interlocked.CompareExchange(ref minRss, rss, seen) != seen) { }
    }

    public WindowStats Stop()
    {
        sampler.Dispose();
        var seconds = clock.Elapsed.TotalSeconds;
        var serverEnd = server();
        var selfEnd = ProcStats.Self();
        var machineEnd = MachineCpu.Read();
        var serverCpu = (serverEnd.CpuSeconds - serverStart.CpuSeconds) / seconds * 100;
        var selfCpu = (selfEnd.CpuSeconds - selfStart.CpuSeconds) / seconds * 100;
        var machineBusy = (machineEnd.BusySeconds - machineStart.BusySeconds) / seconds * 100;
        return new WindowStats(seconds, serverCpu, selfCpu, Math.Max(0, machineBusy - serverCpu - selfCpu),
            Math.Max(peakRss, serverEnd.RssBytes), serverEnd.RssBytes, Math.Min(Interlocked.Read(ref minRss), serverEnd.RssBytes));
    }
}

/// <param name="ServerCpuPercent">100 = one core busy; the machine has Environment.ProcessorCount cores.</param>
/// <param name="OtherCpuPercent">Everything else on the machine (other builds and tests): the noise to note.</param>
/// <param name="MinRssBytes">The lowest RSS sampled (every 250 ms): the floor the garbage collector comes back to.</param>
public sealed record WindowStats(double Seconds, double ServerCpuPercent, double GeneratorCpuPercent, double OtherCpuPercent,
    long PeakRssBytes, long EndRssBytes, long MinRssBytes);
