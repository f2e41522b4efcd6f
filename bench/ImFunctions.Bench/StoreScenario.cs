using System.Diagnostics;
using System.Text.Json;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Groups;
using ImFunctions.Core.Push;
using ImFunctions.Core.Storage;
using ImFunctions.Core.Storage.Cosmos;
using ImFunctions.Core.Storage.Sqlite;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImFunctions.Bench;

/// <summary>
/// The store alone, in this process, no HTTP: (1) raw SQLite doing exactly a 1:1 send's statements (read the
/// sender's row, insert the message, update both rows, each its own commit as a store without batching does), the floor any
/// SQLite-backed send sits on; (2) the same in one transaction, what folding a send into one commit would buy; (3) our
/// store port under the real Messenger (the Cosmos one with --store cosmos), to split the app's cost into store
/// and everything above it, with the transactions it committed per send. SQLite runs at each writer
/// <c>PRAGMA synchronous</c> asked for: FULL syncs the WAL at every commit, NORMAL only at checkpoints.
/// </summary>
public static class StoreScenario
{
    public static async Task RunAsync(Bench bench)
    {
        var o = bench.Options;
        var directory = Path.Combine(bench.WorkDirectory, "store");
        Directory.CreateDirectory(directory);

        if (o.Store == "cosmos")
        {
            foreach (var concurrency in o.StoreSenders)
            {
                var settings = await CosmosPeer.AppSettingsAsync(bench, $"port-{concurrency}");
                using var cosmos = new CosmosImStore(new CosmosStoreOptions
                {
                    Endpoint = settings["Cosmos__Endpoint"], Key = settings["Cosmos__Key"], Database = settings["Cosmos__Database"],
                    TrustLocalCertificate = true,
                });
                bench.Report.StoreRates.Add(Print(bench, await MessengerAsync(cosmos, "store port (CosmosImStore + Messenger)", "–",
                    o.StoreDuration, concurrency, () => double.NaN)));
            }
            return;
        }
        foreach (var synchronous in o.StoreSynchronous.Select(s => s == "full" ? SqliteSynchronous.Full : SqliteSynchronous.Normal))
        {
            var name = synchronous.ToString().ToUpperInvariant();
            if (o.StoreRaw)
            {
                bench.Report.StoreRates.Add(Print(bench, await RawSendShapeAsync(Path.Combine(directory, $"raw-{name}.db"), name, o.StoreDuration, oneTransaction: false)));
                bench.Report.StoreRates.Add(Print(bench, await RawSendShapeAsync(Path.Combine(directory, $"raw-tx-{name}.db"), name, o.StoreDuration, oneTransaction: true)));
            }
            foreach (var concurrency in o.StoreSenders)
            {
                using var sqlite = new SqliteImStore(new SqliteStoreOptions
                {
                    Path = Path.Combine(directory, $"port-{name}-{concurrency}.db"), Synchronous = synchronous,
                });
                bench.Report.StoreRates.Add(Print(bench, await MessengerAsync(sqlite, "store port (SqliteImStore + Messenger)", name,
                    o.StoreDuration, concurrency, () => sqlite.Commits)));
            }
        }
    }

    static StoreRate Print(Bench bench, StoreRate r)
    {
        bench.Log($"  store     {r.Name,-40} {r.Synchronous,-6} x{r.Concurrency,-3} {r.OpsPerSecond,8:N0} sends/s  {r.CommitsPerSend,5:0.00} commits/send  {r.CpuMsPerSend,6:0.000} CPU ms/send  p50 {r.Latency.P50,6:0.000}  p99 {r.Latency.P99,7:0.000}  max {r.Latency.Max,7:0.0} ms");
        return r;
    }

    static async Task<StoreRate> RawSendShapeAsync(string path, string synchronous, TimeSpan duration, bool oneTransaction)
    {
        await new SqliteImStore(new SqliteStoreOptions { Path = path }).InitializeAsync(CancellationToken.None);
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        Exec(connection, $"PRAGMA synchronous = {synchronous}");

        var (a, b) = (Ids.New(), Ids.New());
        var conversationId = ConversationIds.Single(a, b);
        var template = SampleMessage(conversationId, a, b, 1);
        var rowDoc = JsonSerializer.Serialize(new ConversationRow { Id = conversationId, UserId = a, FriendUid = b, LastMsg = template }, ImJson.Options);
        var messageDoc = JsonSerializer.Serialize(template, ImJson.Options);
        using (var rows = Prepare(connection, "INSERT INTO conversations (user_id, id, update_time, version, doc) VALUES ($u, $id, 0, 1, $doc)", "$u", "$id", "$doc"))
            foreach (var owner in new[] { a, b })
            {
                Set(rows, owner, conversationId, rowDoc);
                rows.ExecuteNonQuery();
            }

        using var read = Prepare(connection, "SELECT doc, version FROM conversations WHERE user_id = $u AND id = $id", "$u", "$id");
        using var insert = Prepare(connection, "INSERT INTO messages (conversation_id, seq, id, update_time, doc) VALUES ($c, $s, $id, $t, $doc)", "$c", "$s", "$id", "$t", "$doc");
        using var update = Prepare(connection, """
            UPDATE conversations SET doc = $doc, update_time = $t, version = version + 1, pinned = 0, hidden = 0, unread = $unread
            WHERE user_id = $u AND id = $id AND version = $v
            """, "$doc", "$t", "$u", "$id", "$v", "$unread");
        using var begin = Prepare(connection, "BEGIN IMMEDIATE");
        using var commit = Prepare(connection, "COMMIT");

        var latencies = new List<double>();
        var cpu = Cpu();
        var clock = Stopwatch.StartNew();
        long seq = 0, version = 1;
        while (clock.Elapsed < duration)
        {
            var started = Stopwatch.GetTimestamp();
            seq++;
            if (oneTransaction) begin.ExecuteNonQuery();
            Set(read, a, conversationId);
            using (var reader = read.ExecuteReader()) { reader.Read(); _ = reader.GetString(0); }
            Set(insert, conversationId, seq, Ids.New(), seq, messageDoc);
            insert.ExecuteNonQuery();
            Set(update, rowDoc, seq, a, conversationId, version, false);
            update.ExecuteNonQuery();
            Set(update, rowDoc, seq, b, conversationId, version, true);
            update.ExecuteNonQuery();
            if (oneTransaction) commit.ExecuteNonQuery();
            version++;
            latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        return new StoreRate(oneTransaction ? "raw SQLite, send in 1 transaction" : "raw SQLite, send shape (3 commits)",
            oneTransaction ? "BEGIN; read row, insert message, update 2 rows; COMMIT" : "read row; insert message; update row; update row (autocommit each)",
            synchronous, 1, seq / clock.Elapsed.TotalSeconds, oneTransaction ? 1 : 3, (Cpu() - cpu) / seq, Percentiles.Of(latencies));
    }

    static async Task<StoreRate> MessengerAsync(IImStore store, string name, string synchronous, TimeSpan duration, int concurrency,
        Func<double> commits)
    {
        await store.InitializeAsync(CancellationToken.None);
        var options = new UniImOptions();
        var users = new UserDirectory(store, new MemoryCache(new MemoryCacheOptions()));
        var pushes = new PushDispatcher(new DiscardingPushGateway(), NullLogger<PushDispatcher>.Instance, new PushDispatchOptions());
        await pushes.StartAsync(CancellationToken.None);
        var messenger = new Messenger(store, users, new TalkPolicy(options, (IFriendStore)store, new NoGroups()), pushes, options, TimeProvider.System, new NoGroups());

        // One pair per worker: the store's cost per send, without seq contention between workers.
        var pairs = new (User From, User To)[concurrency];
        for (var i = 0; i < concurrency; i++)
        {
            pairs[i] = (SqliteSeeder.NewUser($"from-{i}"), SqliteSeeder.NewUser($"to-{i}"));
            await users.SaveAsync(pairs[i].From, default);
            await users.SaveAsync(pairs[i].To, default);
        }
        var body = JsonSerializer.SerializeToElement("bench message: the quick brown fox jumps over the lazy dog 0123456789");
        var latencies = new List<double>[concurrency];
        var sent = 0L;
        var commitsBefore = commits();
        var cpu = Cpu();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(w => Task.Run(async () =>
        {
            latencies[w] = [];
            var (from, to) = pairs[w];
            for (var n = 0; clock.Elapsed < duration; n++)
            {
                var started = Stopwatch.GetTimestamp();
                var result = await messenger.SendAsync(from, new SendMessage(to.Id, null, ImClient.AppId, "text", body, $"c{w}.{n}"), default);
                if (result.Error is { } e) throw new InvalidOperationException($"send failed: {e.Code} {e.Message}");
                latencies[w].Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                Interlocked.Increment(ref sent);
            }
        })));
        var seconds = clock.Elapsed.TotalSeconds;
        var commitsPerSend = (commits() - commitsBefore) / sent;
        var cpuPerSend = (Cpu() - cpu) / sent;
        await pushes.StopAsync(CancellationToken.None);
        return new StoreRate(name, "Messenger.SendAsync, pushes discarded, one pair per worker",
            synchronous, concurrency, sent / seconds, commitsPerSend, cpuPerSend, Percentiles.Of(latencies.SelectMany(l => l)));
    }

    /// <summary>This process's CPU time so far, all threads, in milliseconds.</summary>
    static double Cpu() => Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds;

    static Message SampleMessage(string conversationId, string from, string to, long seq) => new()
    {
        Id = Ids.New(), ConversationId = conversationId, Seq = seq, ClientMsgId = "c-0000000001", FromUid = from, ToUid = to,
        Appid = ImClient.AppId, Type = "text", Body = JsonSerializer.SerializeToElement("bench message: the quick brown fox jumps over the lazy dog 0123456789"),
        CreateTime = 1_700_000_000_000, UpdateTime = 1_700_000_000_000, Nickname = "bench sender",
    };

    static void Exec(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    static SqliteCommand Prepare(SqliteConnection connection, string sql, params string[] names)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var name in names) command.Parameters.Add(new SqliteParameter { ParameterName = name });
        command.Prepare();
        return command;
    }

    static void Set(SqliteCommand command, params object[] values)
    {
        for (var i = 0; i < values.Length; i++) command.Parameters[i].Value = values[i];
    }

    sealed class DiscardingPushGateway : IPushGateway
    {
        public Task SendToUserAsync(string userId, ReadOnlyMemory<byte> json, CancellationToken ct) => Task.CompletedTask;
        public Task SendToGroupAsync(string group, ReadOnlyMemory<byte> json, CancellationToken ct) => Task.CompletedTask;
        public Task AddUserToGroupAsync(string userId, string group, CancellationToken ct) => Task.CompletedTask;
        public Task RemoveUserFromGroupAsync(string userId, string group, CancellationToken ct) => Task.CompletedTask;
        public Task RemoveUserFromAllGroupsAsync(string userId, CancellationToken ct) => Task.CompletedTask;
        public Task CloseUserConnectionsAsync(string userId, string? reason, CancellationToken ct) => Task.CompletedTask;
        public Task<bool> UserExistsAsync(string userId, CancellationToken ct) => Task.FromResult(true);
        public Task<ClientAccess> GetClientAccessAsync(string userId, TimeSpan lifetime, CancellationToken ct) =>
            Task.FromResult(new ClientAccess(new Uri("ws://127.0.0.1/"), DateTimeOffset.UtcNow + lifetime));
    }
}

/// <summary>The store scenarios send 1:1 messages only: nobody is in a group.</summary>
sealed class NoGroups : IGroupMembership
{
    public Task<GroupMember?> GetMemberAsync(string groupId, string uid, CancellationToken ct) => Task.FromResult<GroupMember?>(null);
    public Task<IReadOnlyList<GroupMember>> GetMembersAsync(string groupId, IReadOnlyCollection<string> uids, CancellationToken ct) =>
        Task.FromResult<IReadOnlyList<GroupMember>>([]);
    public Task<bool> ShareAGroupAsync(string uidA, string uidB, CancellationToken ct) => Task.FromResult(false);
    public Task<int> ForgetMentionAsync(string groupId, IReadOnlyCollection<string> uids, string messageId, CancellationToken ct) => Task.FromResult(0);
    public Task<bool> ReflectMessageChangeAsync(Message changed, CancellationToken ct) => Task.FromResult(false);
}
