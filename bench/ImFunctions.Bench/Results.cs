namespace ImFunctions.Bench;

/// <summary>Store round trips and pushes queued per request, read from the app's own request log (RequestLog counts them).</summary>
public sealed record RequestCost(int Requests, double PointReads, double Queries, double Writes, int MaxPointReads, int MaxWrites, double Pushes);

/// <summary>One fixed-rate step: what was offered, what came back, how fast, at what cost.</summary>
public sealed record LoadStep(
    string Label, double OfferedRate, double AchievedRate, double DeliveredRate, int Requests, int Errors, int Lost,
    Percentiles Http, Percentiles Deliver, Percentiles Lag, WindowStats Window, RequestCost? Ops, string? ErrorSample)
{
    /// <summary>
    /// The server keeps up: it answers (and, with receivers, delivers) at least 90% of the offered rate, fails at most
    /// 1%, and the median request and delivery do not wait behind a growing queue (p50 under 100 ms).
    /// </summary>
    public bool Holds => AchievedRate >= 0.9 * OfferedRate && Errors <= Math.Max(1, Requests / 100) && Http.P50 <= 100
        && (Deliver.Count == 0 || (DeliveredRate >= 0.9 * OfferedRate && Deliver.P50 <= 100));

    /// <summary>Server CPU time per answered request, in ms: the cost of a request, and less noisy than latency.</summary>
    public double CpuMsPerRequest => AchievedRate > 0 ? Window.ServerCpuPercent * 10 / AchievedRate : double.NaN;
}

public sealed record LoadSeries(string Name, string Description, List<LoadStep> Steps)
{
    /// <summary>The best sustained throughput: the highest rate answered by a step that held (see <see cref="LoadStep.Holds"/>).</summary>
    public double Peak => Held.Select(s => s.AchievedRate).DefaultIfEmpty(0).Max();
    /// <summary>The ladder's steps that held (the half-peak step is not one of them).</summary>
    public IEnumerable<LoadStep> Held => Steps.Where(s => s.Holds && s.Label != "half-peak");
    public LoadStep? HalfPeak => Steps.FirstOrDefault(s => s.Label == "half-peak");
}

public sealed record SocketLevel(int Sockets, long RssBytes, long BaselineRssBytes, int ServerThreads, double ConnectSeconds,
    double IdleCpuPercent, int Failed)
{
    public double KibPerSocket => Sockets == 0 ? 0 : (RssBytes - BaselineRssBytes) / 1024.0 / Sockets;
}

/// <summary>
/// One read case: <paramref name="DataSize"/> is the conversation's messages (getMsgList) or the user's 1:1
/// conversations (list and badge), <paramref name="Groups"/> the groups that user is in besides.
/// </summary>
public sealed record ReadCase(string Path, string Case, long DataSize, long TotalRows, Percentiles Latency, int Groups = 0);

public sealed record SeedTiming(string What, long Rows, double Seconds);

/// <summary>
/// A store-alone run; <paramref name="Synchronous"/> is the writer's PRAGMA synchronous, CommitsPerSend the transactions
/// committed per send, CpuMsPerSend this process's CPU time (all threads) per send.
/// </summary>
public sealed record StoreRate(string Name, string Description, string Synchronous, int Concurrency, double OpsPerSecond, double CommitsPerSend,
    double CpuMsPerSend, Percentiles Latency);

/// <summary>Group send at one size: the constant costs per send (store ops in Step.Ops, push calls handed to the dispatcher) and the fan-out.</summary>
public sealed record GroupSend(int Members, double SetupSeconds, int Sends, double PushCallsPerSend, LoadStep Step)
{
    /// <summary>Messages that reached every member in the measured window, times the members: one socket write each.</summary>
    public double DeliveriesPerSecond => Step.DeliveredRate * Members;
}

/// <summary>A steady load held for minutes: one step per window, the app's memory sampled through each window.</summary>
public sealed record Soak(double Rate, List<LoadStep> Windows)
{
    // RSS saws up and down by 20-30 % with the garbage collector (measured: 41 → 76 → 37 MiB of anonymous memory within
    // three minutes at 1,000 msg/s), so two instants say little. What a leak or an unbounded cache raises is the floor
    // each window comes back down to: the lowest RSS sampled in it.

    /// <summary>The second window's RSS floor: past warm-up, the level the rest should stay at.</summary>
    public long SettledRssBytes => Windows.Count > 1 ? Windows[1].Window.MinRssBytes : 0;
    /// <summary>The last window's RSS floor.</summary>
    public long EndRssBytes => Windows.Count > 0 ? Windows[^1].Window.MinRssBytes : 0;
    public double Growth => SettledRssBytes > 0 ? (double)(EndRssBytes - SettledRssBytes) / SettledRssBytes : double.NaN;
    public bool AllHeld => Windows.Count > 0 && Windows.All(w => w.Holds);
    public bool Flat => Growth <= 0.05;
}

/// <summary>
/// This hour's disk (<see cref="DiskProbe"/>): a sync's latency alone and beside a neighbour writing
/// <paramref name="NeighbourMBps"/> to another file.
/// </summary>
public sealed record DiskSync(Percentiles Alone, Percentiles Beside, double NeighbourMBps);

public sealed record MicroResult(string Name, double MeanNs, double AllocatedBytes);

public sealed class BenchReport
{
    public DateTimeOffset Started { get; } = DateTimeOffset.Now;
    public string Command { get; set; } = "";
    public string Store { get; set; } = "sqlite";
    public bool Smoke { get; set; }
    public Dictionary<string, string> Machine { get; } = new();
    public List<LoadSeries> Load { get; } = [];
    public List<SocketLevel> Sockets { get; } = [];
    public List<ReadCase> Reads { get; } = [];
    public List<SeedTiming> Seeding { get; } = [];
    public List<StoreRate> StoreRates { get; } = [];
    public List<GroupSend> Groups { get; } = [];
    public List<MicroResult> Micro { get; } = [];
    public Soak? Soak { get; set; }
    public DiskSync? Disk { get; set; }
    public List<string> Notes { get; } = [];
    public TimeSpan Elapsed { get; set; }

    public LoadSeries? Series(string name) => Load.FirstOrDefault(s => s.Name == name);

    /// <summary>Every error the run saw; smoke mode and the CI test require none.</summary>
    public int TotalErrors => AllSteps.Sum(x => x.Errors + x.Lost) + Sockets.Sum(s => s.Failed);
    /// <summary>Errors below saturation: a step past the peak is expected to fail some requests, these are not.</summary>
    public int ErrorsBelowSaturation => AllSteps.Where(x => x.Holds).Sum(x => x.Errors + x.Lost) + Sockets.Sum(s => s.Failed);
    public long TotalDelivered => AllSteps.Sum(x => (long)x.Deliver.Count);

    IEnumerable<LoadStep> AllSteps => Load.SelectMany(s => s.Steps).Concat(Groups.Select(g => g.Step)).Concat(Soak?.Windows ?? []);
}
