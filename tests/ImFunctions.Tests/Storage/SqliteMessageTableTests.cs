using System.Text.Json;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Messages;
using ImFunctions.Core.Storage;
using ImFunctions.Core.Storage.Sqlite;
using ImFunctions.Tests.Support;
using Microsoft.Extensions.Logging;

namespace ImFunctions.Tests.Storage;

/// <summary>
/// Messages live in an ordinary (rowid) table, appended at its end, and a message's rowid is its search id; a file
/// written before 2026-12 kept them WITHOUT ROWID with the search ids in a table of their own, and is moved over when
/// a store opens it: every message keeps its search id, and the index of that time, kept in the store's file then,
/// is built again in its own file. A send's documents go in as UTF-8 and are stored as text, as every document is.
/// </summary>
public sealed class SqliteMessageTableTests
{
    SqliteFile file = null!;

    [SetUp]
    public void NewFile() => file = new SqliteFile();

    [TearDown]
    public void RemoveFile() => file.Dispose();

    [Test]
    public async Task A_new_file_keeps_messages_in_an_ordinary_table_keyed_for_search_by_rowid()
    {
        using var store = await file.OpenStoreAsync();

        Assert.That(await file.TableSqlAsync("messages"), Does.Not.Contain("WITHOUT ROWID"));
        Assert.That(await file.TableSqlAsync("message_search"), Is.Null, "no table of search ids beside the messages");
    }

    [Test]
    public async Task A_file_with_the_old_table_is_moved_over_once_and_its_texts_indexed_again_in_the_search_file()
    {
        // Two conversations written side by side; the first four indexed, the last two still pending; one message
        // deleted by the retention sweep of before, which left its search id and its indexed text behind.
        await WriteOldLayoutAsync(
            ("single_x", 1, "x needle one"), ("single_y", 1, "y needle one"), ("single_x", 2, "x needle two"),
            ("single_y", 2, "y needle two"), ("single_x", 3, "x needle three"), ("single_y", 3, "y needle three"));
        await file.ExecuteAsync("""
            INSERT INTO message_fts (rowid, text) SELECT rid, 'indexed ' || seq || ' of ' || conversation_id FROM message_search WHERE rid <= 4;
            DELETE FROM messages WHERE conversation_id = 'single_y' AND seq = 2;
            """);
        Assert.That(await file.TableSqlAsync("messages"), Does.Contain("WITHOUT ROWID"), "the file has the layout of before");
        var searchIds = await file.StringsAsync("SELECT conversation_id || ':' || seq || '=' || rid FROM message_search WHERE rid <> 4 ORDER BY rid");

        using (var store = await file.OpenStoreAsync())
        {
            Assert.That(await file.TableSqlAsync("messages"), Does.Not.Contain("WITHOUT ROWID"));
            Assert.That(await file.TableSqlAsync("message_search"), Is.Null);
            Assert.That(await file.StringsAsync("SELECT conversation_id || ':' || seq || '=' || rid FROM messages ORDER BY rid"),
                Is.EqualTo(searchIds), "each message keeps its search id as its rowid");
            Assert.That(await file.TableSqlAsync("message_fts"), Is.Null, "the index of before left the store's file");
            Assert.That(await file.StringsAsync("SELECT name FROM sqlite_schema WHERE type IN ('index', 'trigger') AND tbl_name = 'messages' AND sql IS NOT NULL ORDER BY name"),
                Is.EqualTo(new[] { "messages_by_create_time", "messages_by_id", "messages_changed", "messages_head_deleted", "messages_search_changed", "messages_search_deleted" }));

            Assert.That((await ReadAsync(store, "single_x")).Select(m => m.Body.GetString()), Is.EqualTo(new[] { "x needle one", "x needle two", "x needle three" }));
            Assert.That((await ReadAsync(store, "single_y")).Select(m => m.Seq), Is.EqualTo(new long[] { 1, 3 }));
            // Every text is indexed again, in the index's own file, before a search; a new message goes after every moved one.
            Assert.That((await SearchAsync(store, "three")).Select(m => m.ConversationId), Is.EquivalentTo(new[] { "single_x", "single_y" }));
            Assert.That((await SearchAsync(store, "needle")).Select(m => m.Body.GetString()),
                Is.EquivalentTo(new[] { "x needle one", "y needle one", "x needle two", "x needle three", "y needle three" }),
                "each text found with its message; the one deleted before is not");
            var appended = new Message
            {
                Id = Ids.New(), ConversationId = "single_x", Seq = 4, FromUid = "a", ToUid = "b", Appid = "__UNI__TEST", Type = "text",
                Body = JsonSerializer.SerializeToElement("x needle four"), CreateTime = 1_004, UpdateTime = 1_004,
            };
            Assert.That((await store.TryAppendMessageAsync(appended, default)).Status, Is.EqualTo(AppendStatus.Appended));
            Assert.That((await SearchAsync(store, "four")).Select(m => m.Id), Is.EqualTo(new[] { appended.Id }));
            Assert.That(await file.ScalarAsync<long>("SELECT rid FROM messages WHERE conversation_id = 'single_x' AND seq = 4"), Is.EqualTo(7));
        }

        var schema = await SchemaAsync();
        using (await file.OpenStoreAsync())
            Assert.That(await SchemaAsync(), Is.EqualTo(schema), "opening the moved file again changes nothing");
        Assert.That(await file.ScalarAsync<string>("PRAGMA integrity_check"), Is.EqualTo("ok"));
    }

    [Test]
    public async Task A_sends_documents_go_in_as_utf8_and_are_stored_as_text()
    {
        using var store = await file.OpenStoreAsync();
        var message = new Message
        {
            Id = Ids.New(), ConversationId = "single_x", Seq = 1, FromUid = "a", ToUid = "b", Appid = "__UNI__TEST", Type = "text",
            Body = JsonSerializer.SerializeToElement("ünïcode ✓ 你好"), CreateTime = 1_001, UpdateTime = 1_001,
        };
        ConversationRow Row(ConversationRow? current, string userId) => (current ?? new ConversationRow
        {
            Id = "single_x", Type = ConversationTypes.Single, UserId = userId, FriendUid = userId == "a" ? "b" : "a", CreateTime = 1_001,
        }) with { UpdateTime = 1_001, LastSeq = 1, LastMsgNote = "ünïcode ✓ 你好" };
        var appended = await store.TryAppendMessageAsync(message,
            new AppendWrites([new RowUpdate("a", "single_x", null, row => Row(row, "a")), new RowUpdate("b", "single_x", null, row => Row(row, "b"))]), default);
        Assert.That(appended.Status, Is.EqualTo(AppendStatus.Appended));
        // A row planned from a copy that is no longer current is read again and reapplied on the writer.
        var stale = (await store.GetConversationAsync("a", "single_x", default))! with { ETag = "0" };
        await store.UpdateConversationAsync("a", "single_x", stale, row => row! with { ReadSeq = 1 }, default);

        Assert.That(await file.ScalarAsync<string>("SELECT group_concat(DISTINCT typeof(doc)) FROM messages"), Is.EqualTo("text"));
        Assert.That(await file.ScalarAsync<string>("SELECT group_concat(DISTINCT typeof(doc)) FROM conversations"), Is.EqualTo("text"));
        Assert.That(await file.ScalarAsync<long>("SELECT create_time FROM messages"), Is.EqualTo(1_001), "computed from the document");
        Assert.That((await ReadAsync(store, "single_x")).Single().Body.GetString(), Is.EqualTo("ünïcode ✓ 你好"));
        var row = await store.GetConversationAsync("a", "single_x", default);
        Assert.That((row!.LastMsgNote, row.ReadSeq, row.ETag), Is.EqualTo(("ünïcode ✓ 你好", 1L, "2")));
        Assert.That((await store.ListConversationsAsync("b", new ConversationPage(10), default)).Single().LastMsgNote, Is.EqualTo("ünïcode ✓ 你好"));
    }

    [Test]
    public async Task The_move_is_logged_once_with_the_table_it_moves()
    {
        await WriteOldLayoutAsync(("single_x", 1, "one"));
        using var recorder = new LogRecorder();
        using var logs = LoggerFactory.Create(builder => builder.AddProvider(recorder));

        using (await file.OpenStoreAsync(logs.CreateLogger<SqliteImStore>()))
        using (await file.OpenStoreAsync(logs.CreateLogger<SqliteImStore>())) { }

        var moving = recorder.Lines.Where(line => line.Contains("Moving table")).ToList();
        Assert.That(moving, Has.Count.EqualTo(1), "the second open finds nothing to move");
        Assert.That(moving[0], Does.StartWith("Warning").And.Contain("Table=messages"));
        Assert.That(recorder.Lines.Count(line => line.Contains("Moved table messages in")), Is.EqualTo(1));
    }

    [Test]
    public async Task A_file_from_before_search_is_moved_over_and_all_its_texts_indexed()
    {
        await WriteOldLayoutAsync(("single_x", 1, "older than search"), ("single_x", 2, "also older"));
        await file.ExecuteAsync("DROP TRIGGER messages_search_insert; DROP TRIGGER messages_search_update; DROP TABLE message_search; DROP TABLE message_fts;");

        using var store = await file.OpenStoreAsync();

        Assert.That(await file.TableSqlAsync("messages"), Does.Not.Contain("WITHOUT ROWID"));
        Assert.That((await SearchAsync(store, "older")).Select(m => m.Seq), Is.EqualTo(new long[] { 2, 1 }));
    }

    /// <summary>The tables as builds before 2026-12 created them (the search trigger's text extraction simplified).</summary>
    async Task WriteOldLayoutAsync(params (string ConversationId, long Seq, string Text)[] messages)
    {
        var inserts = messages.Select((m, i) =>
        {
            var doc = JsonSerializer.Serialize(new
            {
                _id = $"m{i}", conversation_id = m.ConversationId, seq = m.Seq, from_uid = "a", to_uid = "b", appid = "__UNI__TEST",
                type = "text", body = m.Text, create_time = 1_000 + i, update_time = 1_000 + i,
            });
            return $"INSERT INTO messages VALUES ('{m.ConversationId}', {m.Seq}, 'm{i}', {1_000 + i}, '{doc}');";
        });
        await file.ExecuteAsync($"""
            CREATE TABLE messages (
                conversation_id TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL,
                update_time INTEGER NOT NULL, doc TEXT NOT NULL,
                PRIMARY KEY (conversation_id, seq)) WITHOUT ROWID;
            CREATE UNIQUE INDEX messages_by_id ON messages (conversation_id, id);
            CREATE INDEX messages_by_update ON messages (conversation_id, update_time);
            CREATE INDEX messages_by_create_time ON messages (json_extract(doc, '$.create_time'));
            CREATE TABLE message_search (
                rid INTEGER PRIMARY KEY, conversation_id TEXT NOT NULL, seq INTEGER NOT NULL, create_time INTEGER NOT NULL,
                UNIQUE (conversation_id, seq));
            CREATE VIRTUAL TABLE message_fts USING fts5(text, tokenize = 'trigram');
            CREATE TRIGGER messages_search_insert AFTER INSERT ON messages BEGIN
                INSERT INTO message_search (conversation_id, seq, create_time)
                    VALUES (NEW.conversation_id, NEW.seq, json_extract(NEW.doc, '$.create_time'));
            END;
            CREATE TRIGGER messages_search_update AFTER UPDATE OF doc ON messages BEGIN
                UPDATE message_fts SET text = lower(json_extract(NEW.doc, '$.body'))
                    WHERE rowid = (SELECT rid FROM message_search WHERE conversation_id = NEW.conversation_id AND seq = NEW.seq);
            END;
            {string.Join("\n", inserts)}
            """);
    }

    static Task<IReadOnlyList<Message>> ReadAsync(SqliteImStore store, string conversationId) =>
        store.ReadMessagesAsync(conversationId, new SeqWindow(AfterSeq: 0), 100, default);

    static Task<IReadOnlyList<Message>> SearchAsync(SqliteImStore store, string keyword) =>
        store.SearchMessagesAsync([new SearchScope("single_x"), new SearchScope("single_y")], MessageSearchText.Keyword(keyword), long.MaxValue, 10, default);

    Task<List<string>> SchemaAsync() => file.StringsAsync("SELECT type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_schema ORDER BY name");
}
