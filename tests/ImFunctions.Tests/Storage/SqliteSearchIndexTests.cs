using System.Text.Json;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Messages;
using ImFunctions.Core.Storage;
using ImFunctions.Core.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace ImFunctions.Tests.Storage;

/// <summary>
/// SQLite indexes message texts for search a moment after the send, in batches, not in the send's commit: the loop
/// catches up on its own, a search catches up first, and a revoke hides a text whether it was indexed yet or not.
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

    async Task<long> IndexedTextsAsync()
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(directory, "im.db")};Pooling=False");
        await connection.OpenAsync();
        await using var count = connection.CreateCommand();
        count.CommandText = "SELECT count(*) FROM message_fts";
        return (long)(await count.ExecuteScalarAsync())!;
    }

    Task RevokeAsync(Message message) =>
        store.UpdateMessageAsync(message.ConversationId, message.Id, m => m! with { IsRevoke = true, Body = JsonSerializer.SerializeToElement<object?>(null), UpdateTime = m.UpdateTime + 1 }, default);

    [Test]
    public async Task Texts_are_indexed_a_moment_after_the_send_without_any_search()
    {
        for (var i = 0; i < 20; i++) await AppendAsync($"message number {i}");
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (await IndexedTextsAsync() < 20 && waited.Elapsed < TimeSpan.FromSeconds(10)) await Task.Delay(50);
        Assert.That(await IndexedTextsAsync(), Is.EqualTo(20));
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
    }

    [Test]
    public async Task A_message_removed_by_the_retention_sweep_takes_its_text_out_of_the_index()
    {
        await AppendAsync("expired private words");   // created at 1001
        await AppendAsync("kept words");              // created at 1002
        await store.IndexPendingAsync(default);

        Assert.That(await store.DeleteMessagesCreatedBeforeAsync(1_002, 500, default), Is.EqualTo(1));

        Assert.That(await IndexedTextsAsync(), Is.EqualTo(1));
        Assert.That(await SearchAsync("words"), Has.Count.EqualTo(1));
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
        }
        Assert.That(await IndexedTextsAsync(), Is.Zero);

        Assert.That((await SearchAsync("needle")).Select(m => m.Seq), Is.EqualTo(new[] { 4500L }));
        Assert.That(await IndexedTextsAsync(), Is.EqualTo(4500), "every text, over three chunks");
    }
}
