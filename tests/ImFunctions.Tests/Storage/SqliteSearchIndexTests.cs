using System.Text.Json;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Messages;
using ImFunctions.Core.Storage;
using ImFunctions.Core.Storage.Sqlite;
using ImFunctions.Tests.Support;
using Microsoft.Data.Sqlite;

namespace ImFunctions.Tests.Storage;

/// <summary>
/// SQLite indexes message texts for search a moment after the send, in batches, in a file of its own beside the store's,
/// never on the store's writer: the loop catches up on its own, a search catches up first, a revoke hides a text whether
/// it was indexed yet or not, and the index, derived from the messages, is rebuilt when missing and never ahead of them.
/// </summary>
public sealed class SqliteSearchIndexTests
{
    string directory = null!;
    SqliteImStore store = null!;

    [SetUp]
    public async Task NewStore()
    {
        directory = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "imfunctions-fts-tests", Guid.NewGuid().ToString("N"))).FullName;
        store = new SqliteImStore(new SqliteStoreOptions { Path = Path.Combine(directory, "im.db") });
        await store.InitializeAsync(default);
        seq = 0;
    }

    [TearDown]
    public void RemoveStore()
    {
        store.Dispose();
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(directory, recursive: true); } catch (IOException) { }
    }

    long seq;   // each test's conversation starts empty: seqs follow the head, gap-free

    async Task<Message> AppendAsync(string text)
    {
        var message = new Message
        {
            Id = Ids.New(), ConversationId = "single_fts", Seq = ++seq, FromUid = "a", ToUid = "b", Appid = "__UNI__TEST",
            Type = "text", Body = JsonSerializer.SerializeToElement(text), CreateTime = 1_000 + seq, UpdateTime = 1_000 + seq,
        };
        Assert.That((await store.TryAppendMessageAsync(message, default)).Status, Is.EqualTo(AppendStatus.Appended));
        return message;
    }

    Task<IReadOnlyList<Message>> SearchAsync(string keyword) =>
        store.SearchMessagesAsync([new SearchScope("single_fts")], MessageSearchText.Keyword(keyword), long.MaxValue, 10, default);

    string StorePath => Path.Combine(directory, "im.db");

    /// <summary>The texts indexed once <paramref name="expected"/> are, or after 10 s, with no search to catch up.</summary>
    async Task<long> IndexedByTheLoopAsync(long expected)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (await IndexedTextsAsync() < expected && waited.Elapsed < TimeSpan.FromSeconds(10)) await Task.Delay(50);
        return await IndexedTextsAsync();
    }

    async Task<long> IndexedTextsAsync() => await ScalarAsync<long>(Path.Combine(directory, "im.search.db"), "SELECT count(*) FROM message_fts");

    static async Task<T> ScalarAsync<T>(string path, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (T)(await command.ExecuteScalarAsync())!;
    }

    async Task ReopenAsync(Action? whileClosed = null)
    {
        store.Dispose();
        SqliteConnection.ClearAllPools();
        whileClosed?.Invoke();
        store = new SqliteImStore(new SqliteStoreOptions { Path = StorePath });
        await store.InitializeAsync(default);
    }

    Task RevokeAsync(Message message) =>
        store.UpdateMessageAsync(message.ConversationId, message.Id, m => m! with { IsRevoke = true, Body = JsonSerializer.SerializeToElement<object?>(null), UpdateTime = m.UpdateTime + 1 }, default);

    [Test]
    public async Task Texts_are_indexed_a_moment_after_the_send_without_any_search()
    {
        for (var i = 0; i < 20; i++) await AppendAsync($"message number {i}");
        Assert.That(await IndexedByTheLoopAsync(20), Is.EqualTo(20));
    }

    [Test]
    public async Task A_search_finds_a_message_stored_just_before_it()
    {
        await AppendAsync("the freshest news");
        Assert.That((await SearchAsync("freshest")).Select(m => m.Body.GetString()), Is.EqualTo(new[] { "the freshest news" }));
    }

    [Test]
    public async Task A_search_with_nothing_pending_answers_while_the_writer_is_busy()
    {
        await AppendAsync("already indexed");
        Assert.That(await SearchAsync("indexed"), Has.Count.EqualTo(1));   // indexes it
        var held = new TaskCompletionSource();
        var entered = new TaskCompletionSource();
        var holding = store.WriteAsync(async _ => { entered.SetResult(); await held.Task; return 0; }, default);
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        try
        {
            var found = await SearchAsync("indexed").WaitAsync(TimeSpan.FromSeconds(5));
            Assert.That(found.Select(m => m.Body.GetString()), Is.EqualTo(new[] { "already indexed" }));
        }
        finally
        {
            held.SetResult();
            await holding;
        }
    }

    [Test]
    public async Task A_revoked_text_is_not_found_whether_it_was_indexed_before_the_revoke_or_after()
    {
        var indexedFirst = await AppendAsync("alpha secret");
        await store.IndexPendingAsync(default);
        await RevokeAsync(indexedFirst);

        var pending = await AppendAsync("beta secret");
        await RevokeAsync(pending);   // well inside the loop's first interval: its text is indexed only after this

        Assert.That(await SearchAsync("secret"), Is.Empty);
        Assert.That(await SearchAsync("alpha"), Is.Empty);
        Assert.That(await SearchAsync("beta"), Is.Empty);
        Assert.That(await IndexedTextsAsync(), Is.EqualTo(2), "both are in the index, with no text");
        Assert.That(await ScalarAsync<long>(StorePath, "SELECT count(*) FROM search_changed"), Is.Zero, "the changes, taken in, are struck");
    }

    [Test]
    public async Task An_edit_is_found_by_its_new_text_and_no_longer_by_its_old()
    {
        var message = await AppendAsync("draft wording");
        await store.IndexPendingAsync(default);
        await store.UpdateMessageAsync(message.ConversationId, message.Id,
            m => m! with { Body = JsonSerializer.SerializeToElement("final wording"), UpdateTime = m.UpdateTime + 1 }, default);

        Assert.That(await SearchAsync("draft"), Is.Empty);
        Assert.That((await SearchAsync("final")).Select(m => m.Id), Is.EqualTo(new[] { message.Id }));
    }

    [Test]
    public async Task The_index_is_written_beside_the_writer_never_on_it()
    {
        await AppendAsync("written before the writer was held");
        var held = new TaskCompletionSource();
        var entered = new TaskCompletionSource();
        var holding = store.WriteAsync(async _ => { entered.SetResult(); await held.Task; return 0; }, default);
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        try
        {
            await store.IndexPendingAsync(default).WaitAsync(TimeSpan.FromSeconds(5));
            Assert.That(await IndexedTextsAsync(), Is.EqualTo(1));
            Assert.That((await SearchAsync("before")).Select(m => m.Body.GetString()), Is.EqualTo(new[] { "written before the writer was held" }));
        }
        finally
        {
            held.SetResult();
            await holding;
        }
    }

    [Test]
    public async Task The_indexer_runs_on_a_thread_of_its_own_below_the_process_priority()
    {
        if (!OperatingSystem.IsLinux()) Assert.Ignore("nice values per thread are Linux's");
        await AppendAsync("indexed by the loop, not by a search");
        Assert.That(await IndexedByTheLoopAsync(1), Is.EqualTo(1));

        var indexers = Directory.GetDirectories($"/proc/{Environment.ProcessId}/task")
            .Where(task => File.ReadAllText(Path.Combine(task, "comm")).Trim() == "SQLite indexer").ToList();
        Assert.That(indexers, Is.Not.Empty);
        Assert.That(indexers.Select(task => NiceValues.Of(Path.Combine(task, "stat"))), Is.All.EqualTo(Math.Min(NiceValues.OfProcess() + 10, 19)));
    }

    [Test]
    public async Task A_missing_search_file_is_built_again_from_the_messages()
    {
        await AppendAsync("kept in the messages");
        await AppendAsync("and this too");
        await store.IndexPendingAsync(default);

        await ReopenAsync(() =>
        {
            foreach (var file in Directory.GetFiles(directory, "im.search.db*")) File.Delete(file);
        });

        Assert.That((await SearchAsync("kept")).Select(m => m.Seq), Is.EqualTo(new[] { 1L }));
        Assert.That(await IndexedTextsAsync(), Is.EqualTo(2));
    }

    [Test]
    public async Task An_index_ahead_of_its_messages_is_cut_back_when_the_store_opens()
    {
        await AppendAsync("first");
        await AppendAsync("lost in a crash");
        await store.IndexPendingAsync(default);

        // The store's file loses its last commit (synchronous=NORMAL and a power cut): no trigger saw it go.
        await ReopenAsync(() =>
        {
            using var connection = new SqliteConnection($"Data Source={StorePath};Pooling=False");
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "DROP TRIGGER messages_search_deleted; DROP TRIGGER messages_head_deleted; DELETE FROM messages WHERE seq = 2;";
            command.ExecuteNonQuery();
        });
        seq = 1;
        var reused = await AppendAsync("written after the crash");   // takes the lost message's rowid
        Assert.That(await ScalarAsync<long>(StorePath, "SELECT rid FROM messages WHERE seq = 2"), Is.EqualTo(2), "the rowid is handed out again");

        Assert.That((await SearchAsync("after")).Select(m => m.Id), Is.EqualTo(new[] { reused.Id }), "the new message is indexed by its own text");
        Assert.That(await SearchAsync("lost"), Is.Empty, "the lost message's text left the index");
    }

    [Test]
    public async Task A_message_removed_by_the_retention_sweep_takes_its_text_out_of_the_index()
    {
        await AppendAsync("expired private words");   // created at 1001
        await AppendAsync("kept words");              // created at 1002
        await store.IndexPendingAsync(default);

        Assert.That(await store.DeleteMessagesCreatedBeforeAsync(1_002, 500, default), Is.EqualTo(1));

        Assert.That(await SearchAsync("words"), Has.Count.EqualTo(1));
        Assert.That(await IndexedTextsAsync(), Is.EqualTo(1), "taken out by the search's catching up, if the loop had not yet");
        var next = await AppendAsync("new words");
        Assert.That((await SearchAsync("words")).Select(m => m.Id), Does.Contain(next.Id), "a text after the purge is indexed as any other");
    }

    [Test]
    public async Task A_backlog_written_by_another_writer_of_the_file_is_indexed_in_chunks_before_a_search()
    {
        // A seeder or an older build wrote the messages: they have their search ids (rowids), the texts are not indexed.
        await using (var other = new SqliteConnection($"Data Source={Path.Combine(directory, "im.db")};Pooling=False"))
        {
            await other.OpenAsync();
            await using var tx = await other.BeginTransactionAsync();
            await using var insert = other.CreateCommand();
            insert.CommandText = "INSERT INTO messages (conversation_id, seq, id, update_time, doc) VALUES ('single_fts', $s, $id, $s, $doc)";
            var (s, id, doc) = (insert.Parameters.Add("$s", SqliteType.Integer), insert.Parameters.Add("$id", SqliteType.Text), insert.Parameters.Add("$doc", SqliteType.Text));
            for (var i = 1; i <= 4500; i++)
            {
                (s.Value, id.Value) = (i, Ids.New());
                doc.Value = $$"""{"_id":"{{id.Value}}","conversation_id":"single_fts","seq":{{i}},"from_uid":"a","to_uid":"b","appid":"__UNI__TEST","type":"text","body":"backlog {{(i == 4500 ? "needle" : "hay")}} {{i}}","create_time":{{i}},"update_time":{{i}}}""";
                await insert.ExecuteNonQueryAsync();
            }
            await tx.CommitAsync();
            // The last one edited before any was indexed: its change is noted above the chunks still to come.
            await using var edit = other.CreateCommand();
            edit.CommandText = "UPDATE messages SET doc = replace(doc, 'hay 4499', 'pin 4499') WHERE seq = 4499";
            await edit.ExecuteNonQueryAsync();
        }
        Assert.That(await IndexedTextsAsync(), Is.Zero);

        Assert.That((await SearchAsync("needle")).Select(m => m.Seq), Is.EqualTo(new[] { 4500L }));
        Assert.That(await IndexedTextsAsync(), Is.EqualTo(4500), "every text, over three chunks");
        Assert.That((await SearchAsync("hay 3000")).Select(m => m.Seq), Is.EqualTo(new[] { 3000L }), "the change passed over none of the chunks");
        Assert.That((await SearchAsync("pin 4499")).Select(m => m.Seq), Is.EqualTo(new[] { 4499L }));
    }
}
