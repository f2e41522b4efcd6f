using System.Diagnostics;
using System.Text;
using System.Text.Json;
using ImFunctions.Core.Groups;

namespace ImFunctions.Bench;

/// <summary>
/// Group send at several sizes (issue 11: its cost must not grow with the group): a fresh app per size, every member
/// logged in and on a socket, members sending in turn at a fixed rate. Per send: the store work and the push calls it
/// handed to the dispatcher (both counted by the app in each sendMsg's request log line), and when the LAST member's
/// socket got the message.
/// </summary>
public static class GroupScenario
{
    /// <summary>Few senders at a low rate: the cost is per message, not per connection.</summary>
    const int Connections = 8;

    public static async Task RunAsync(Bench bench)
    {
        var o = bench.Options;
        foreach (var size in o.GroupSizes.Append(o.GroupLoadMembers).Distinct())
            foreach (var result in await SendAsync(bench, size))
            {
                bench.Report.Groups.Add(result);
                var (s, ops) = (result.Step, result.Step.Ops);
                bench.Log($"  group {size,5} at {s.OfferedRate:0}/s  sends {result.Sends}  store r/q/w per send {ops?.PointReads:0.00}/{ops?.Queries:0.00}/{ops?.Writes:0.00} " +
                          $"(max {ops?.MaxPointReads}/{ops?.MaxWrites})  push calls per send {result.PushCallsPerSend:0.00}  " +
                          $"socket deliveries {result.DeliveriesPerSecond,7:0}/s  lost {s.Lost}  err {s.Errors}  " +
                          $"last member p50 {s.Deliver.P50:0.0} p99 {s.Deliver.P99:0.0} max {s.Deliver.Max:0.0} ms  " +
                          $"cpu srv {s.Window.ServerCpuPercent:0}% gen {s.Window.GeneratorCpuPercent:0}% other {s.Window.OtherCpuPercent:0}%" +
                          (s.ErrorSample is { } e ? $"  first error: {e[..Math.Min(160, e.Length)]}" : ""));
            }
    }

    /// <summary>
    /// One group: the constant-cost step at <see cref="BenchOptions.GroupRate"/> when the size is one of
    /// <see cref="BenchOptions.GroupSizes"/>, and the fan-out step at <see cref="BenchOptions.GroupLoadRate"/> when it is
    /// <see cref="BenchOptions.GroupLoadMembers"/>, on the same app and sockets.
    /// </summary>
    static async Task<List<GroupSend>> SendAsync(Bench bench, int size)
    {
        var o = bench.Options;
        await using var app = await bench.StartAppAsync($"group-{size}");
        using var client = new ImClient(app.BaseAddress);
        var setup = Stopwatch.StartNew();
        var members = await client.LoginManyAsync($"group{size}", size);
        var groupId = await CreateGroupAsync(client, members);
        Fanout? current = null;
        var sockets = new PushReceiver?[size];
        try
        {
            // Negotiate after joining: the client URL carries the user's push groups, as a real client's would.
            using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            await Parallel.ForEachAsync(Enumerable.Range(0, size), new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = deadline.Token },
                async (i, ct) => sockets[i] = await PushReceiver.ConnectAsync(await client.NegotiateAsync(members[i]),
                    (data, at) => Volatile.Read(ref current)?.Arrived(data, at), bufferSize: 4096, ct));
            bench.Log($"  group {size,5}  {size} members logged in, joined and on sockets in {setup.Elapsed.TotalSeconds:0.0} s");

            // Members send in turn; each request is prebuilt except for its client_msg_id.
            byte[] Build(int run, int i)
            {
                var from = members[i % size];
                return RawHttpConnection.Post(app.Port, "/api/sendMsg", from.Token, Encoding.UTF8.GetBytes(LoadScenarios.GroupSendBody(groupId, $"{run}.{i}")));
            }

            var results = new List<GroupSend>();
            var rates = new List<(double Rate, int Connections)>();
            if (o.GroupSizes.Contains(size)) rates.Add((o.GroupRate, Connections));
            if (size == o.GroupLoadMembers) rates.Add((o.GroupLoadRate, 2 * Connections));
            foreach (var (rate, connections) in rates)
            {
                var logFrom = LoadScenarios.LogLength(app.Server);
                var step = await LoadScenarios.SendStepAsync(bench, app.Server, $"{size} members", rate, connections, Build,
                    s => Volatile.Write(ref current, s is null ? null : new Fanout(s, size)));
                var sends = await SendCostAsync(app.Server, logFrom, TimeSpan.FromSeconds(o.Smoke ? 0.5 : 1));
                results.Add(new GroupSend(size, setup.Elapsed.TotalSeconds, sends?.Requests ?? 0, sends?.Pushes ?? double.NaN, step));
            }
            return results;
        }
        finally
        {
            await Parallel.ForEachAsync(sockets.OfType<PushReceiver>(), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (s, _) => await s.DisposeAsync());
        }
    }

    /// <summary>
    /// The cost of every sendMsg answered since <paramref name="logFrom"/>, warm-up included. A request's line is written
    /// after its answer, so wait until the count stops growing.
    /// </summary>
    static async Task<RequestCost?> SendCostAsync(ServerProcess app, long logFrom, TimeSpan quiet)
    {
        RequestCost? cost = null;
        for (var (waited, still) = (Stopwatch.StartNew(), Stopwatch.StartNew()); waited.Elapsed < TimeSpan.FromSeconds(30) && still.Elapsed < quiet; )
        {
            await Task.Delay(250);
            var now = AppLog.Cost(app.LogPath, logFrom, LoadScenarios.LogLength(app), LoadScenarios.SendMethod);
            if (now?.Requests != cost?.Requests) still.Restart();
            cost = now;
        }
        return cost;
    }

    /// <summary>members[0] creates the group, then adds the rest in calls of at most <see cref="GroupManager.MaxAddPerCall"/>.</summary>
    static async Task<string> CreateGroupAsync(ImClient client, BenchUser[] members)
    {
        var owner = members[0];
        string? groupId = null;
        foreach (var batch in members.Skip(1).Chunk(GroupManager.MaxAddPerCall))
        {
            var reply = await client.PostAsync("chooseUserIntoGroup", new { group_id = groupId, user_ids = batch.Select(m => m.Uid).ToArray() }, owner.Token);
            groupId ??= reply.GetProperty("data").GetProperty("group_id").GetString()!;
        }
        return groupId ?? throw new InvalidOperationException("a group needs at least two members");
    }

    /// <summary>
    /// One step's arrivals: a message counts as delivered when the last of the group's sockets has it, and at the
    /// latest of their arrival times, so the step's delivery percentiles are the last member's.
    /// </summary>
    sealed class Fanout(LoadScenarios.StepState step, int members)
    {
        readonly int[] arrivals = new int[step.Timeline.Count];
        readonly long[] latest = new long[step.Timeline.Count];

        public void Arrived(JsonElement data, long at)
        {
            if (data.GetProperty("event").GetString() != "msg") return;
            var index = step.IndexOf(data.GetProperty("data"));
            if (index < 0) return;
            // Raise the latest arrival before counting this one: whoever counts the last arrival then sees every time.
            long seen;
            while (at > (seen = Volatile.Read(ref latest[index])) && Interlocked.CompareExchange(ref latest[index], at, seen) != seen) { }
            if (Interlocked.Increment(ref arrivals[index]) == members) step.Timeline.Delivered[index] = Volatile.Read(ref latest[index]);
        }
    }
}
