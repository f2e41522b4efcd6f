using ImFunctions.Core.Storage;
using ImFunctions.Core.Storage.Sqlite;

namespace ImFunctions.Tests.Storage;

/// <summary>
/// On SQLite the badge and the list's unread and pinned filters read what they return: each query is served by a
/// partial index of its rows, in the list's order (what they answer is checked on every store in FriendStoreContractTests).
/// So does the update sync: the changed messages from their partial index, the ones sent since from the seq key
/// (what it answers: SqliteUpdateSyncTests).
/// </summary>
public sealed class SqliteListIndexTests
{
    readonly SqliteStoreFactory factory = new();
    SqliteImStore store = null!;

    [OneTimeSetUp]
    public async Task NewStore() => store = (SqliteImStore)await factory.CreateAsync();

    [OneTimeTearDown]
    public async Task RemoveStore()
    {
        store.Dispose();
        await factory.DisposeAsync();
    }

    static readonly TestCaseData[] Queries =
    [
        Case("the badge", SqliteImStore.UnreadRowsSql, "conversations_unread"),
        Case("the unread filter", new ConversationQuery(20, Filter: ConversationFilter.Unread), "conversations_unread"),
        Case("the unread filter after a cursor", new ConversationQuery(20, After: "000000000001000|c", Filter: ConversationFilter.Unread), "conversations_unread"),
        Case("the pinned rows", new ConversationQuery(20, Pinned: true), "conversations_pinned"),
        Case("the messages changed since a time", SqliteImStore.ChangedSinceSql, "messages_changed"),
        Case("the messages sent from a seq", SqliteImStore.SentFromSql, "sqlite_autoindex_messages_1"),
        Case("the last message in a range of seqs", SqliteImStore.LastInRangeSql, "sqlite_autoindex_messages_1"),
    ];

    static TestCaseData Case(string query, ConversationQuery list, string index) =>
        Case(query, SqliteImStore.ConversationQuerySql("u", list).Sql, index);

    static TestCaseData Case(string query, string sql, string index) => new TestCaseData(sql, index).SetArgDisplayNames(query);

    [TestCaseSource(nameof(Queries))]
    public async Task A_filtered_query_reads_its_index_in_its_order(string sql, string index)
    {
        var plan = await store.WriteAsync(async connection =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "EXPLAIN QUERY PLAN " + sql;
            await using var reader = await command.ExecuteReaderAsync();
            var steps = new List<string>();
            while (await reader.ReadAsync()) steps.Add(reader.GetString(3));
            return string.Join("; ", steps);
        }, default);

        Assert.That(plan, Does.Contain($"USING INDEX {index}"), plan);
        Assert.That(plan, Does.Not.Contain("TEMP B-TREE"), $"the index gives the order, no sort: {plan}");
    }
}
