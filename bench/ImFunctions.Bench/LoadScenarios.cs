using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace ImFunctions.Bench;

/// <summary>
/// sendMsg under open-loop load, step by step, with receivers on WebSockets timing each delivery; and the same
/// generator against the bare-Kestrel endpoint, which is the most this machine can answer.
/// </summary>
public static class LoadScenarios
{
    internal const string Text = "bench message: the quick brown fox jumps over the lazy dog 0123456789";
    /// <summary>sendMsg as the app's request log names it (the method, not the path).</summary>
    public const string SendMethod = "sendMsg";
    static int runIds;

    /// <summary>One step's bookkeeping, shared by the generator and the receivers' socket loops.</summary>
    internal sealed class StepState(int run, OpenLoop.Timeline timeline)
    {
        public readonly int Run = run;
        public readonly OpenLoop.Timeline Timeline = timeline;

        /// <summary>The request index of a pushed message this step sent (client_msg_id "run.index"), or -1.</summary>
        public int IndexOf(JsonElement message) =>
            message.TryGetProperty("client_msg_id", out var value) && value.GetString() is { } id ? IndexOf(id) : -1;

        /// <summary>The request index in an id "run.index" this step made, or -1.</summary>
        public int IndexOf(ReadOnlySpan<char> id)
        {
            var dot = id.IndexOf('.');
            if (dot < 0 || !int.TryParse(id[..dot], out var run) || run != Run) return -1;
            return int.TryParse(id[(dot + 1)..], out var index) && index >= 0 && index < Timeline.Count ? index : -1;
        }
    }

    public static async Task<LoadSeries> BareAsync(Bench bench)
    {
        var o = bench.Options;
        await using var server = await ServerProcess.StartBareAsync(bench.WorkDirectory);
        var series = new LoadSeries(Bare, "bare Kestrel: POST /api/sendMsg reads the same JSON body, answers 200", []);
        var body = Encoding.UTF8.GetBytes(SendBody("0123456789abcdef01234567", "bare.0"));
        var request = RawHttpConnection.Post(server.Port, "/api/sendMsg", "bench-token-of-typical-length-" + new string('x', 300), body);
        // A fresh process runs tier-0 code for its first seconds: warm it up untimed at the first rate.
        if (!o.Smoke) await RunStepAsync(bench, server, "warm-up", o.BareRates[0], o.Connections, _ => request, null, null, o.ProcessWarmup);
        foreach (var rate in o.BareRates)
        {
            var step = await RunStepAsync(bench, server, rate.ToString("0"), rate, o.Connections, _ => request, null, null);
            series.Steps.Add(step);
            bench.Print(series.Name, step);
            if (!step.Holds) break;
        }
        return series;
    }

    /// <summary>Series names the targets are judged by.</summary>
    public const string Pairs = "pairs", PairsNormal = "pairs-normal", Hot = "hot", Bare = "bare";

    /// <summary>The app's SQLite setting for the NORMAL-durability pairs run (the default is FULL).</summary>
    public static readonly IReadOnlyDictionary<string, string> NormalDurability =
        new Dictionary<string, string> { ["Storage__Sqlite__Synchronous"] = "Normal" };

    /// <summary>Many 1:1 pairs: sender i talks to receiver i, every receiver holds a socket; the store at its default (FULL) durability.</summary>
    public static async Task<LoadSeries> PairsAsync(Bench bench)
    {
        // A FULL send waits for a sync of the disk: the hour's sync latency goes beside FULL's (DiskProbe).
        bench.Report.Disk = DiskProbe.Measure(bench, bench.Options.Smoke ? TimeSpan.FromMilliseconds(200) : TimeSpan.FromSeconds(4));
        return await SendSeriesAsync(bench, Pairs, $"{bench.Options.Pairs} 1:1 pairs, {bench.Options.Pairs} receivers on WebSockets, {bench.Options.Connections} HTTP connections, SQLite synchronous=FULL (default)",
            bench.Options.Pairs, bench.Options.Connections, hot: false);
    }

    /// <summary>The same pairs with the store at <c>synchronous=NORMAL</c> (survives kill -9, not a power cut): the match for ejabberd on WAL/NORMAL.</summary>
    public static Task<LoadSeries> PairsNormalAsync(Bench bench) =>
        SendSeriesAsync(bench, PairsNormal, $"as {Pairs}, SQLite synchronous=NORMAL",
            bench.Options.Pairs, bench.Options.Connections, hot: false, NormalDurability);

    /// <summary>One conversation, both sides sending from many connections at once: every send races for the next seq.</summary>
    public static Task<LoadSeries> HotAsync(Bench bench) =>
        SendSeriesAsync(bench, Hot, $"one conversation, both users sending over {bench.Options.HotConnections} concurrent connections (seq contention)",
            1, bench.Options.HotConnections, hot: true);

    static async Task<LoadSeries> SendSeriesAsync(Bench bench, string name, string description, int pairs, int connections, bool hot,
        IReadOnlyDictionary<string, string>? settings = null)
    {
        await using var rig = await SendRig.StartAsync(bench, name, pairs, hot, settings);
        return await rig.ClimbAsync(new LoadSeries(name, description, []), connections);
    }

    /// <summary>The label of a step run at a peer's peak rate, off our ladder (<see cref="MatchPeerRateAsync"/>).</summary>
    public const string AtPeerPeak = "at-peer-peak";

    /// <summary>
    /// CPU per message is compared at a rate both series held. When the peer held none of our ladder's rates (ejabberd
    /// fsyncing every commit steps down below our first rate), our series gets one more step at the peer's highest
    /// held rate, in a fresh app warmed up as the ladder's was; otherwise nothing runs.
    /// </summary>
    public static async Task MatchPeerRateAsync(Bench bench, LoadSeries ours, LoadSeries peer, IReadOnlyDictionary<string, string>? settings = null)
    {
        if (bench.Options.Smoke || Reporting.CommonStep(ours, peer).Ours is not null) return;
        if (peer.Held.MaxBy(s => s.OfferedRate) is not { } top) return;
        await using var rig = await SendRig.StartAsync(bench, ours.Name + "-at-peer", bench.Options.Pairs, hot: false, settings);
        await rig.StepAsync("warm-up", bench.Options.Rates[0], bench.Options.Connections, bench.Options.ProcessWarmup);
        var step = await rig.StepAsync(AtPeerPeak, top.OfferedRate, bench.Options.Connections);
        ours.Steps.Add(step);
        bench.Print(ours.Name, step);
    }

    /// <summary>Half of a peak, rounded to tens: the rate latency targets are judged at.</summary>
    public static double HalfOf(double peak) => Math.Max(10, Math.Round(peak / 2 / 10) * 10);

    /// <summary>
    /// A fresh app with its senders logged in and its receivers on sockets, ready to run sendMsg steps: the pairs, the
    /// hot conversation and the soak share it.
    /// </summary>
    public sealed class SendRig : IAsyncDisposable
    {
        readonly Bench bench;
        readonly AppLease app;
        readonly ImClient client;
        readonly BenchUser[] senders, receivers;
        readonly List<PushReceiver> sockets = [];
        readonly int pairs;
        readonly bool hot;
        StepState? current;

        SendRig(Bench bench, AppLease app, BenchUser[] senders, BenchUser[] receivers, int pairs, bool hot)
        {
            (this.bench, this.app, this.senders, this.receivers, this.pairs, this.hot) = (bench, app, senders, receivers, pairs, hot);
            client = new ImClient(app.BaseAddress);
        }

        public ServerProcess Server => app.Server;

        public static async Task<SendRig> StartAsync(Bench bench, string name, int pairs, bool hot, IReadOnlyDictionary<string, string>? settings = null)
        {
            var app = await bench.StartAppAsync(name, settings);
            try
            {
                using var setup = new ImClient(app.BaseAddress);
                var senders = await setup.LoginManyAsync($"{name}-s", pairs);
                var receivers = await setup.LoginManyAsync($"{name}-r", pairs);
                var rig = new SendRig(bench, app, senders, receivers, pairs, hot);
                await rig.ListenAsync();
                return rig;
            }
            catch
            {
                await app.DisposeAsync();
                throw;
            }
        }

        async Task ListenAsync()
        {
            foreach (var user in hot ? [senders[0], receivers[0]] : receivers)
            {
                var url = await client.NegotiateAsync(user);
                sockets.Add(await PushReceiver.ConnectAsync(url, (data, at) => OnMessage(user.Uid, data, at)));
            }
        }

        // Receivers time each message at their socket and match it to its send by client_msg_id ("run.index").
        void OnMessage(string myUid, JsonElement data, long arrived)
        {
            if (data.GetProperty("event").GetString() != "msg") return;
            var message = data.GetProperty("data");
            if (message.GetProperty("to_uid").GetString() != myUid) return;   // the sender's own copy
            if (Volatile.Read(ref current) is { } step && step.IndexOf(message) is var index and >= 0) step.Timeline.Delivered[index] = arrived;
        }

        // Requests are prebuilt per pair and direction; only client_msg_id changes per request.
        byte[] Build(int run, int i)
        {
            var pair = i % pairs;
            var (from, to) = hot && i % 2 == 1 ? (receivers[0], senders[0]) : (senders[pair], receivers[pair]);
            return RawHttpConnection.Post(app.Port, "/api/sendMsg", from.Token, Encoding.UTF8.GetBytes(SendBody(to.Uid, $"{run}.{i}")));
        }

        public Task<LoadSeries> ClimbAsync(LoadSeries series, int connections) =>
            LoadScenarios.ClimbAsync(bench, app.Server, series, connections, Build, s => Volatile.Write(ref current, s));

        public Task<LoadStep> StepAsync(string label, double rate, int connections, TimeSpan? length = null) =>
            SendStepAsync(bench, app.Server, label, rate, connections, Build, s => Volatile.Write(ref current, s), length);

        public async ValueTask DisposeAsync()
        {
            foreach (var socket in sockets) await socket.DisposeAsync();
            client.Dispose();
            await app.DisposeAsync();
        }
    }

    /// <summary>
    /// The pause between the step that failed and the half-peak step, which measures the steady state at half of the
    /// peak, not the way out of the overload the climb ends with. FULL's half-peak p99 read 10–23 ms after it (median
    /// 13) and 11–59 ms without it (median 21) in eleven interleaved runs of each. What it lets settle is not known:
    /// the app is idle, nothing writes and a probe's syncs are as fast as when idle within half a second of the load
    /// (docs/benchmarks.md, <i>The half-peak step, after a pause</i>).
    /// </summary>
    internal static readonly TimeSpan SettleBeforeHalfPeak = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The ladder every send series climbs: an untimed warm-up at the first rate (past tiered JIT and first GCs), the
    /// rates in turn until a step does not hold, then one step at half the peak, <see cref="SettleBeforeHalfPeak"/>
    /// later. A server that cannot hold even the first rate (ejabberd fsyncing every commit on a slow disk) is stepped
    /// down by halves, so it still has a peak.
    /// </summary>
    internal static async Task<LoadSeries> ClimbAsync(Bench bench, ServerProcess server, LoadSeries series, int connections,
        Func<int, int, byte[]> build, Action<StepState?> setCurrent, Func<byte[], bool>? accepts = null)
    {
        var o = bench.Options;
        if (!o.Smoke) await SendStepAsync(bench, server, "warm-up", o.Rates[0], connections, build, setCurrent, o.ProcessWarmup, accepts);
        foreach (var rate in o.Rates)
        {
            var step = await SendStepAsync(bench, server, rate.ToString("0"), rate, connections, build, setCurrent, accepts: accepts);
            series.Steps.Add(step);
            bench.Print(series.Name, step);
            if (!step.Holds) break;
        }
        for (var rate = o.Rates[0] / 2; !o.Smoke && series.Peak == 0 && rate >= o.Rates[0] / 16; rate /= 2)
        {
            var step = await SendStepAsync(bench, server, rate.ToString("0"), rate, connections, build, setCurrent, accepts: accepts);
            series.Steps.Add(step);
            bench.Print(series.Name, step);
        }
        if (!o.Smoke && series.Peak > 0)
        {
            await Task.Delay(SettleBeforeHalfPeak);
            var step = await SendStepAsync(bench, server, "half-peak", HalfOf(series.Peak), connections, build, setCurrent, accepts: accepts);
            series.Steps.Add(step);
            bench.Print(series.Name, step);
        }
        return series;
    }

    /// <summary>A step of sendMsg whose receivers mark <c>Timeline.Delivered</c>; it waits (bounded) for deliveries that trail.</summary>
    internal static async Task<LoadStep> SendStepAsync(Bench bench, ServerProcess app, string label, double rate, int connections,
        Func<int, int, byte[]> build, Action<StepState?> setCurrent, TimeSpan? length = null, Func<byte[], bool>? accepts = null)
    {
        var run = Interlocked.Increment(ref runIds);
        StepState? state = null;
        return await RunStepAsync(bench, app, label, rate, connections, i => build(run, i),
            timeline => setCurrent(state = new StepState(run, timeline)),
            async timeline =>
            {
                // Deliveries may trail the last response a little; wait for them, bounded.
                var deadline = Stopwatch.StartNew();
                while (deadline.Elapsed < TimeSpan.FromSeconds(3))
                {
                    var missing = false;
                    for (var i = 0; i < timeline.Count && !missing; i++)
                        missing = timeline.Status[i] == 200 && timeline.Delivered[i] == 0;
                    if (!missing) break;
                    await Task.Delay(50);
                }
                setCurrent(null);
            }, length, accepts);
    }

    /// <summary>
    /// The measured window request by request, to see how slow requests cluster in time (a stall every so many sends,
    /// say): the due time from the window's start, then the status and how long after its due time each request was
    /// sent, answered and delivered (ms; empty when it never was).
    /// </summary>
    static int timelineSteps;

    static void WriteTimeline(string folder, string label, double rate, OpenLoop.Timeline timeline, int[] inWindow, long from)
    {
        Directory.CreateDirectory(folder);
        string After(long due, long at) => at == 0 ? "" : Percentiles.Ms(at - due).ToString("F2", CultureInfo.InvariantCulture);
        // Numbered in the order the steps ran: two steps of one label and rate (pairs, then pairs-normal) never collide.
        var name = $"{Interlocked.Increment(ref timelineSteps):000}-" + new string(label.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-').ToArray()) + $"-{rate:F0}.csv";
        File.WriteAllLines(Path.Combine(folder, name), inWindow.Select(i =>
        {
            var due = timeline.Due[i];
            return string.Join(',', Percentiles.Ms(due - from).ToString("F2", CultureInfo.InvariantCulture), timeline.Status[i],
                After(due, timeline.Sent[i]), After(due, timeline.Done[i]), After(due, timeline.Delivered[i]));
        }).Prepend("due_ms,status,sent_ms,answered_ms,delivered_ms"));
    }

    /// <summary>
    /// One step: the load, the measured window's CPU and memory, and the app's own count of store work. A 200 counts
    /// as answered when <paramref name="accepts"/> (if given) accepts its body.
    /// </summary>
    static async Task<LoadStep> RunStepAsync(Bench bench, ServerProcess server, string label, double rate, int connections,
        Func<int, byte[]> build, Action<OpenLoop.Timeline>? started, Func<OpenLoop.Timeline, Task>? finished, TimeSpan? length = null,
        Func<byte[], bool>? accepts = null)
    {
        var o = bench.Options;
        var measured = length ?? o.Duration;
        var total = (int)Math.Ceiling(rate * (o.Warmup + measured).TotalSeconds);
        Window? window = null;
        WindowStats? stats = null;
        long logFrom = 0, logTo = 0;
        string? errorSample = null;

        // The receivers need the timeline before the first request goes out.
        var timeline = new OpenLoop.Timeline(total);
        started?.Invoke(timeline);
        var (_, from, to) = await OpenLoop.RunAsync(server.Port, connections, o.MaxQueued, rate, o.Warmup, measured, build,
            (_, status, body) =>
            {
                var ok = status == 200 && (accepts?.Invoke(body) ?? true);
                if (!ok) Interlocked.CompareExchange(ref errorSample, $"{status}: {Encoding.UTF8.GetString(body)}", null);
                return ok ? (short)200 : status == 200 ? OpenLoop.Refused : (short)status;
            },
            begin =>
            {
                if (begin) { window = new Window(server.Stats); logFrom = LogLength(server); }
                else { stats = window!.Stop(); logTo = LogLength(server); }
            }, timeline);
        if (finished is not null) await finished(timeline);

        var duration = Percentiles.Ms(to - from) / 1000;
        var inWindow = Enumerable.Range(0, timeline.Count).Where(i => timeline.Due[i] >= from && timeline.Due[i] < to).ToArray();
        if (o.TimelineDirectory is { } folder) WriteTimeline(folder, label, rate, timeline, inWindow, from);
        var ok = inWindow.Where(i => timeline.Status[i] == 200).ToArray();
        var achieved = Enumerable.Range(0, timeline.Count).Count(i => timeline.Status[i] == 200 && timeline.Done[i] >= from && timeline.Done[i] < to) / duration;
        var delivered = Enumerable.Range(0, timeline.Count).Count(i => timeline.Delivered[i] >= from && timeline.Delivered[i] < to) / duration;
        var deliveries = ok.Where(i => timeline.Delivered[i] != 0).ToArray();
        var errors = inWindow.Length - ok.Length;
        if (errors > 0 && errorSample is null)
            errorSample = "status " + string.Join(",", inWindow.Select(i => timeline.Status[i]).Where(s => s != 200).Distinct());
        return new LoadStep(label, rate, achieved, finished is null ? 0 : delivered, inWindow.Length, errors,
            finished is null ? 0 : ok.Length - deliveries.Length,
            Percentiles.Of(ok.Select(i => Percentiles.Ms(timeline.Done[i] - timeline.Due[i]))),
            finished is null ? Percentiles.Empty : Percentiles.Of(deliveries.Select(i => Percentiles.Ms(timeline.Delivered[i] - timeline.Due[i]))),
            Percentiles.Of(inWindow.Where(i => timeline.Sent[i] != 0).Select(i => Percentiles.Ms(timeline.Sent[i] - timeline.Due[i]))),
            stats!, await Task.Run(() => AppLog.Cost(server.LogPath, logFrom, logTo, SendMethod)), errorSample);
    }

    internal static long LogLength(ServerProcess server)
    {
        try { return new FileInfo(server.LogPath).Length; } catch (IOException) { return 0; }
    }

    public static string SendBody(string toUid, string clientMsgId) => SendBody("to_uid", toUid, clientMsgId);

    public static string GroupSendBody(string groupId, string clientMsgId) => SendBody("group_id", groupId, clientMsgId);

    static string SendBody(string audienceField, string audience, string clientMsgId) =>
        $$"""{"{{audienceField}}":"{{audience}}","appId":"{{ImClient.AppId}}","type":"text","body":"{{Text}}","client_msg_id":"{{clientMsgId}}"}""";
}
