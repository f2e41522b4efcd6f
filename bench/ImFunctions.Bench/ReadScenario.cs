using System.Diagnostics;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Groups;

namespace ImFunctions.Bench;

/// <summary>
/// Read paths against seeded data: getMsgList pages in conversations of 10k, 100k and 1M messages (seeded while the
/// app runs, so the smallest one is measured again once the file holds everything, and once more in a conversation
/// written side by side with others, as live traffic stores it), and the first page of
/// getConversationList (and the badge) for users with 100 and 10k 1:1 conversations and a few groups each, then for
/// one user at the group cap. One request at a time: this is latency, not load.
/// </summary>
public static class ReadScenario
{
    /// <summary>
    /// The case-name suffix of the user at the group cap. A list or badge call reads all of the user's group rows and
    /// their groups (at most <see cref="GroupDirectory.MaxGroupsPerUser"/>) by design, so this user shows what the
    /// cap costs; the conversation-list target is judged on the users with few groups, where only the 1:1 rows grow.
    /// </summary>
    public const string AtGroupCap = " (user at the group cap)";
    /// <summary>The 1:1 conversations of the user at the group cap.</summary>
    public const int GroupCapSingles = 100;
    /// <summary>The unread 1:1 rows of the user whose list is otherwise read.</summary>
    public const int FewUnread = 20;

    public static async Task RunAsync(Bench bench)
    {
        var o = bench.Options;
        if (o.Store != "sqlite")
        {
            bench.Report.Notes.Add("reads: seeding goes straight into SQLite; with --store cosmos this scenario is skipped.");
            bench.Log("  reads     skipped: seeding is SQLite-only");
            return;
        }
        // The seeder writes beside the running app (WAL): the app has cached none of these users yet.
        await using var app = await bench.StartAppAsync("reads");
        using var seeder = await SqliteSeeder.OpenAsync(app.SqlitePath);

        // Everyone who logs in is seeded up front with their external uid; the big histories come later.
        var reader = SqliteSeeder.NewUser("reader");
        var historyPeers = o.HistorySizes.Select(n => SqliteSeeder.NewUser($"history-peer-{n}")).ToArray();
        // Conversation lists: n 1:1 conversations and the same few groups for each n (what the flat target is judged
        // on), then one user in as many groups as a list reads, with 100 1:1 conversations.
        // Last, the largest list again with few of its 1:1 rows unread: what the badge and the unread filter read then.
        var largest = o.ConversationCounts.Max();
        var few = Math.Min(FewUnread, largest);
        var lists = o.ConversationCounts.Select(n => (Singles: n, Groups: o.ListGroups, Unread: (int?)null, Suffix: ""))
            .Append((Singles: GroupCapSingles, Groups: GroupDirectory.MaxGroupsPerUser, Unread: null, Suffix: AtGroupCap))
            .Append((Singles: largest, Groups: o.ListGroups, Unread: few, Suffix: $" ({few} of the 1:1 rows unread)"))
            .ToArray();
        var listers = lists.Select((l, k) => SqliteSeeder.NewUser($"lister-{k}-{l.Singles}-{l.Groups}")).ToArray();
        var listPeers = lists.Select((l, k) => Enumerable.Range(0, l.Singles).Select(j => SqliteSeeder.NewUser($"list-peer-{k}-{j}")).ToArray()).ToArray();
        var clock = Stopwatch.StartNew();
        seeder.Users([reader, .. historyPeers, .. listers, .. listPeers.SelectMany(p => p)]);
        for (var k = 0; k < listers.Length; k++) seeder.ConversationList(listers[k], listPeers[k], lists[k].Groups, lists[k].Unread);
        seeder.Checkpoint();
        // Per 1:1 conversation a user and a row; per group the group, a member record and a row.
        bench.Report.Seeding.Add(new SeedTiming(
            $"users, conversation rows and groups ({string.Join(" + ", lists.Select(l => $"{l.Singles} 1:1 and {l.Groups} groups"))})",
            lists.Sum(l => 2L * l.Singles + 3L * l.Groups), clock.Elapsed.TotalSeconds));

        using var client = new ImClient(app.BaseAddress);
        var me = await client.LoginAsync(reader.ExtUid);
        var random = new Random(42);
        long totalRows = 0;

        async Task MeasureHistoryAsync(int size, string conversationId, string label)
        {
            // The seeder sends a conversation's messages a minute apart, up to when it ran: the update sync since a
            // random one of them has up to the whole conversation to answer, and a page of it to return.
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var cases = new (string Name, Func<object> Body)[]
            {
                ("newest page", () => new { conversation_id = conversationId, limit = 30 }),
                ("page at a random depth", () => new { conversation_id = conversationId, before_seq = random.NextInt64(31, size + 1), limit = 30 }),
                ("gap fill (after_seq)", () => new { conversation_id = conversationId, after_seq = random.NextInt64(0, Math.Max(1, size - 30)), limit = 30 }),
                ("update sync, nothing new", () => new { conversation_ids = new[] { conversationId }, minUpdateTime = now, limit = 30 }),
                ("update sync since a random message", () => new
                {
                    conversation_ids = new[] { conversationId }, minUpdateTime = now - random.NextInt64(1, size + 1) * 60_000, limit = 30,
                }),
            };
            foreach (var (name, body) in cases)
            {
                var latency = await SampleAsync(client, "getMsgList", body, me.Token, o.ReadSamples);
                var result = new ReadCase("getMsgList", name + label, size, totalRows, latency);
                bench.Report.Reads.Add(result);
                Print(bench, result);
            }
        }

        string? firstConversation = null;
        for (var k = 0; k < o.HistorySizes.Length; k++)
        {
            var size = o.HistorySizes[k];
            clock.Restart();
            seeder.Conversations(reader, [historyPeers[k]], size);
            seeder.Checkpoint();
            totalRows += size;
            bench.Report.Seeding.Add(new SeedTiming($"conversation of {size:N0} messages", size, clock.Elapsed.TotalSeconds));
            bench.Log($"  seeded    {size:N0} messages in {clock.Elapsed.TotalSeconds:0.0} s ({size / clock.Elapsed.TotalSeconds:N0} rows/s)");
            var conversationId = ConversationIds.Single(reader.Id, historyPeers[k].Id);
            firstConversation ??= conversationId;
            await MeasureHistoryAsync(size, conversationId, "");
        }
        if (o.HistorySizes.Length > 1 && firstConversation is not null)
            await MeasureHistoryAsync(o.HistorySizes[0], firstConversation, $" (again, file now {totalRows:N0} rows)");
        if (o.SideBySide > 0 && o.HistorySizes.Length > 0)
        {
            // Live traffic stores a conversation's messages among everyone else's: what a history page reads then.
            var size = o.HistorySizes[0];
            var peers = Enumerable.Range(0, o.SideBySide).Select(j => SqliteSeeder.NewUser($"side-by-side-peer-{j}")).ToArray();
            clock.Restart();
            seeder.Users(peers);
            seeder.Conversations(reader, peers, size);
            seeder.Checkpoint();
            totalRows += (long)size * peers.Length;
            bench.Report.Seeding.Add(new SeedTiming($"{peers.Length} conversations of {size:N0} messages, side by side", (long)size * peers.Length, clock.Elapsed.TotalSeconds));
            await MeasureHistoryAsync(size, ConversationIds.Single(reader.Id, peers[0].Id), $" (one of {peers.Length} written side by side)");
        }

        for (var k = 0; k < listers.Length; k++)
        {
            var lister = await client.LoginAsync(listers[k].ExtUid);
            // The plain first page at two sizes; issue 12's filtered and pinned-first first pages; the badge (every
            // conversation unread, groups included, but for the last user).
            var listCases = new (string Method, string Name, object Body)[]
            {
                ("getConversationList", "first page, limit 20", new { limit = 20 }),
                ("getConversationList", "first page, limit 500", new { limit = 500 }),
                ("getConversationList", "first page, limit 20, type unread", new { limit = 20, type = "unread" }),
                ("getConversationList", "first page, limit 20, distinguishPinned", new { limit = 20, distinguishPinned = true }),
                ("getUnreadCount", "every conversation unread", new { }),
            };
            // A smoke run checks the user at the cap on its first page only: each of its calls reads 1,000 groups. The
            // user with few unread rows is asked only what those rows change.
            var cases = lists[k].Unread is not null
                ? listCases.Where(c => c.Name.EndsWith("type unread") || c.Method == "getUnreadCount")
                    .Select(c => c.Method == "getUnreadCount" ? c with { Name = "the badge" } : c).ToArray()
                : o.Smoke && lists[k].Suffix == AtGroupCap ? listCases[..1] : listCases;
            foreach (var (method, name, body) in cases)
            {
                var latency = await SampleAsync(client, method, () => body, lister.Token, o.ReadSamples);
                var result = new ReadCase(method, name + lists[k].Suffix, lists[k].Singles, totalRows, latency, lists[k].Groups);
                bench.Report.Reads.Add(result);
                Print(bench, result);
            }
        }
    }

    static async Task<Percentiles> SampleAsync(ImClient client, string method, Func<object> body, string token, int samples)
    {
        for (var i = 0; i < Math.Min(100, samples); i++) await client.TimeAsync(method, body(), token);   // warm-up, past tiered JIT
        var latencies = new List<double>(samples);
        var deadline = Stopwatch.StartNew();
        for (var i = 0; i < samples && deadline.Elapsed < TimeSpan.FromSeconds(60); i++)
            latencies.Add(await client.TimeAsync(method, body(), token));
        return Percentiles.Of(latencies);
    }

    static void Print(Bench bench, ReadCase r) => bench.Log(
        $"  {r.Path,-19} {r.DataSize,9:N0}{(r.Groups > 0 ? $" + {r.Groups:N0} groups" : ""),-15}  {r.Case,-63} p50 {r.Latency.P50,6:0.00}  p95 {r.Latency.P95,6:0.00}  p99 {r.Latency.P99,6:0.00}  max {r.Latency.Max,6:0.00} ms");
}
