using System.Text.Json;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Storage;
using ImFunctions.Core.Storage.Sqlite;
using ImFunctions.Tests.Support;
using Microsoft.Extensions.Logging;

namespace ImFunctions.Tests.Storage;

/// <summary>
/// On SQLite the update sync reads the messages changed after they were sent from an index of their own, and the ones
/// sent since from the conversation's end, found by time because times follow seqs. It must answer what its
/// definition says: every message updated after the time, in (update_time, seq) order, up to the limit. A file from
/// before, where two sends could store their times out of their seqs' order, is put in order when a store opens it.
/// </summary>
public sealed class SqliteUpdateSyncTests
{
    SqliteFile file = null!;

    [SetUp]
    public void NewFile() => file = new SqliteFile();

    [TearDown]
    public void RemoveFile() => file.Dispose();

    /// <summary>
    /// Two conversations written side by side, with tied times, holes where retention deleted the oldest, and messages
    /// changed later (some to the time they were sent): every time from before the first to after the last, with limits
    /// that cut inside a tie and beyond the end, answered as a scan of the whole conversation would.
    /// </summary>
    [TestCase(1), TestCase(2), TestCase(3), TestCase(4), TestCase(5), TestCase(6), TestCase(7), TestCase(8)]
    public async Task The_sync_answers_what_a_scan_of_the_conversation_would(int seed)
    {
        var random = new Random(seed);
        using var store = await file.OpenStoreAsync();
        var conversations = new[] { "single_x", "single_y" };
        var time = 1_000L;
        var count = random.Next(0, 80);
        for (var seq = 1; seq <= count; seq++)
            foreach (var conversation in conversations)
            {
                time += random.Next(0, 3);
                Assert.That(await store.TryAppendMessageAsync(Message(conversation, seq, time), default), Is.EqualTo(AppendResult.Appended));
            }
        foreach (var conversation in conversations)
            foreach (var message in await AllAsync(store, conversation))
                if (random.Next(4) == 0)
                {
                    var updated = random.Next(3) == 0 ? message.CreateTime : message.CreateTime + random.Next(1, 200);
                    await store.UpdateMessageAsync(conversation, message.Id, m => m! with { Body = Text("changed"), UpdateTime = updated }, default);
                }
        await store.DeleteMessagesCreatedBeforeAsync(1_000 + random.Next(0, 60), 1_000, default);

        foreach (var conversation in conversations)
        {
            var all = await AllAsync(store, conversation);
            for (var since = 990L; since <= time + 210; since++)
                foreach (var limit in new[] { 1, 3, 200 })
                {
                    var expected = all.Where(m => m.UpdateTime > since).OrderBy(m => m.UpdateTime).ThenBy(m => m.Seq).Take(limit);
                    var answered = await store.ReadMessagesUpdatedSinceAsync(conversation, since, limit, default);
                    Assert.That(answered.Select(m => (m.Seq, m.UpdateTime)), Is.EqualTo(expected.Select(m => (m.Seq, m.UpdateTime))),
                        $"{conversation} since {since}, limit {limit}");
                }
        }
    }

    [Test]
    public async Task A_file_from_before_has_its_times_put_in_their_seqs_order_once_and_its_index_of_every_update_dropped()
    {
        using (await file.OpenStoreAsync()) { }
        // As builds before 2026-12 left it: an index of every message by update time, and times that could fall as
        // seqs rose (seq 2 took its time before seq 1 but claimed after it); seq 4 was revoked later.
        await file.ExecuteAsync($"""
            DROP INDEX messages_changed;
            CREATE INDEX messages_by_update ON messages (conversation_id, update_time);
            {Insert(Message("single_x", 1, 100))}
            {Insert(Message("single_x", 2, 98))}
            {Insert(Message("single_x", 3, 99))}
            {Insert(Message("single_x", 4, 97) with { UpdateTime = 300 })}
            {Insert(Message("single_x", 5, 101))}
            {Insert(Message("single_y", 1, 50))}
            """);
        using var recorder = new LogRecorder();
        using var logs = LoggerFactory.Create(builder => builder.AddProvider(recorder));

        using (var store = await file.OpenStoreAsync(logs.CreateLogger<SqliteImStore>()))
        {
            var x = await AllAsync(store, "single_x");
            Assert.That(x.Select(m => (m.CreateTime, m.UpdateTime)), Is.EqualTo(new[] { (100L, 100L), (100L, 100L), (100L, 100L), (100L, 300L), (101L, 101L) }));
            Assert.That(await file.StringsAsync("SELECT create_time || '/' || update_time FROM messages WHERE conversation_id = 'single_x' ORDER BY seq"),
                Is.EqualTo(new[] { "100/100", "100/100", "100/100", "100/300", "101/101" }), "the columns follow the documents");
            Assert.That((await AllAsync(store, "single_y")).Single().CreateTime, Is.EqualTo(50));
            Assert.That((await store.ReadMessagesUpdatedSinceAsync("single_x", 99, 10, default)).Select(m => m.Seq), Is.EqualTo(new[] { 1L, 2L, 3L, 5L, 4L }));
            Assert.That(await file.StringsAsync("SELECT name FROM sqlite_schema WHERE type = 'index' AND name LIKE 'messages_by_update'"), Is.Empty);
        }
        Assert.That(recorder.Lines.Count(line => line.Contains("Moving table") && line.Contains("Table=messages")), Is.EqualTo(1));

        var schema = await file.StringsAsync("SELECT type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_schema ORDER BY name");
        using (await file.OpenStoreAsync(logs.CreateLogger<SqliteImStore>())) { }
        Assert.That(await file.StringsAsync("SELECT type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_schema ORDER BY name"),
            Is.EqualTo(schema), "opening the file again changes nothing");
        Assert.That(recorder.Lines.Count(line => line.Contains("Moving table")), Is.EqualTo(1), "the second open finds nothing to move");
    }

    static Message Message(string conversationId, long seq, long time) => new()
    {
        Id = Ids.New(), ConversationId = conversationId, Seq = seq, FromUid = "a", ToUid = "b", Appid = "__UNI__TEST", Type = "text",
        Body = Text("hi " + seq), CreateTime = time, UpdateTime = time,
    };

    static JsonElement Text(string text) => JsonSerializer.SerializeToElement(text);

    static string Insert(Message m) =>
        $"INSERT INTO messages (conversation_id, seq, id, update_time, doc) VALUES ('{m.ConversationId}', {m.Seq}, '{m.Id}', {m.UpdateTime}, " +
        $"'{JsonSerializer.Serialize(m, ImJson.Options)}');";

    static Task<IReadOnlyList<Message>> AllAsync(SqliteImStore store, string conversationId) =>
        store.ReadMessagesAsync(conversationId, new SeqWindow(AfterSeq: 0), 1_000, default);
}
