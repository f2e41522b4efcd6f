namespace ImFunctions.Bench;

/// <summary>
/// What to run and how hard. Every scenario is bounded in count and time; <c>--smoke</c> shrinks all of them so the
/// whole run fits in about ten seconds (CI), the default sizes are the ones docs/benchmarks.md reports.
/// </summary>
public sealed record BenchOptions
{
    public static readonly string[] Scenarios = ["limit", "send", "groups", "connections", "soak", "reads", "store", "micro"];
    /// <summary>Run alone: the peer's two configurations (also part of "send", interleaved with ours).</summary>
    public const string Peer = "ejabberd";
    /// <summary>Parts of "send", runnable alone.</summary>
    public static readonly string[] SendShapes = ["pairs", "pairs-normal", "hot"];

    public string[] Run { get; init; } = Scenarios;
    public bool Smoke { get; init; }
    public string Store { get; init; } = "sqlite";
    /// <summary>The markdown file whose results section is rewritten (null: print only).</summary>
    public string? MarkdownPath { get; init; }
    public string? PlotDirectory { get; init; }
    public string? JsonPath { get; init; }
    public string Command { get; init; } = "";
    /// <summary>A folder for one CSV per measured load step: each request's due time and how late it was answered and delivered.</summary>
    public string? TimelineDirectory { get; init; }

    // Send load.
    /// <summary>
    /// The open-loop steps every send series climbs until one does not hold (its peak is the best step that held). Fine
    /// where the peaks are: ours and ejabberd's WAL/NORMAL sit between 1,000 and 2,500 msg/s, where 250 apart a step is
    /// 10-25 % above the last instead of 33-50 % (whether one step held had swung every published ratio by a third), and
    /// ejabberd's stock SQLite at 250-500, hence 375; ours since 2026-12-04 at 5,000-6,500, hence every 500 up to
    /// 8,000. Each step held costs warm-up + duration (7 s) in every series.
    /// </summary>
    public double[] Rates { get; init; } = [250, 375, 500, 750, 1000, 1250, 1500, 1750, 2000, 2250, 2500, 3000, 3500, 4000, 4500, 5000, 5500, 6000, 6500, 7000, 7500, 8000, 12000, 16000, 24000, 32000];
    /// <summary>
    /// The bare endpoint's steps, 4,000 apart (12-17 %) where its peak sits (24,000-40,000 req/s), so that neither side
    /// of the bare ratio is decided by a coarse step of its ladder.
    /// </summary>
    public double[] BareRates { get; init; } = [1000, 2000, 4000, 8000, 12000, 16000, 20000, 24000, 28000, 32000, 36000, 40000, 48000, 64000, 96000];
    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>Untimed load at the first rate before a series' first step: past tiered JIT and first GCs.</summary>
    public TimeSpan ProcessWarmup { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Extra environment for the app (KEY=VALUE), for what-if runs: DOTNET_gcServer=0, Push__Provider=...</summary>
    public Dictionary<string, string> AppEnvironment { get; init; } = new();
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(5);
    public int Pairs { get; init; } = 100;
    public int Connections { get; init; } = 64;
    public int HotConnections { get; init; } = 32;
    /// <summary>Requests waiting for a free connection beyond this are shed and counted as errors (open loop).</summary>
    public int MaxQueued { get; init; } = 20_000;

    // Group send: members per group, and one fixed rate for every size so only the size changes.
    public int[] GroupSizes { get; init; } = [10, 500, 2000];
    public double GroupRate { get; init; } = 10;
    /// <summary>The fan-out target: a group of this many members sending at this rate (issue 17: 500 at 100 msg/s).</summary>
    public int GroupLoadMembers { get; init; } = 500;
    public double GroupLoadRate { get; init; } = 100;

    // Soak: pairs at a steady rate (half of this run's pairs peak unless given), memory read every window.
    public TimeSpan SoakDuration { get; init; } = TimeSpan.FromMinutes(10);
    public TimeSpan SoakWindow { get; init; } = TimeSpan.FromMinutes(1);
    public double? SoakRate { get; init; }

    // Idle sockets.
    public int[] SocketCounts { get; init; } = [1000, 5000, 10000];

    // Read paths.
    public int[] HistorySizes { get; init; } = [10_000, 100_000, 1_000_000];
    /// <summary>
    /// The smallest history is also read in one of this many conversations written side by side, a message of each in
    /// turn, as live traffic stores them (0: not measured).
    /// </summary>
    public int SideBySide { get; init; } = 10;
    /// <summary>The 1:1 conversations of each conversation-list user (besides them, one user sits at the group cap).</summary>
    public int[] ConversationCounts { get; init; } = [100, 10_000];
    /// <summary>The groups each of those users is in, the same for every size: a list call reads all of a user's groups.</summary>
    public int ListGroups { get; init; } = 10;
    public int ReadSamples { get; init; } = 300;

    // Store alone.
    public TimeSpan StoreDuration { get; init; } = TimeSpan.FromSeconds(4);
    public int[] StoreSenders { get; init; } = [1, 4, 16, 64];
    /// <summary>The writer's PRAGMA synchronous settings to run the store at ("full", "normal").</summary>
    public string[] StoreSynchronous { get; init; } = ["full", "normal"];
    /// <summary>Whether the store scenario also runs its raw-SQLite floors (off to strace the store port alone).</summary>
    public bool StoreRaw { get; init; } = true;

    public static BenchOptions Smoke_() => new()
    {
        Smoke = true,
        Run = ["limit", "send", "groups", "connections", "soak", "reads", "store"],
        Rates = [100],
        BareRates = [200],
        Warmup = TimeSpan.FromMilliseconds(200),
        Duration = TimeSpan.FromMilliseconds(700),
        Pairs = 4,
        Connections = 4,
        HotConnections = 4,
        GroupSizes = [10],
        GroupRate = 20,
        GroupLoadMembers = 10,
        GroupLoadRate = 40,
        SoakDuration = TimeSpan.FromSeconds(1),
        SoakWindow = TimeSpan.FromMilliseconds(500),
        SoakRate = 50,
        SocketCounts = [50],
        HistorySizes = [2_000],
        SideBySide = 3,
        ConversationCounts = [50],
        ReadSamples = 20,
        StoreDuration = TimeSpan.FromMilliseconds(300),
        StoreSenders = [2],
    };

    public static BenchOptions Parse(string[] args)
    {
        var smoke = args.Contains("--smoke");
        var options = smoke ? Smoke_() : new BenchOptions();
        var scenarios = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--smoke": break;
                case "all": scenarios.AddRange(smoke ? options.Run : Scenarios); break;
                case var s when Scenarios.Contains(s) || SendShapes.Contains(s) || s == Peer: scenarios.Add(s); break;
                case "--store": options = options with { Store = Next() }; break;
                case "--out": options = options with { MarkdownPath = Next() }; break;
                case "--plots": options = options with { PlotDirectory = Next() }; break;
                case "--json": options = options with { JsonPath = Next() }; break;
                case "--timeline": options = options with { TimelineDirectory = Next() }; break;
                case "--rates": options = options with { Rates = Numbers(Next()) }; break;
                case "--bare-rates": options = options with { BareRates = Numbers(Next()) }; break;
                case "--duration": options = options with { Duration = TimeSpan.FromSeconds(double.Parse(Next())) }; break;
                case "--warmup": options = options with { Warmup = TimeSpan.FromSeconds(double.Parse(Next())) }; break;
                case "--app-env":
                    var pair = Next().Split('=', 2);
                    options.AppEnvironment[pair[0]] = pair.Length > 1 ? pair[1] : "";
                    break;
                case "--process-warmup": options = options with { ProcessWarmup = TimeSpan.FromSeconds(double.Parse(Next())) }; break;
                case "--pairs": options = options with { Pairs = int.Parse(Next()) }; break;
                case "--connections": options = options with { Connections = int.Parse(Next()) }; break;
                case "--hot-connections": options = options with { HotConnections = int.Parse(Next()) }; break;
                case "--group-sizes": options = options with { GroupSizes = Numbers(Next()).Select(n => (int)n).ToArray() }; break;
                case "--group-rate": options = options with { GroupRate = double.Parse(Next()) }; break;
                case "--group-load":
                    var load = Next().Split('@');
                    if (load.Length != 2) throw new ArgumentException("--group-load is MEMBERS@RATE, e.g. 500@100");
                    options = options with { GroupLoadMembers = int.Parse(load[0]), GroupLoadRate = double.Parse(load[1]) };
                    break;
                case "--soak-minutes": options = options with { SoakDuration = TimeSpan.FromMinutes(double.Parse(Next())) }; break;
                case "--soak-rate": options = options with { SoakRate = double.Parse(Next()) }; break;
                case "--sockets": options = options with { SocketCounts = Numbers(Next()).Select(n => (int)n).ToArray() }; break;
                case "--history": options = options with { HistorySizes = Numbers(Next()).Select(n => (int)n).ToArray() }; break;
                case "--side-by-side": options = options with { SideBySide = int.Parse(Next()) }; break;
                case "--senders": options = options with { StoreSenders = Numbers(Next()).Select(n => (int)n).ToArray() }; break;
                case "--synchronous": options = options with { StoreSynchronous = Next().ToLowerInvariant().Split(',', StringSplitOptions.RemoveEmptyEntries) }; break;
                case "--no-raw": options = options with { StoreRaw = false }; break;
                case "--conversations": options = options with { ConversationCounts = Numbers(Next()).Select(n => (int)n).ToArray() }; break;
                case "--list-groups": options = options with { ListGroups = int.Parse(Next()) }; break;
                default: throw new ArgumentException($"Unknown argument '{args[i]}'. {Usage}");
            }
        }
        if (options.Store is not ("sqlite" or "cosmos")) throw new ArgumentException("--store must be sqlite or cosmos");
        if (options.StoreSynchronous.Any(s => s is not ("full" or "normal"))) throw new ArgumentException("--synchronous must be full, normal or full,normal");
        return options with
        {
            Run = scenarios.Count > 0 ? scenarios.Distinct().ToArray() : options.Run,
            Command = Environment.GetEnvironmentVariable("BENCH_COMMAND")
                ?? "dotnet run -c Release --project bench/ImFunctions.Bench -- " + string.Join(' ', args),
        };
    }

    static double[] Numbers(string list) => list.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(double.Parse).ToArray();

    public const string Usage = """
        usage: ImFunctions.Bench [all|limit|send|pairs|pairs-normal|hot|ejabberd|groups|connections|soak|reads|store|micro ...] [--smoke] [--store sqlite|cosmos]
               [--out docs/benchmarks.md] [--plots docs/img] [--json results.json] [--timeline dir]
               [--rates 250,500,...] [--bare-rates ...] [--duration s] [--warmup s] [--pairs n] [--connections n]
               [--hot-connections n] [--process-warmup s] [--app-env KEY=VALUE ...] [--group-sizes 10,500,2000] [--group-rate 10]
               [--group-load 500@100] [--soak-minutes 10] [--soak-rate n (default: half of this run's pairs peak, else 1000)]
               [--sockets 1000,5000,10000] [--history 10000,100000,1000000] [--side-by-side 10] [--conversations 100,10000] [--list-groups 10]
               [--senders 1,4,16,64] [--synchronous full,normal] [--no-raw]
        Scenarios run in the order given; with none, all of them. bench/run.sh runs everything and updates docs/.
        send: pairs (SQLite FULL), ejabberd on its stock SQLite, pairs-normal, ejabberd on WAL/NORMAL, hot — ours and the
        peer interleaved. ejabberd: the peer's two configurations alone; needs the ejabberd and erlang-p1-sqlite3
        packages (bench/run.sh installs them).
        """;
}
