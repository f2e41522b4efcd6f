using System.Diagnostics;

namespace ImFunctions.Bench;

/// <summary>
/// The benchmark's entry: <c>dotnet run -c Release --project bench/ImFunctions.Bench -- all</c> (bench/run.sh adds the
/// docs output), <c>-- --smoke</c> for CI. <c>bare-server</c> is the baseline endpoint the bench starts for itself.
/// </summary>
public static class BenchProgram
{
    public static async Task<int> Main(string[] args)
    {
        if (args.FirstOrDefault() == "bare-server")
        {
            await BareServer.RunAsync(int.Parse(Environment.GetEnvironmentVariable("PORT") ?? "7080"));
            return 0;
        }
        // As in the app, before the bench's own seeding and raw-SQLite runs open SQLite: the store scenario measures
        // the store as the app runs it.
        ImFunctions.Core.Storage.Sqlite.SqliteProcessSettings.Apply();
        if (args.Contains("--help") || args.Contains("-h"))
        {
            Console.WriteLine(BenchOptions.Usage);
            return 0;
        }
        BenchOptions options;
        try { options = BenchOptions.Parse(args); }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }
        var report = await RunAsync(options);
        if (options.Smoke && (report.TotalErrors > 0 || report.TotalDelivered == 0))
        {
            Console.Error.WriteLine($"smoke run unhealthy: {report.TotalErrors} errors, {report.TotalDelivered} deliveries");
            return 1;
        }
        return 0;
    }

    public static async Task<BenchReport> RunAsync(BenchOptions options)
    {
        // Micro-benchmarks need an optimized build; everything else is merely slower (and misleading) in Debug.
        if (IsDebugBuild() && !options.Smoke)
            Console.Error.WriteLine("warning: this is a Debug build of the bench; run with -c Release for numbers worth keeping.");
        var clock = Stopwatch.StartNew();
        await using var bench = new Bench(options);
        bench.Report.Command = options.Command;
        bench.Report.Store = options.Store;
        bench.Report.Smoke = options.Smoke;
        Machine.Describe(bench.Report);
        bench.Log($"ImFunctions bench: {string.Join(", ", options.Run)}{(options.Smoke ? " (smoke)" : "")}, store {options.Store}, work dir {bench.WorkDirectory}");
        foreach (var (k, v) in bench.Report.Machine) bench.Log($"  {k}: {v}");

        foreach (var scenario in options.Run)
        {
            switch (scenario)
            {
                case "limit": bench.Report.Load.Add(await LoadScenarios.BareAsync(bench)); break;
                case "send":
                    // Ours and the peer interleaved, each durability next to its match, so the ratios come from one stretch of time.
                    var full = await LoadScenarios.PairsAsync(bench);
                    bench.Report.Load.Add(full);
                    if (!bench.Options.Smoke)
                    {
                        var stock = await EjabberdScenario.PairsAsync(bench, EjabberdDurability.Stock);
                        bench.Report.Load.Add(stock);
                        await LoadScenarios.MatchPeerRateAsync(bench, full, stock);
                    }
                    var normal = await LoadScenarios.PairsNormalAsync(bench);
                    bench.Report.Load.Add(normal);
                    var wal = await EjabberdScenario.PairsAsync(bench, EjabberdDurability.WalNormal);
                    bench.Report.Load.Add(wal);
                    await LoadScenarios.MatchPeerRateAsync(bench, normal, wal, LoadScenarios.NormalDurability);
                    bench.Report.Load.Add(await LoadScenarios.HotAsync(bench));
                    break;
                case "pairs": bench.Report.Load.Add(await LoadScenarios.PairsAsync(bench)); break;
                case "pairs-normal": bench.Report.Load.Add(await LoadScenarios.PairsNormalAsync(bench)); break;
                case "hot": bench.Report.Load.Add(await LoadScenarios.HotAsync(bench)); break;
                case BenchOptions.Peer: bench.Report.Load.AddRange(await EjabberdScenario.RunAsync(bench)); break;
                case "groups": await GroupScenario.RunAsync(bench); break;
                case "connections": await SocketScenario.RunAsync(bench); break;
                case "soak": await SoakScenario.RunAsync(bench); break;
                case "reads": await ReadScenario.RunAsync(bench); break;
                case "store": await StoreScenario.RunAsync(bench); break;
                case "micro": MicroScenario.Run(bench); break;
            }
        }
        bench.Report.Elapsed = clock.Elapsed;
        Reporting.Summarize(bench);
        if (options.MarkdownPath is not null) Reporting.WriteMarkdown(bench.Report, options.MarkdownPath, options.PlotDirectory);
        if (options.JsonPath is not null) Reporting.WriteJson(bench.Report, options.JsonPath);
        bench.Log($"done in {clock.Elapsed.TotalSeconds:0.0} s");
        return bench.Report;
    }

    static bool IsDebugBuild() =>
        typeof(BenchProgram).Assembly.GetCustomAttributes(typeof(DebuggableAttribute), false)
            .OfType<DebuggableAttribute>().Any(d => d.IsJITOptimizerDisabled);
}

/// <summary>What every scenario shares: options, a scratch folder, the report, and how to start a fresh app.</summary>
public sealed class Bench : IAsyncDisposable
{
    public BenchOptions Options { get; }
    public BenchReport Report { get; } = new();
    public string WorkDirectory { get; }

    public Bench(BenchOptions options)
    {
        Options = options;
        WorkDirectory = Path.Combine(Path.GetTempPath(), "imfunctions-bench", DateTime.UtcNow.ToString("yyyyMMdd-HHmmss") + "-" + Environment.ProcessId);
        Directory.CreateDirectory(WorkDirectory);
    }

    AppLease? shared;

    /// <summary>
    /// A fresh app with its own empty data folder; in smoke mode one app serves every scenario (each start costs a
    /// second or two of a ten-second budget), so there "fresh" means fresh for the run (and <paramref name="settings"/>,
    /// the scenario's own app settings, apply only outside smoke mode).
    /// </summary>
    public async Task<AppLease> StartAppAsync(string name, IReadOnlyDictionary<string, string>? settings = null)
    {
        if (Options.Smoke && shared is not null) return shared;
        if (Options.Smoke) name = "shared";
        var environment = new Dictionary<string, string> { ["Storage__Provider"] = Options.Store };
        if (Options.Store == "cosmos") environment = await CosmosPeer.AppSettingsAsync(this, name);
        environment["Storage__Sqlite__Path"] = SqlitePath(name);
        foreach (var (key, value) in settings ?? new Dictionary<string, string>()) environment[key] = value;
        foreach (var (key, value) in Options.AppEnvironment) environment[key] = value;
        var app = new AppLease(await ServerProcess.StartAppAsync(WorkDirectory, DataDirectory(name), environment), SqlitePath(name), owned: !Options.Smoke);
        if (Options.Smoke) shared = app;
        return app;
    }

    public string DataDirectory(string name) => Path.Combine(WorkDirectory, name + "-data");
    public string SqlitePath(string name) => Path.Combine(DataDirectory(name), "imfunctions.db");

    readonly Stopwatch clock = Stopwatch.StartNew();

    public void Log(string line) => Console.WriteLine($"[{clock.Elapsed.TotalSeconds,6:0.0}s] {line}");

    public void Print(string series, LoadStep s) => Log(
        $"  {series,-6} {s.Label,9} offered {s.OfferedRate,7:0}/s  ok {s.AchievedRate,7:0}/s  deliv {s.DeliveredRate,7:0}/s  " +
        $"err {s.Errors,5} lost {s.Lost,4}  http p50 {s.Http.P50,6:0.0} p99 {s.Http.P99,7:0.0} ms  " +
        $"deliver p50 {s.Deliver.P50,6:0.0} p99 {s.Deliver.P99,7:0.0} max {s.Deliver.Max,7:0.0} ms  " +
        $"lag p50/p99 {s.Lag.P50,4:0.0}/{s.Lag.P99,4:0.0}  cpu srv {s.Window.ServerCpuPercent,3:0}% ({s.CpuMsPerRequest:0.00} ms/req) gen {s.Window.GeneratorCpuPercent,3:0}% other {s.Window.OtherCpuPercent,3:0}%  " +
        $"rss {s.Window.PeakRssBytes / 1048576.0,5:0} MiB" +
        (s.Ops is { } ops ? $"  store r/w {ops.PointReads:0.00}/{ops.Writes:0.00}" : "") +
        (s.ErrorSample is { } e ? $"  first error: {e[..Math.Min(160, e.Length)]}" : ""));

    public async ValueTask DisposeAsync()
    {
        if (shared is not null) await shared.Server.DisposeAsync();
        await CosmosPeer.StopAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(WorkDirectory, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}

/// <summary>An app for one scenario; disposing it stops the app unless the run shares it (smoke mode).</summary>
public sealed class AppLease(ServerProcess server, string sqlitePath, bool owned) : IAsyncDisposable
{
    public ServerProcess Server { get; } = server;
    public string SqlitePath { get; } = sqlitePath;
    public int Port => Server.Port;
    public Uri BaseAddress => Server.BaseAddress;
    public ProcStats Stats() => Server.Stats();

    public ValueTask DisposeAsync() => owned ? Server.DisposeAsync() : ValueTask.CompletedTask;
}
