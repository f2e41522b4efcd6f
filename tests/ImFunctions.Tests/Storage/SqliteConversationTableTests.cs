using ImFunctions.Core.Domain;
using ImFunctions.Core.Storage;
using ImFunctions.Core.Storage.Sqlite;

namespace ImFunctions.Tests.Storage;

/// <summary>
/// Conversation rows live in an ordinary (rowid) table, where a row with its last message fits in its leaf page; a file
/// written before 2026-12 kept them WITHOUT ROWID and is moved over when a store opens it, rows and indexes intact.
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

    static bool SameRow(ConversationRow a, ConversationRow b) =>
        a.Id == b.Id && a.UpdateTime == b.UpdateTime && a.Pinned == b.Pinned && a.LastSeq == b.LastSeq && a.ReadSeq == b.ReadSeq;

    static async Task<ConversationRow> WriteRowAsync(SqliteImStore store, string id, long updateTime, bool pinned, long lastSeq, long readSeq)
    {
        var row = new ConversationRow
        {
            Id = id, Type = ConversationTypes.Single, UserId = "u", FriendUid = id[7..], UpdateTime = updateTime,
            CreateTime = updateTime, LastMsgNote = new string('x', 900), Pinned = pinned, LastSeq = lastSeq, ReadSeq = readSeq,
        };
        return (await store.UpdateConversationAsync("u", id, null, _ => row, default))!;
    }

    /// <summary>The table as builds before 2026-12 created it, holding the same rows, with the same indexes.</summary>
    async Task RewriteAsOldTableAsync()
    {
        var indexSql = await file.StringsAsync(IndexesSql("sql"));
        await file.ExecuteAsync($"""
            BEGIN;
            ALTER TABLE conversations RENAME TO conversations_new;
            CREATE TABLE conversations (
                user_id TEXT NOT NULL, id TEXT NOT NULL, update_time INTEGER NOT NULL,
                version INTEGER NOT NULL, doc TEXT NOT NULL,
                PRIMARY KEY (user_id, id)) WITHOUT ROWID;
            INSERT INTO conversations SELECT user_id, id, update_time, version, doc FROM conversations_new;
            DROP TABLE conversations_new;
            {string.Join(";\n", indexSql)};
            COMMIT;
            """);
    }

    /// <summary>The indexes created by SQL (not the key's own), one column of each.</summary>
    static string IndexesSql(string column) =>
        $"SELECT {column} FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'conversations' AND sql IS NOT NULL ORDER BY name";

    Task<List<string>> IndexesAsync() => file.StringsAsync(IndexesSql("name"));
}
