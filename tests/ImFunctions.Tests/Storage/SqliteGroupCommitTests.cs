using System.Text.Json;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Friends;
using ImFunctions.Core.Groups;
using ImFunctions.Core.Push;
using ImFunctions.Core.Storage;
using ImFunctions.Core.Storage.Sqlite;
using ImFunctions.Tests.Support;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using SQLitePCL;

namespace ImFunctions.Tests.Storage;

/// <summary>
/// The SQLite writer's group commit: writes that wait behind a commit share the next one, each is isolated in its
/// batch, and nobody is answered before the commit holding their write; its WAL is checkpointed beside it. A write
/// held open on the writer (a "gate") makes the next batch's members deterministic.
/// </summary>
public sealed class SqliteGroupCommitTests
{
    string directory = null!;

    [SetUp]
    public void NewFolder() => directory = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "imfunctions-gc-tests", Guid.NewGuid().ToString("N"))).FullName;

    [TearDown]
    public void RemoveFolder()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(directory, recursive: true); } catch (IOException) { }
    }

    async Task<SqliteImStore> NewStoreAsync(SqliteSynchronous? synchronous = null)
    {
        var options = new SqliteStoreOptions { Path = Path.Combine(directory, "im.db") };
        if (synchronous is { } s) options.Synchronous = s;
        var store = new SqliteImStore(options);
        await store.InitializeAsync(default);
        return store;
    }

    /// <summary>Holds the writer inside a batch (after writing a row of its own) until released; disposing it releases it.</summary>
    sealed class Gate : IDisposable
    {
        readonly TaskCompletionSource entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        readonly TaskCompletionSource open = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public Task<int> Held { get; private set; } = null!;

        public static async Task<Gate> CloseAsync(SqliteImStore store)
        {
            var gate = new Gate();
            gate.Held = store.WriteAsync(async connection =>
            {
                await using var command = connection.CreateCommand();
                command.CommandText = $"INSERT INTO users (id, doc) VALUES ('{Ids.New()}', '{{}}')";
                await command.ExecuteNonQueryAsync();
                gate.entered.SetResult();
                await gate.open.Task;
                return 0;
            }, default);
            await gate.entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
            return gate;
        }

        /// <summary>Opens once <paramref name="queued"/> writes wait behind it: they all go into the next batch.</summary>
        public async Task OpenWhenQueuedAsync(SqliteImStore store, int queued)
        {
            var waited = System.Diagnostics.Stopwatch.StartNew();
            while (store.QueuedWrites < queued)
            {
                Assert.That(waited.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)), $"only {store.QueuedWrites} of {queued} writes queued");
                await Task.Delay(5);
            }
            open.SetResult();
            await Held;
        }

        /// <summary>A test that failed before opening the gate must not leave the store's Dispose waiting for it.</summary>
        public void Dispose() => open.TrySetResult();
    }

    static Message NewMessage(string conversationId, long seq, string? id = null) => new()
    {
        Id = id ?? Ids.New(), ConversationId = conversationId, Seq = seq, ClientMsgId = Ids.New(), FromUid = "a", ToUid = "b",
        Appid = "__UNI__TEST", Type = "text", Body = JsonSerializer.SerializeToElement("hi"), CreateTime = 1, UpdateTime = 1,
    };

    static User NewUser() => new() { Id = Ids.New(), ExtUid = "ext-" + Ids.New(), Nickname = "n" };

    [Test]
    public async Task Writes_queued_behind_a_commit_share_the_next_and_a_failing_write_is_rolled_back_alone()
    {
        using var store = await NewStoreAsync();
        var conversation = "single_" + Ids.New();
        var first = NewMessage(conversation, 1);
        Assert.That(await store.TryAppendMessageAsync(first, default), Is.EqualTo(AppendResult.Appended));
        var (kept, dropped) = (NewUser(), NewUser());

        using var gate = await Gate.CloseAsync(store);
        var appended = store.TryAppendMessageAsync(NewMessage(conversation, 2), default);
        var seqTaken = store.TryAppendMessageAsync(NewMessage(conversation, 2), default);   // sees the write before it, uncommitted
        var idTaken = store.TryAppendMessageAsync(first with { Seq = 3 }, default);
        var failing = store.WriteAsync<int>(async connection =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = $"INSERT INTO users (id, doc) VALUES ('{dropped.Id}', '{{}}')";
            await command.ExecuteNonQueryAsync();
            throw new InvalidOperationException("failed after writing");
        }, default);
        var saved = store.SaveUserAsync(kept, default);
        var commitsBefore = store.Commits;
        await gate.OpenWhenQueuedAsync(store, 5);

        Assert.That(await appended, Is.EqualTo(AppendResult.Appended));
        Assert.That(await seqTaken, Is.EqualTo(AppendResult.SeqTaken(new ConversationHead(2, 1))));
        Assert.That(await idTaken, Is.EqualTo(AppendResult.IdTaken));
        Assert.That(async () => await failing, Throws.InvalidOperationException.With.Message.EqualTo("failed after writing"));
        await saved;
        Assert.That(store.Commits - commitsBefore, Is.EqualTo(2), "the gate's batch, then one commit for all five");
        Assert.That(await store.GetUserAsync(kept.Id, default), Is.Not.Null);
        Assert.That(await store.GetUserAsync(dropped.Id, default), Is.Null, "the failing write's own row is rolled back");
        Assert.That((await store.ReadMessagesAsync(conversation, new SeqWindow(AfterSeq: 0), 10, default)).Select(m => m.Seq), Is.EqualTo(new[] { 1L, 2L }));
    }

    [Test]
    public async Task A_batch_runs_its_writes_once_and_only_after_one_threw_runs_again_with_each_write_in_a_savepoint()
    {
        using var store = await NewStoreAsync();
        var (a, b, c, d) = (NewUser(), NewUser(), NewUser(), NewUser());
        var runs = new int[3];
        Task<int> Insert(int write, User user, bool thenThrow = false) => store.WriteAsync(async connection =>
        {
            Interlocked.Increment(ref runs[write]);
            await using var command = connection.CreateCommand();
            command.CommandText = "INSERT INTO users (id, doc) VALUES ($id, $doc)";
            command.Parameters.AddWithValue("$id", user.Id);
            command.Parameters.AddWithValue("$doc", JsonSerializer.Serialize(user, ImJson.Options));
            await command.ExecuteNonQueryAsync();
            return thenThrow ? throw new InvalidOperationException("failed after writing") : write;
        }, default);

        using (var gate = await Gate.CloseAsync(store))
        {
            var together = new[] { Insert(0, a), Insert(1, b) };
            await gate.OpenWhenQueuedAsync(store, 2);
            await Task.WhenAll(together);
        }
        Assert.That(runs, Is.EqualTo(new[] { 1, 1, 0 }), "a batch where nothing throws runs each write once");
        Assert.That(store.BatchesRunAgain, Is.Zero);

        Array.Clear(runs);
        var thrower = NewUser();
        var commitsBefore = store.Commits;
        using (var gate = await Gate.CloseAsync(store))
        {
            var before = Insert(0, c);
            var failing = Insert(1, thrower, thenThrow: true);
            var after = Insert(2, d);
            await gate.OpenWhenQueuedAsync(store, 3);
            Assert.That(await before, Is.EqualTo(0));
            Assert.That(async () => await failing, Throws.InvalidOperationException.With.Message.EqualTo("failed after writing"));
            Assert.That(await after, Is.EqualTo(2));
        }
        Assert.That(runs, Is.EqualTo(new[] { 2, 2, 1 }), "the first pass stops at the write that threw; the second runs all three");
        Assert.That(store.BatchesRunAgain, Is.EqualTo(1));
        Assert.That(store.Commits - commitsBefore, Is.EqualTo(2), "the gate's batch, then one commit for the three");
        foreach (var user in new[] { a, b, c, d })
            Assert.That(await store.GetUserAsync(user.Id, default), Is.Not.Null);
        Assert.That(await store.GetUserAsync(thrower.Id, default), Is.Null, "the write that threw is undone, and only it");
    }

    [Test]
    public async Task A_message_and_its_rows_are_one_write_stored_together_or_not_at_all()
    {
        using var store = await NewStoreAsync();
        var conversation = "single_" + Ids.New();
        var message = NewMessage(conversation, 1);
        var read = (await store.UpdateConversationAsync("a", conversation, null, _ => new ConversationRow { Id = conversation, UserId = "a" }, default))!;
        await store.UpdateConversationAsync("a", conversation, read, row => row! with { UpdateTime = 2 }, default);
        // Planned from a row that has moved on since: the writer reads it again and reapplies, which fails.
        var failing = store.TryAppendMessageAsync(message,
            new AppendWrites([new RowUpdate("a", conversation, read, row => row!.ETag == read.ETag ? row with { LastSeq = 1 } : throw new InvalidOperationException("reapplied"))]),
            default);
        Assert.That(async () => await failing, Throws.InvalidOperationException.With.Message.EqualTo("reapplied"));
        Assert.That(await store.GetMessageAsync(conversation, message.Id, default), Is.Null, "the message is rolled back with its row");

        var current = await store.GetConversationAsync("a", conversation, default);
        var toNew = new RowUpdate("b", conversation, null, _ => new ConversationRow { Id = conversation, UserId = "b", LastSeq = 1 });
        Assert.That(await store.TryAppendMessageAsync(message, new AppendWrites([new RowUpdate("a", conversation, current, row => row! with { LastSeq = 1 }), toNew]), default),
            Is.EqualTo(AppendResult.Appended));
        Assert.That((await store.GetConversationAsync("a", conversation, default))!.LastSeq, Is.EqualTo(1));
        Assert.That((await store.GetConversationAsync("b", conversation, default))!.LastSeq, Is.EqualTo(1));
    }

    [Test]
    public async Task A_group_message_its_head_and_its_senders_cursor_are_one_write_stored_together_or_not_at_all()
    {
        using var store = await NewStoreAsync();
        var groupId = Ids.New();
        await store.CreateGroupAsync(new Group { Id = groupId, UserId = "a", CreateTime = 1, UpdateTime = 1 }, default);
        var group = (await store.GetGroupAsync(groupId, default))!;
        var member = (await store.UpdateMemberAsync(groupId, "a", null, _ => new MemberRecord { GroupId = groupId, UserId = "a" }, default))!;
        var message = NewMessage(group.ConversationId, 1) with { ToUid = null, GroupId = groupId };
        var cursor = new MemberUpdate(groupId, "a", member, m => m! with { ReadSeq = 1 });

        // The head is written, then the cursor throws: the message and the head go with it.
        var failing = store.TryAppendMessageAsync(message, new AppendWrites([], GroupDirectory.AdvancingHead(group, message, copyWhole: true),
            cursor with { Apply = _ => throw new InvalidOperationException("cursor") }), default);
        Assert.That(async () => await failing, Throws.InvalidOperationException.With.Message.EqualTo("cursor"));
        Assert.That(await store.GetMessageAsync(group.ConversationId, message.Id, default), Is.Null, "the message is rolled back with its cursor");
        Assert.That((await store.GetGroupAsync(groupId, default))!.LastSeq, Is.Zero, "and with its head");

        // Another write moved the group on since it was read: the writer reads it again and applies the head to it.
        await store.UpdateGroupAsync(groupId, group, g => g with { Name = "renamed" }, default);
        var commitsBefore = store.Commits;
        Assert.That(await store.TryAppendMessageAsync(message, new AppendWrites([], GroupDirectory.AdvancingHead(group, message, copyWhole: true), cursor), default),
            Is.EqualTo(AppendResult.Appended));
        Assert.That(store.Commits - commitsBefore, Is.EqualTo(1), "message, head and cursor in one commit");
        var stored = (await store.GetGroupAsync(groupId, default))!;
        Assert.That((stored.Name, stored.LastSeq, stored.LastMsg?.Id), Is.EqualTo(("renamed", 1L, message.Id)));
        Assert.That((await store.GetMemberAsync(groupId, "a", default))!.ReadSeq, Is.EqualTo(1));
    }

    [Test]
    public async Task A_failed_commit_fails_every_write_of_its_batch_and_stores_none_of_them()
    {
        using var store = await NewStoreAsync();
        var conversation = "single_" + Ids.New();
        var user = NewUser();
        var message = NewMessage(conversation, 1);

        using var gate = await Gate.CloseAsync(store);
        // A commit hook that answers non-zero turns this batch's COMMIT into a rollback (SQLITE_CONSTRAINT_COMMITHOOK).
        var breaksCommit = store.WriteAsync(connection =>
        {
            raw.sqlite3_commit_hook(connection.Handle, _ => 1, null);
            return Task.FromResult(0);
        }, default);
        var saved = store.SaveUserAsync(user, default);
        var appended = store.TryAppendMessageAsync(message, default);
        await gate.OpenWhenQueuedAsync(store, 3);

        Assert.That(async () => await saved, Throws.TypeOf<DependencyUnavailableException>());
        Assert.That(async () => await appended, Throws.TypeOf<DependencyUnavailableException>());
        Assert.That(async () => await breaksCommit, Throws.TypeOf<DependencyUnavailableException>());
        Assert.That(await store.GetUserAsync(user.Id, default), Is.Null);
        Assert.That(await store.GetMessageAsync(conversation, message.Id, default), Is.Null);

        await store.WriteAsync(connection =>
        {
            raw.sqlite3_commit_hook(connection.Handle, null, null);
            return Task.FromResult(0);
        }, default);
        await store.SaveUserAsync(user, default);
        Assert.That(await store.TryAppendMessageAsync(message, default), Is.EqualTo(AppendResult.Appended), "seq 1 was never taken");
        Assert.That(await store.GetUserAsync(user.Id, default), Is.Not.Null);
    }

    // The conversation rows the store keeps in memory (ConversationRowCache) follow the commits, never a write that
    // was rolled back, and drop everything when another connection wrote the file.

    [Test]
    public async Task A_row_written_by_a_write_rolled_back_to_its_savepoint_or_in_a_failed_commit_is_never_read_back()
    {
        using var store = await NewStoreAsync();
        var conversation = "single_" + Ids.New();
        var a = (await store.UpdateConversationAsync("a", conversation, null, _ => new ConversationRow { Id = conversation, UserId = "a" }, default))!;
        var b = (await store.UpdateConversationAsync("b", conversation, null, _ => new ConversationRow { Id = conversation, UserId = "b" }, default))!;
        await store.UpdateConversationAsync("b", conversation, b, row => row! with { UpdateTime = 2 }, default);
        // a's row is written, then b's (planned from a row that moved on) throws when reapplied: the write's savepoint goes.
        var failing = store.TryAppendMessageAsync(NewMessage(conversation, 1),
            new AppendWrites([new RowUpdate("a", conversation, a, row => row! with { LastSeq = 1 }),
                              new RowUpdate("b", conversation, b, row => row!.ETag == b.ETag ? row with { LastSeq = 1 } : throw new InvalidOperationException("reapplied"))]),
            default);
        Assert.That(async () => await failing, Throws.InvalidOperationException);
        Assert.That((await store.GetConversationAsync("a", conversation, default))!.LastSeq, Is.Zero);

        using (var gate = await Gate.CloseAsync(store))
        {
            var breaksCommit = store.WriteAsync(connection =>
            {
                raw.sqlite3_commit_hook(connection.Handle, _ => 1, null);
                return Task.FromResult(0);
            }, default);
            var moved = store.UpdateConversationAsync("a", conversation, a, row => row! with { LastSeq = 5 }, default);
            await gate.OpenWhenQueuedAsync(store, 2);
            Assert.That(async () => await moved, Throws.TypeOf<DependencyUnavailableException>());
            Assert.That(async () => await breaksCommit, Throws.TypeOf<DependencyUnavailableException>());
        }
        Assert.That((await store.GetConversationAsync("a", conversation, default))!.LastSeq, Is.Zero);
    }

    [Test]
    public async Task A_row_changed_by_another_connection_is_read_from_the_file_once_the_store_next_writes()
    {
        using var store = await NewStoreAsync();
        var conversation = "single_" + Ids.New();
        await store.UpdateConversationAsync("a", conversation, null, _ => new ConversationRow { Id = conversation, UserId = "a" }, default);
        Assert.That((await store.GetConversationAsync("a", conversation, default))!.PeerBlocked, Is.False);

        await using (var other = new SqliteConnection($"Data Source={Path.Combine(directory, "im.db")}"))
        {
            await other.OpenAsync();
            await using var command = other.CreateCommand();
            command.CommandText = "UPDATE conversations SET doc = json_set(doc, '$.peer_blocked', json('true')), version = version + 1 WHERE user_id = 'a'";
            Assert.That(await command.ExecuteNonQueryAsync(), Is.EqualTo(1));
        }
        await store.SaveUserAsync(NewUser(), default);
        Assert.That((await store.GetConversationAsync("a", conversation, default))!.PeerBlocked, Is.True);

        await store.DeleteConversationAsync("a", conversation, default);
        Assert.That(await store.GetConversationAsync("a", conversation, default), Is.Null);
    }

    [Test]
    public async Task Under_concurrent_writes_and_reads_a_row_is_never_read_older_than_a_write_already_answered()
    {
        using var store = await NewStoreAsync();
        var conversations = Enumerable.Range(0, 4).Select(_ => "single_" + Ids.New()).ToArray();
        foreach (var c in conversations)
            await store.UpdateConversationAsync("a", c, null, _ => new ConversationRow { Id = c, UserId = "a" }, default);
        // Per row, the highest LastSeq whose write has been answered; a read that starts after must see at least it.
        var answered = new long[conversations.Length];
        var stale = 0;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2));

        async Task WriteAsync(int k)
        {
            while (!stop.IsCancellationRequested)
            {
                var written = await store.UpdateConversationAsync("a", conversations[k], null, row => row! with { LastSeq = row.LastSeq + 1 }, default);
                InterlockedMax(ref answered[k], written!.LastSeq);
            }
        }

        async Task ReadAsync(int k)
        {
            var lastSeen = 0L;
            while (!stop.IsCancellationRequested)
            {
                var floor = Volatile.Read(ref answered[k]);
                var row = (await store.GetConversationAsync("a", conversations[k], default))!;
                if (row.LastSeq < floor || row.LastSeq < lastSeen) Interlocked.Increment(ref stale);
                lastSeen = row.LastSeq;
                await Task.Yield();   // a read from memory completes at once: let the writers' continuations run
            }
        }

        await Task.WhenAll(Enumerable.Range(0, conversations.Length).SelectMany(k => new[]
        {
            Task.Run(() => WriteAsync(k)), Task.Run(() => WriteAsync(k)), Task.Run(() => ReadAsync(k)), Task.Run(() => ReadAsync(k)),
        }));
        Assert.That(stale, Is.Zero);
        Assert.That(answered.Min(), Is.GreaterThan(10), "the writes went on throughout");
        for (var k = 0; k < conversations.Length; k++)
            Assert.That((await store.GetConversationAsync("a", conversations[k], default))!.LastSeq, Is.EqualTo(answered[k]));
    }

    static void InterlockedMax(ref long target, long value)
    {
        for (var seen = Volatile.Read(ref target); seen < value; seen = Volatile.Read(ref target))
            if (Interlocked.CompareExchange(ref target, value, seen) == seen) return;
    }

    [Test]
    public async Task The_writer_keeps_its_savepoint_journals_in_memory_and_leaves_checkpoints_to_their_own_connection()
    {
        using var store = await NewStoreAsync();
        async Task<long> WriterPragmaAsync(string name) =>
            await store.WriteAsync(async connection =>
            {
                await using var command = connection.CreateCommand();
                command.CommandText = $"PRAGMA {name}";
                return (long)(await command.ExecuteScalarAsync())!;
            }, default);

        Assert.That(await WriterPragmaAsync("temp_store"), Is.EqualTo(2), "MEMORY: a batch's statement journal never spills to a temporary file");
        Assert.That(await WriterPragmaAsync("wal_autocheckpoint"), Is.EqualTo(300_000), "the writer's own checkpoint, which stalls it, is rare");
    }

    [Test]
    public async Task Committed_writes_reach_the_database_file_without_waiting_for_the_WAL_to_fill()
    {
        using var store = await NewStoreAsync();
        var users = Enumerable.Range(0, 50).Select(_ => NewUser()).ToList();
        await Task.WhenAll(users.Select(u => store.SaveUserAsync(u, default)));

        // The store holds its connections open, so SQLite has no reason of its own to checkpoint a WAL of a few pages:
        // only the checkpoint loop beside the writer moves them into the file. A copy of the file alone (no -wal)
        // shows what it holds.
        var found = 0L;
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (found < users.Count && waited.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(100);
            found = CountUsersInFileAlone();
        }

        Assert.That(found, Is.EqualTo(users.Count), "users in the database file without its WAL");
        Assert.That(store.Checkpoints, Is.GreaterThan(0));
    }

    [Test]
    public async Task Once_the_WAL_is_past_its_restart_length_the_writer_starts_it_over_between_two_batches()
    {
        // Under steady writes a commit always lands while the loop copies, so the loop alone never finds the whole WAL
        // copied and SQLite never starts it over before the writer's backstop at 300,000 pages. Here a batch held open
        // stands for that: it commits right after the loop's checkpoint, and the next write follows at once.
        var options = new SqliteStoreOptions { Path = Path.Combine(directory, "im.db"), Synchronous = SqliteSynchronous.Normal };
        using var store = new SqliteImStore(options) { WalRestartPages = 1 };
        await store.InitializeAsync(default);
        await store.SaveUserAsync(NewUser(), default);

        var restarted = 0;
        for (var round = 0; round < 3; round++)
        {
            using (var gate = await Gate.CloseAsync(store))
            {
                // The loop copies every committed frame while the batch is open and finds the WAL past its length.
                await NextCheckpointAsync(store);
                await gate.OpenWhenQueuedAsync(store, 0);
            }
            var before = WalRestarts(options.Path);
            await store.SaveUserAsync(NewUser(), default);
            if (WalRestarts(options.Path) > before) restarted++;
        }

        // A tick of the loop may land between the held batch's commit and the next write (a few milliseconds of 250):
        // then that round proves nothing either way.
        Assert.That(restarted, Is.GreaterThanOrEqualTo(2), "rounds in which the write after the held batch started the WAL over");
    }

    [Test]
    public async Task The_loop_syncs_the_database_file_after_a_checkpoint_that_copied_only_part_of_the_WAL()
    {
        var options = new SqliteStoreOptions { Path = Path.Combine(directory, "im.db"), Synchronous = SqliteSynchronous.Normal };
        using var store = new SqliteImStore(options);
        await store.InitializeAsync(default);
        await store.SaveUserAsync(NewUser(), default);
        await NextCheckpointAsync(store);
        // Nobody reading: the loop copies the whole WAL, and SQLite syncs the file itself.
        Assert.That(store.DatabaseSyncs, Is.Zero);

        // A reader inside a transaction keeps its snapshot, so what is committed after it cannot be copied yet. A round
        // in which the loop copied the first write before the reader began (its snapshot then reads the file alone, and
        // nothing at all can be copied) proves nothing; another round follows.
        for (var round = 0; round < 3 && store.DatabaseSyncs == 0; round++)
        {
            await store.SaveUserAsync(NewUser(), default);
            using var reader = new SqliteConnection($"Data Source={options.Path};Pooling=False");
            reader.Open();
            using var snapshot = reader.BeginTransaction(deferred: true);
            using (var read = reader.CreateCommand())
            {
                read.CommandText = "SELECT count(*) FROM users";
                read.ExecuteScalar();
            }
            await store.SaveUserAsync(NewUser(), default);
            await NextCheckpointAsync(store);
        }

        Assert.That(store.DatabaseSyncs, Is.GreaterThan(0), "the loop synced the file after copying part of the WAL");
    }

    [Test]
    public void The_loop_hands_the_database_file_to_the_disk_a_step_at_a_time_and_changes_none_of_it()
    {
        var path = Path.Combine(directory, "steps.db");
        var bytes = new byte[2 * SqliteImStore.WriteBackStep + 1];
        Random.Shared.NextBytes(bytes);
        File.WriteAllBytes(path, bytes);
        using (var file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite))
        {
            // Every step is accepted (a wrong signature or flag would be refused at the first and stop there).
            Assert.That(SqliteImStore.WriteBackInSteps(file, RandomAccess.GetLength(file)), Is.EqualTo(OperatingSystem.IsLinux() ? 3 : 0));
            Assert.That(SqliteImStore.WriteBackInSteps(file, 0), Is.Zero);
        }
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(bytes));
    }

    static async Task NextCheckpointAsync(SqliteImStore store)
    {
        var checkpoints = store.Checkpoints;
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (store.Checkpoints == checkpoints && waited.Elapsed < TimeSpan.FromSeconds(10)) await Task.Delay(5);
        Assert.That(store.Checkpoints, Is.GreaterThan(checkpoints), "the loop ran a checkpoint");
    }

    /// <summary>The WAL header's checkpoint sequence number: SQLite counts up each time it starts the WAL over.</summary>
    static long WalRestarts(string databasePath)
    {
        using var wal = new FileStream(databasePath + "-wal", FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        Span<byte> header = stackalloc byte[16];
        wal.ReadExactly(header);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(header[12..]);
    }

    long CountUsersInFileAlone()
    {
        var copy = Path.Combine(directory, "copy-" + Guid.NewGuid().ToString("N") + ".db");
        File.Copy(Path.Combine(directory, "im.db"), copy);
        try
        {
            using var connection = new SqliteConnection($"Data Source={copy};Pooling=False");
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT count(*) FROM users";
            return (long)command.ExecuteScalar()!;
        }
        catch (SqliteException)
        {
            return 0;   // copied in the middle of a checkpoint: the next copy will do
        }
        finally
        {
            File.Delete(copy);
        }
    }

    [Test]
    public void A_read_that_a_commit_overtook_does_not_put_its_older_row_in_the_cache()
    {
        var cache = new ConversationRowCache(capacity: 2);
        var older = new ConversationRow { Id = "c", UserId = "u", LastSeq = 1 };
        var newer = older with { LastSeq = 2 };

        var stamp = cache.Stamp;                       // a read begins on a pooled connection, sees LastSeq 1
        cache.Committed([(("u", "c"), newer)]);        // meanwhile a commit writes LastSeq 2
        cache.Offer("u", "c", older, stamp);           // the read ends
        Assert.That(cache.TryGet("u", "c", out var row) ? row!.LastSeq : 0, Is.EqualTo(2));

        cache.Clear();
        stamp = cache.Stamp;
        cache.Committed([(("u", "other"), newer)]);
        cache.Offer("u", "c", older, stamp);
        Assert.That(cache.TryGet("u", "c", out _), Is.False, "cleared, and the read's row came from before a commit");

        stamp = cache.Stamp;
        cache.Offer("u", "c", older, stamp);
        cache.Offer("u", "d", older, stamp);
        Assert.That(cache.Count, Is.EqualTo(2), "at capacity, reads add nothing");
        cache.Committed([(("u", "e"), newer)]);
        Assert.That(cache.Count, Is.Zero, "a commit past capacity starts over");
    }

    [Test]
    public async Task A_write_cancelled_while_it_waits_never_runs_and_its_batch_mates_commit()
    {
        using var store = await NewStoreAsync();
        var (cancelled, kept) = (NewUser(), NewUser());
        using var cts = new CancellationTokenSource();

        using var gate = await Gate.CloseAsync(store);
        var cancelledSave = store.SaveUserAsync(cancelled, cts.Token);
        var keptSave = store.SaveUserAsync(kept, default);
        cts.Cancel();
        Assert.That(async () => await cancelledSave, Throws.InstanceOf<OperationCanceledException>(), "answered at once, not after the batch");
        await gate.OpenWhenQueuedAsync(store, 2);

        await keptSave;
        Assert.That(await store.GetUserAsync(kept.Id, default), Is.Not.Null);
        Assert.That(await store.GetUserAsync(cancelled.Id, default), Is.Null);
    }

    [Test]
    public async Task Dispose_lets_queued_writes_commit_and_refuses_later_ones()
    {
        var store = await NewStoreAsync();
        var queued = NewUser();
        using var gate = await Gate.CloseAsync(store);
        var save = store.SaveUserAsync(queued, default);
        var disposing = Task.Run(store.Dispose);
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (true)   // until Dispose has closed the queue: a new write is refused
        {
            try { await store.SaveUserAsync(NewUser(), default).WaitAsync(TimeSpan.FromMilliseconds(50)); }
            catch (ObjectDisposedException) { break; }
            catch (TimeoutException) { }
            Assert.That(waited.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)), "Dispose never closed the write queue");
        }
        await gate.OpenWhenQueuedAsync(store, 0);
        await save;
        await disposing.WaitAsync(TimeSpan.FromSeconds(10));

        using var reopened = await NewStoreAsync();
        Assert.That(await reopened.GetUserAsync(queued.Id, default), Is.Not.Null);
    }

    [Test]
    public async Task Writes_run_on_the_stores_own_writer_thread_not_on_the_thread_pool()
    {
        using var store = await NewStoreAsync();
        var first = await store.WriteAsync(_ => Task.FromResult(Thread.CurrentThread), default);
        var second = await store.WriteAsync(_ => Task.FromResult(Thread.CurrentThread), default);

        Assert.That(first.IsThreadPoolThread, Is.False);
        Assert.That(first.Name, Is.EqualTo("SQLite writer"));
        Assert.That(second, Is.SameAs(first), "one thread for every batch");
    }

    [Test]
    public async Task The_writer_thread_runs_below_the_process_nice_value_unless_the_OS_refuses()
    {
        if (!OperatingSystem.IsLinux()) Assert.Ignore("nice values per thread are Linux's");
        using var store = await NewStoreAsync();
        var writerNice = await store.WriteAsync(_ => Task.FromResult(NiceValues.Of("/proc/thread-self/stat")), default);
        var processNice = NiceValues.OfProcess();

        // Only a process without CAP_SYS_NICE is refused; where it has it (root on CI) the raise itself is tested.
        if (HasCapSysNice())
        {
            Assert.That(store.WriterPriorityRaised, Is.True);
            Assert.That(writerNice, Is.EqualTo(Math.Max(processNice - 5, -20)));
        }
        else
        {
            Assert.That(store.WriterPriorityRaised, Is.False);
            Assert.That(writerNice, Is.EqualTo(processNice));
        }

        // CAP_SYS_NICE is capability 23 of the effective set (CapEff: a hexadecimal mask in /proc/self/status).
        static bool HasCapSysNice()
        {
            var line = File.ReadLines("/proc/self/status").Single(l => l.StartsWith("CapEff:"));
            return (Convert.ToUInt64(line["CapEff:".Length..].Trim(), 16) & (1UL << 23)) != 0;
        }
    }

    [Test]
    public async Task Concurrent_sends_share_commits_and_every_conversation_stays_gap_free()
    {
        using var store = await NewStoreAsync();
        var users = new UserDirectory(store, new MemoryCache(new MemoryCacheOptions()));
        var messenger = NewMessenger(store, users);
        var people = Enumerable.Range(0, 9).Select(_ => NewUser()).ToArray();
        foreach (var user in people) await users.SaveAsync(user, default);
        const int perSender = 15;

        var commitsBefore = store.Commits;
        // Eight senders, two by two into four conversations, and all of them also into the ninth user's.
        var sent = await Task.WhenAll(Enumerable.Range(0, 8).Select(s => Task.Run(async () =>
        {
            var seqs = new List<(string Conversation, long Seq)>();
            for (var i = 0; i < perSender; i++)
            {
                var to = i % 2 == 0 ? people[s ^ 1] : people[8];
                var message = (await messenger.SendAsync(people[s], new SendMessage(to.Id, null, "__UNI__TEST", "text",
                    JsonSerializer.SerializeToElement($"{s}-{i}"), null), default)).Match(m => m, e => throw new AssertionException(e.Message));
                seqs.Add((message.ConversationId, message.Seq));
            }
            return seqs;
        })));

        var sends = 8 * perSender;
        Assert.That(store.Commits - commitsBefore, Is.LessThan(sends), "each send is one write: batches of more than one send committed together");
        foreach (var conversation in sent.SelectMany(s => s).GroupBy(s => s.Conversation))
        {
            var seqs = conversation.Select(s => s.Seq).Order().ToArray();
            Assert.That(seqs, Is.EqualTo(Enumerable.Range(1, seqs.Length).Select(i => (long)i)), conversation.Key);
            var stored = await store.ReadMessagesAsync(conversation.Key, new SeqWindow(AfterSeq: 0), 1000, default);
            Assert.That(stored.Select(m => m.Seq), Is.EqualTo(seqs), conversation.Key);
        }
    }

    [Test]
    public async Task An_append_that_would_leave_a_gap_or_go_back_in_time_is_refused_with_the_head_and_stores_nothing()
    {
        using var store = await NewStoreAsync();
        var conversation = "single_" + Ids.New();
        Assert.That(await store.TryAppendMessageAsync(NewMessage(conversation, 2), default), Is.EqualTo(AppendResult.SeqTaken(default)));
        var first = NewMessage(conversation, 1) with { CreateTime = 50, UpdateTime = 50 };
        Assert.That(await store.TryAppendMessageAsync(first, default), Is.EqualTo(AppendResult.Appended));
        var skipping = NewMessage(conversation, 3) with { CreateTime = 60, UpdateTime = 60 };
        Assert.That(await store.TryAppendMessageAsync(skipping, default), Is.EqualTo(AppendResult.SeqTaken(new ConversationHead(1, 50))));
        var earlier = NewMessage(conversation, 2) with { CreateTime = 49, UpdateTime = 49 };
        Assert.That(await store.TryAppendMessageAsync(earlier, default), Is.EqualTo(AppendResult.SeqTaken(new ConversationHead(1, 50))));
        foreach (var refused in new[] { skipping, earlier })
            Assert.That(await store.GetMessageAsync(conversation, refused.Id, default), Is.Null);
        Assert.That(await store.TryAppendMessageAsync(earlier with { CreateTime = 50, UpdateTime = 50 }, default), Is.EqualTo(AppendResult.Appended),
            "the same time as the head's follows it");
        Assert.That(store.AppendsInCallOrder, Is.True);
    }

    [Test]
    public async Task A_conversation_whose_messages_were_all_deleted_keeps_its_highest_seq_as_its_head_whatever_the_order()
    {
        using var store = await NewStoreAsync();
        var conversation = "single_" + Ids.New();
        for (var seq = 1; seq <= 3; seq++)
            Assert.That(await store.TryAppendMessageAsync(NewMessage(conversation, seq) with { CreateTime = 10 * seq, UpdateTime = 10 * seq }, default),
                Is.EqualTo(AppendResult.Appended));
        // Deleted beside the store, the last one first: when seq 2 goes, it is the last left, yet not the head.
        await using (var connection = new SqliteConnection($"Data Source={Path.Combine(directory, "im.db")}"))
        {
            await connection.OpenAsync();
            foreach (var seq in new[] { 3, 1, 2 })
            {
                await using var delete = connection.CreateCommand();
                delete.CommandText = "DELETE FROM messages WHERE conversation_id = $c AND seq = $s";
                delete.Parameters.AddWithValue("$c", conversation);
                delete.Parameters.AddWithValue("$s", seq);
                Assert.That(await delete.ExecuteNonQueryAsync(), Is.EqualTo(1));
            }
        }

        var next = NewMessage(conversation, 3) with { CreateTime = 40, UpdateTime = 40 };
        Assert.That(await store.TryAppendMessageAsync(next, default), Is.EqualTo(AppendResult.SeqTaken(new ConversationHead(3, 30))));
        Assert.That(await store.TryAppendMessageAsync(next with { Seq = 4 }, default), Is.EqualTo(AppendResult.Appended));
    }

    static async Task<(Messenger Messenger, User A, User B)> TwoUsersAsync(SqliteImStore store, TimeProvider? clock = null)
    {
        var users = new UserDirectory(store, new MemoryCache(new MemoryCacheOptions()));
        var (a, b) = (NewUser(), NewUser());
        foreach (var user in new[] { a, b }) await users.SaveAsync(user, default);
        return (NewMessenger(store, users, clock), a, b);
    }

    static Messenger NewMessenger(SqliteImStore store, UserDirectory users, TimeProvider? clock = null)
    {
        var options = new UniImOptions();
        var pushes = new PushDispatcher(new RecordingPushGateway(), NullLogger<PushDispatcher>.Instance, new PushDispatchOptions());
        return new Messenger(store, users, new TalkPolicy(options, (IFriendStore)store, new FakeGroups()), pushes, options,
            clock ?? TimeProvider.System, new FakeGroups());
    }

    static SendMessage Text(User to, string text, string? clientMsgId = null) =>
        new(to.Id, null, "__UNI__TEST", "text", JsonSerializer.SerializeToElement(text), clientMsgId);

    /// <summary>Starts a send and waits until its append queues on the writer (held by a gate), so claims are made in this order.</summary>
    static async Task<Task<Result<SentMessage>>> QueuedSendAsync(SqliteImStore store, Messenger messenger, User from, SendMessage request)
    {
        var queuedBefore = store.QueuedWrites;
        var send = Task.Run(() => messenger.SendAsync(from, request, default));
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (store.QueuedWrites == queuedBefore)
        {
            Assert.That(waited.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)),
                "the send's append did not queue behind the ones ahead of it (it waited for them to be stored)");
            await Task.Delay(5);
        }
        return send;
    }

    static SentMessage Ok(Result<SentMessage> result) => result.Match(m => m, e => throw new AssertionException(e.Message));

    [Test]
    public async Task A_send_that_took_its_time_before_the_message_ahead_of_it_takes_that_message_s_time()
    {
        using var store = await NewStoreAsync();
        var clock = new ManualClock();
        var (messenger, a, b) = await TwoUsersAsync(store, clock);
        var first = Ok(await messenger.SendAsync(a, Text(b, "first"), default));

        // Alone in its turn: the store refuses the earlier time and answers with the head's.
        clock.Advance(TimeSpan.FromMinutes(-1));
        var second = Ok(await messenger.SendAsync(b, Text(a, "second"), default));

        // In one line: the claim ahead's time is taken before the store sees it.
        using (var gate = await Gate.CloseAsync(store))
        {
            clock.Advance(TimeSpan.FromMinutes(2));
            var third = await QueuedSendAsync(store, messenger, a, Text(b, "third"));
            clock.Advance(TimeSpan.FromMinutes(-1));
            var fourth = await QueuedSendAsync(store, messenger, b, Text(a, "fourth"));
            await gate.OpenWhenQueuedAsync(store, 2);
            Assert.That((Ok(await third).Seq, Ok(await fourth).Seq), Is.EqualTo((3L, 4L)));
        }

        var stored = await store.ReadMessagesAsync(first.ConversationId, new SeqWindow(AfterSeq: 0), 10, default);
        var times = stored.Select(m => m.CreateTime).ToArray();
        Assert.That(stored.Select(m => m.Seq), Is.EqualTo(new[] { 1L, 2L, 3L, 4L }));
        Assert.That((second.CreateTime, times[1]), Is.EqualTo((first.CreateTime, first.CreateTime)), "the answer gives the time stored");
        Assert.That(times[3], Is.EqualTo(times[2]).And.GreaterThan(first.CreateTime));
        Assert.That(stored.Select(m => m.UpdateTime), Is.EqualTo(times), "a new message is updated when it is created");
        var row = await store.GetConversationAsync(b.Id, first.ConversationId, default);
        Assert.That(row?.LastMsgCreateTime, Is.EqualTo(times[3]), "the rows carry the time stored");
    }

    [Test]
    public async Task Sends_to_one_conversation_queue_behind_each_other_and_a_refused_one_breaks_the_line_without_a_gap()
    {
        using var store = await NewStoreAsync();
        var (messenger, a, b) = await TwoUsersAsync(store);
        var original = Ok(await messenger.SendAsync(a, Text(b, "hello", "c-1"), default));

        using var gate = await Gate.CloseAsync(store);
        // Three claims in one line, queued together in the next batch: 2 (a retry of seq 1's message, refused as a duplicate), then 3 and 4.
        var retry = await QueuedSendAsync(store, messenger, a, Text(b, "hello", "c-1"));
        var second = await QueuedSendAsync(store, messenger, b, Text(a, "second"));
        var third = await QueuedSendAsync(store, messenger, a, Text(b, "third"));
        await gate.OpenWhenQueuedAsync(store, 3);

        Assert.That(Ok(await retry), Is.EqualTo(original), "the retry answers with the original");
        var (two, three) = (Ok(await second), Ok(await third));
        Assert.That(new[] { two.Seq, three.Seq }.Order(), Is.EqualTo(new[] { 2L, 3L }), "the claims behind the refused one were made again");
        var stored = await store.ReadMessagesAsync(original.ConversationId, new SeqWindow(AfterSeq: 0), 10, default);
        Assert.That(stored.Select(m => (m.Seq, m.Id)), Is.EqualTo(new[] { (1L, original.Id), (two.Seq, two.Id), (three.Seq, three.Id) }.OrderBy(m => m.Item1)));
        var row = await store.GetConversationAsync(b.Id, original.ConversationId, default);
        Assert.That((row?.LastSeq, row?.UnreadCount), Is.EqualTo((3L, 3L - two.Seq)), "b has read up to its own message");
    }

    [Test]
    public async Task A_failed_commit_under_a_line_of_sends_leaves_no_gap_for_the_sends_after_it()
    {
        using var store = await NewStoreAsync();
        var (messenger, a, b) = await TwoUsersAsync(store);
        var first = Ok(await messenger.SendAsync(a, Text(b, "first"), default));

        using var gate = await Gate.CloseAsync(store);
        var breaksCommit = store.WriteAsync(connection =>
        {
            raw.sqlite3_commit_hook(connection.Handle, _ => 1, null);
            return Task.FromResult(0);
        }, default);
        var lost = new[]
        {
            await QueuedSendAsync(store, messenger, a, Text(b, "lost 2")),
            await QueuedSendAsync(store, messenger, b, Text(a, "lost 3")),
        };
        await gate.OpenWhenQueuedAsync(store, 3);
        foreach (var send in lost) Assert.That(async () => await send, Throws.TypeOf<DependencyUnavailableException>());
        Assert.That(async () => await breaksCommit, Throws.TypeOf<DependencyUnavailableException>());
        await store.WriteAsync(connection =>
        {
            raw.sqlite3_commit_hook(connection.Handle, null, null);
            return Task.FromResult(0);
        }, default);

        var next = Ok(await messenger.SendAsync(b, Text(a, "next"), default));
        Assert.That(next.Seq, Is.EqualTo(2), "seqs 2 and 3 were never stored");
        var stored = await store.ReadMessagesAsync(first.ConversationId, new SeqWindow(AfterSeq: 0), 10, default);
        Assert.That(stored.Select(m => m.Seq), Is.EqualTo(new[] { 1L, 2L }));
    }

    [Test]
    public async Task The_writer_syncs_every_commit_by_default_and_only_at_checkpoints_when_set_to_normal()
    {
        static Task<long> WriterSynchronous(SqliteImStore store) => store.WriteAsync(async connection =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA synchronous";
            return (long)(await command.ExecuteScalarAsync())!;
        }, default);

        using (var byDefault = await NewStoreAsync())
            Assert.That(await WriterSynchronous(byDefault), Is.EqualTo(2), "FULL");
        using (var normal = await NewStoreAsync(SqliteSynchronous.Normal))
            Assert.That(await WriterSynchronous(normal), Is.EqualTo(1), "NORMAL");

        await using (var app = await TestApp.StartAsync(new Dictionary<string, string?> { ["Storage:Sqlite:Synchronous"] = "normal" }))
            Assert.That(await WriterSynchronous((SqliteImStore)app.App.Services.GetRequiredService<IImStore>()), Is.EqualTo(1));
        await using (var app = await TestApp.StartAsync())
            Assert.That(await WriterSynchronous((SqliteImStore)app.App.Services.GetRequiredService<IImStore>()), Is.EqualTo(2));
    }

    [Test]
    public void A_synchronous_setting_other_than_full_or_normal_stops_the_host_at_startup()
    {
        Assert.That(async () => await TestApp.StartAsync(new Dictionary<string, string?> { ["Storage:Sqlite:Synchronous"] = "OFF" }),
            Throws.InvalidOperationException.With.Message.EqualTo("Storage:Sqlite:Synchronous must be 'Full' or 'Normal' (got 'OFF')."));
    }
}
