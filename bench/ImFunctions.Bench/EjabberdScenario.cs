using System.Text;

namespace ImFunctions.Bench;

/// <summary>
/// Our <c>pairs</c> shape against a real IM server: the same open-loop generator, rates, warm-up, hold rule and
/// half-peak step, with ejabberd's HTTP API (mod_http_api <c>send_message</c>, type chat) as the ingress, every
/// receiver on an XMPP WebSocket, and mod_mam archiving each message to SQLite. A delivery is matched to its send by
/// the "run.index" id at the start of the body, as our receivers match client_msg_id.
/// </summary>
public static class EjabberdScenario
{
    public static string SeriesName(EjabberdDurability durability) => durability switch
    {
        EjabberdDurability.Stock => "ejabberd pairs (stock SQLite)",
        _ => "ejabberd pairs (WAL/NORMAL)",
    };

    /// <summary>Both configurations, each on a fresh instance; a smoke run checks the WAL/NORMAL one only (one start is seconds).</summary>
    public static async Task<List<LoadSeries>> RunAsync(Bench bench)
    {
        var series = new List<LoadSeries>();
        if (!bench.Options.Smoke) series.Add(await PairsAsync(bench, EjabberdDurability.Stock));
        series.Add(await PairsAsync(bench, EjabberdDurability.WalNormal));
        return series;
    }

    public static async Task<LoadSeries> PairsAsync(Bench bench, EjabberdDurability durability)
    {
        var o = bench.Options;
        var name = SeriesName(durability);
        var setup = System.Diagnostics.Stopwatch.StartNew();
        await using var peer = await EjabberdPeer.StartAsync(bench, durability);
        bench.Log($"  ejabberd started in {setup.Elapsed.TotalSeconds:0.0} s");
        var senders = Enumerable.Range(0, o.Pairs).Select(i => $"s{i}").ToArray();
        var receivers = Enumerable.Range(0, o.Pairs).Select(i => $"r{i}").ToArray();
        await peer.RegisterAsync(senders.Concat(receivers));
        var sqlite = await peer.SqliteConnectionAsync();
        bench.Log($"  ejabberd {peer.Version} (pid {peer.Server.Pid}), {2 * o.Pairs} users registered at {setup.Elapsed.TotalSeconds:0.0} s, SQLite connection: {sqlite}");
        bench.Report.Notes.Add($"{name}: Debian's ejabberd {peer.Version}; its SQLite connection reported {sqlite}.");

        LoadScenarios.StepState? current = null;
        void OnMessage(string body, long arrived)
        {
            var id = body.AsSpan(0, Math.Max(0, body.IndexOf(' ')));
            if (Volatile.Read(ref current) is { } step && step.IndexOf(id) is var index and >= 0) step.Timeline.Delivered[index] = arrived;
        }

        var sockets = new XmppWebSocketClient?[o.Pairs];
        try
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            await Parallel.ForEachAsync(Enumerable.Range(0, o.Pairs), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = deadline.Token },
                async (i, ct) => sockets[i] = await XmppWebSocketClient.ConnectAsync(peer.WebSocket, EjabberdPeer.Domain, receivers[i], EjabberdPeer.Password, OnMessage, ct));

            // send_message from sender i to receiver i; only the id at the start of the body changes per request.
            byte[] Build(int run, int i)
            {
                var pair = i % o.Pairs;
                return RawHttpConnection.Post(peer.Port, "/api/send_message", null, Encoding.UTF8.GetBytes(
                    $$"""{"type":"chat","from":"{{senders[pair]}}@{{EjabberdPeer.Domain}}","to":"{{receivers[pair]}}@{{EjabberdPeer.Domain}}","subject":"","body":"{{run}}.{{i}} {{LoadScenarios.Text}}"}"""));
            }

            var series = new LoadSeries(name,
                $"{o.Pairs} 1:1 pairs: mod_http_api send_message in, {o.Pairs} receivers on XMPP WebSockets, {o.Connections} HTTP connections, " +
                $"mod_mam archiving to SQLite ({sqlite})", []);
            // send_message answers 200 either way; a body of 0 means routed, 1 means it failed.
            return await LoadScenarios.ClimbAsync(bench, peer.Server, series, o.Connections, Build, s => Volatile.Write(ref current, s),
                accepts: body => body is [(byte)'0']);
        }
        finally
        {
            foreach (var socket in sockets.OfType<XmppWebSocketClient>()) await socket.DisposeAsync();
        }
    }
}
