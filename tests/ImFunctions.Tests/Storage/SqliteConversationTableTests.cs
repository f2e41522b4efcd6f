using ImFunctions.Core.Domain;
using ImFunctions.Core.Storage;
using ImFunctions.Core.Storage.Sqlite;

namespace ImFunctions.Tests.Storage;

/// <summary>
/// Conversation rows live in an ordinary (rowid) table, where a row with its last message fits in its leaf page; a file
/// written before 2026-12 kept them WITHOUT ROWID and is moved over when a store opens it, rows and indexes intact.
/// What the list's partial indexes select on is kept in columns of the row; a file whose indexes read it from the
/// document gets them, filled from each row.
/// </summary>
public sealed class SqliteConversationTableTests
{
    SqliteFile file = null!;

    [SetUp]
    public void NewFile() => file = new SqliteFile();

    [TearDown]
    public void RemoveFile() => file.Dispose();

    [Test]
    public async Task A_new_file_keeps_conversation_rows_in_an_ordinary_table()
    {
        using var store = await file.OpenStoreAsync();

        Assert.That(await file.TableSqlAsync("conversations"), Does.Not.Contain("WITHOUT ROWID"));
    }

    [Test]
    public async Task A_file_with_the_old_table_is_moved_over_once_with_its_rows_and_indexes()
    {
        ConversationRow[] written;
        using (var store = await file.OpenStoreAsync())
        {
            written =
            [
                await WriteRowAsync(store, "single_a", updateTime: 100, pinned: false, lastSeq: 3, readSeq: 1),
                await WriteRowAsync(store, "single_b", updateTime: 200, pinned: true, lastSeq: 5, readSeq: 5),
                await WriteRowAsync(store, "single_c", updateTime: 300, pinned: false, lastSeq: 2, readSeq: 2),
            ];
        }
        var indexes = await IndexesAsync();
        await RewriteAsOldTableAsync();
        Assert.That(await file.TableSqlAsync("conversations"), Does.Contain("WITHOUT ROWID"), "the file now has the layout of before");

        using (var store = await file.OpenStoreAsync())
        {
            Assert.That(await file.TableSqlAsync("conversations"), Does.Not.Contain("WITHOUT ROWID"));
            Assert.That(await IndexesAsync(), Is.EqualTo(indexes), "every index of the table, created again");
            foreach (var row in written)
                Assert.That(await store.GetConversationAsync("u", row.Id, default), Is.EqualTo(row).Using<ConversationRow>(SameRow));
            var list = await store.ListConversationsAsync("u", new ConversationPage(10), default);
            Assert.That(list.Select(r => r.Id), Is.EqualTo(new[] { "single_c", "single_b", "single_a" }));

            // The moved rows take updates as any other.
            await store.UpdateConversationAsync("u", "single_a", null, row => row! with { UpdateTime = 400 }, default);
            list = await store.ListConversationsAsync("u", new ConversationPage(10), default);
            Assert.That(list.Select(r => r.Id), Is.EqualTo(new[] { "single_a", "single_c", "single_b" }));
        }

        using (var again = await file.OpenStoreAsync())
            Assert.That((await again.ListConversationsAsync("u", new ConversationPage(10), default)).Count, Is.EqualTo(3),
                "opening the moved file again changes nothing");
        Assert.That(await file.ScalarAsync<string>("PRAGMA integrity_check"), Is.EqualTo("ok"));
    }

    [Test]
    public async Task A_file_whose_indexes_read_the_document_gets_the_list_columns_filled_from_each_row()
    {
        using (var store = await file.OpenStoreAsync())
        {
            await WriteRowAsync(store, "single_unread", updateTime: 100, pinned: false, lastSeq: 3, readSeq: 1);
            await WriteRowAsync(store, "single_pinned", updateTime: 200, pinned: true, lastSeq: 5, readSeq: 5);
            await WriteRowAsync(store, "single_hidden", updateTime: 300, pinned: false, lastSeq: 4, readSeq: 2, hidden: true);
            await WriteRowAsync(store, "single_marked", updateTime: 400, pinned: false, lastSeq: 2, readSeq: 2, markedUnread: true);
            await WriteRowAsync(store, "single_read", updateTime: 500, pinned: false, lastSeq: 7, readSeq: 7);
            await WriteRowAsync(store, "single_old", updateTime: 600, pinned: false, lastSeq: 9, readSeq: 8);
        }
        var indexes = await IndexesAsync();
        await file.ExecuteAsync($"""
            BEGIN;
            DROP INDEX conversations_pinned;
            DROP INDEX conversations_unread;
            ALTER TABLE conversations DROP COLUMN pinned;
            ALTER TABLE conversations DROP COLUMN hidden;
            ALTER TABLE conversations DROP COLUMN unread;
            {IndexesOverTheDocumentSql}
            -- A row written before the settings existed lacks their fields.
            UPDATE conversations SET doc = json_remove(doc, '$.pinned', '$.hidden', '$.marked_unread') WHERE id = 'single_old';
            COMMIT;
            """);
        Assert.That(await file.TableSqlAsync("conversations"), Does.Not.Contain("unread"), "the file now has the layout of before");

        using (var store = await file.OpenStoreAsync())
        {
            Assert.That(await ListColumnsAsync(), Is.EqualTo(new[]
            {
                "single_hidden 0 1 1", "single_marked 0 0 1", "single_old 0 0 1", "single_pinned 1 0 0", "single_read 0 0 0", "single_unread 0 0 1",
            }), "id, pinned, hidden, unread");
            Assert.That(await IndexesAsync(), Is.EqualTo(indexes), "every index of the table, created again");
            Assert.That(await file.StringsAsync(IndexesSql("sql")), Has.None.Contain("json_extract"), "the indexes read the columns");

            var unread = await store.QueryConversationsAsync("u", new ConversationQuery(10, Filter: ConversationFilter.Unread), default);
            Assert.That(unread.Select(r => r.Id), Is.EqualTo(new[] { "single_old", "single_marked", "single_unread" }));
            var pinned = await store.QueryConversationsAsync("u", new ConversationQuery(10, Pinned: true), default);
            Assert.That(pinned.Select(r => r.Id), Is.EqualTo(new[] { "single_pinned" }));
            var badge = await store.ListUnreadAsync("u", null, 10, default);
            Assert.That(badge.Select(r => (r.ConversationId, r.UnreadCount)), Is.EqualTo(new[] { ("single_old", 1L), ("single_marked", 1L), ("single_unread", 2L) }));

            // The moved rows take updates as any other, the columns with them.
            await store.UpdateConversationAsync("u", "single_unread", null, row => row! with { ReadSeq = 3 }, default);
            await store.UpdateConversationAsync("u", "single_read", null, row => row! with { Pinned = true }, default);
            await store.UpdateConversationAsync("u", "single_pinned", null, row => row! with { Pinned = false, Hidden = true }, default);
            Assert.That(await ListColumnsAsync(), Is.EqualTo(new[]
            {
                "single_hidden 0 1 1", "single_marked 0 0 1", "single_old 0 0 1", "single_pinned 0 1 0", "single_read 1 0 0", "single_unread 0 0 0",
            }));
        }
        Assert.That(await file.ScalarAsync<string>("PRAGMA integrity_check"), Is.EqualTo("ok"));
    }

    /// <summary>The list's partial indexes as builds before 2026-12-05 created them, reading the row's state from its document.</summary>
    const string IndexesOverTheDocumentSql = """
        CREATE INDEX conversations_pinned ON conversations (user_id, update_time DESC, id DESC)
            WHERE json_extract(doc, '$.pinned') = 1;
        CREATE INDEX conversations_unread ON conversations (user_id, update_time DESC, id DESC)
            WHERE coalesce(json_extract(doc, '$.hidden'), 0) = 0
            AND (json_extract(doc, '$.last_seq') > json_extract(doc, '$.read_seq') OR json_extract(doc, '$.marked_unread') = 1);
        """;

    Task<List<string>> ListColumnsAsync() =>
        file.StringsAsync("SELECT id || ' ' || pinned || ' ' || hidden || ' ' || unread FROM conversations ORDER BY id");

    static bool SameRow(ConversationRow a, ConversationRow b) =>
        a.Id == b.Id && a.UpdateTime == b.UpdateTime && a.Pinned == b.Pinned && a.LastSeq == b.LastSeq && a.ReadSeq == b.ReadSeq;

    static async Task<ConversationRow> WriteRowAsync(SqliteImStore store, string id, long updateTime, bool pinned, long lastSeq, long readSeq,
        bool hidden = false, bool markedUnread = false)
    {
        var row = new ConversationRow
        {
            Id = id, Type = ConversationTypes.Single, UserId = "u", FriendUid = id[7..], UpdateTime = updateTime,
            CreateTime = updateTime, LastMsgNote = new string('x', 900), Pinned = pinned, LastSeq = lastSeq, ReadSeq = readSeq,
            Hidden = hidden, MarkedUnread = markedUnread,
        };
        return (await store.UpdateConversationAsync("u", id, null, _ => row, default))!;
    }

    /// <summary>The table as builds before 2026-12 created it, holding the same rows, with the indexes of that time.</summary>
    async Task RewriteAsOldTableAsync()
    {
        var listIndexSql = (await file.StringsAsync(IndexesSql("sql"))).Single(sql => !sql.Contains("WHERE"));
        await file.ExecuteAsync($"""
            BEGIN;
            ALTER TABLE conversations RENAME TO conversations_new;
            CREATE TABLE conversations (
                user_id TEXT NOT NULL, id TEXT NOT NULL, update_time INTEGER NOT NULL,
                version INTEGER NOT NULL, doc TEXT NOT NULL,
                PRIMARY KEY (user_id, id)) WITHOUT ROWID;
            INSERT INTO conversations SELECT user_id, id, update_time, version, doc FROM conversations_new;
            DROP TABLE conversations_new;
            {listIndexSql};
            {IndexesOverTheDocumentSql}
            COMMIT;
            """);
    }

    /// <summary>The indexes created by SQL (not the key's own), one column of each.</summary>
    static string IndexesSql(string column) =>
        $"SELECT {column} FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'conversations' AND sql IS NOT NULL ORDER BY name";

    Task<List<string>> IndexesAsync() => file.StringsAsync(IndexesSql("name"));
}
