using System.Text.Json;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Messages;
using Microsoft.Data.Sqlite;

namespace ImFunctions.Core.Storage.Sqlite;

/// <summary>
/// Revoke, edit and search on SQLite. Search text lives in an FTS5 table with the trigram tokenizer (substrings of any
/// script, no word boundaries needed), keyed by the message's rowid, its search id. Its text enters the index a moment
/// after the send, in batches, by <see cref="IndexPendingAsync"/>: indexing each send's text in the send's own commit
/// made the FTS index write a segment per commit and cost about 40 % of the writer's time. A search first indexes
/// whatever is pending, so it finds every message stored before it. An edit or revoke updates an indexed text in the
/// same statement as the message (trigger), and a pending one is indexed from the message as it is then, so a revoked
/// body can never stay findable; a deleted message takes its text with it. The triggers are plain SQL (no application
/// function), so any writer of the file keeps the index right; <see cref="SearchText"/> mirrors
/// <see cref="MessageSearchText.Of"/>, and the contract tests hold both.
/// </summary>
public sealed partial class SqliteImStore : IMessageLifecycleStore, IMessageSearchStore
{
    /// <summary>Keywords shorter than a trigram cannot use the index: they are matched by a scan of the caller's conversations.</summary>
    const int TrigramLength = 3;

    /// <summary>
    /// A message document's searchable text, in SQL. lower() folds ASCII only; the trigram tokenizer folds the rest of
    /// the index for MATCH, and short keywords compare against this text as it is.
    /// </summary>
    static string SearchText(string doc) => $"""
        lower(CASE
            WHEN json_extract({doc}, '$.is_revoke') THEN ''
            WHEN json_extract({doc}, '$.type') IN ('text', 'code') AND json_type({doc}, '$.body') = 'text' THEN json_extract({doc}, '$.body')
            WHEN json_extract({doc}, '$.type') = 'rich-text' THEN
                coalesce((SELECT group_concat(value, '') FROM json_tree({doc}, '$.body') WHERE key = 'text' AND type = 'text'), '')
            WHEN json_extract({doc}, '$.type') IN ('image', 'video', 'file', 'location', 'userinfo-card') AND json_type({doc}, '$.body') = 'object'
                THEN trim(coalesce(json_extract({doc}, '$.body.name'), '') || ' ' || coalesce(json_extract({doc}, '$.body.address'), ''))
            ELSE '' END)
        """;

    async Task InitializeSearchAsync(SqliteConnection connection, CancellationToken ct)
    {
        await ExecuteAsync(connection, $"""
            CREATE VIRTUAL TABLE IF NOT EXISTS message_fts USING fts5(text, tokenize = 'trigram');
            -- Until 2026-12 a message's search id was kept in a table of its own, filled by an insert trigger, and
            -- before that the trigger also indexed the text in the sender's commit: replaced, not kept.
            DROP TRIGGER IF EXISTS messages_search_insert;
            DROP TRIGGER IF EXISTS messages_search_update;
            CREATE TRIGGER messages_search_update AFTER UPDATE OF doc ON messages BEGIN
                UPDATE message_fts SET text = {SearchText("NEW.doc")} WHERE rowid = NEW.rid;
            END;
            -- A deleted message (the retention purge) takes its text out of the index.
            CREATE TRIGGER IF NOT EXISTS messages_search_delete AFTER DELETE ON messages BEGIN
                DELETE FROM message_fts WHERE rowid = OLD.rid;
            END;
            """, ct);
    }

    public Task<Message?> UpdateMessageAsync(string conversationId, string messageId, Func<Message?, Message?> apply,
        CancellationToken ct) =>
        // As one write on the writer no other write of this process can slip in between; the WHERE on the old document
        // still guards against another process, and a lost race reads again and reapplies.
        WriteAsync(async connection =>
        {
            while (true)
            {
                StoreMeter.Record(StoreOp.PointRead);
                string? doc;
                await using (var read = Command(connection, "SELECT doc FROM messages WHERE conversation_id = $c AND id = $id",
                    ("$c", conversationId), ("$id", messageId)))
                    doc = (string?)await read.ExecuteScalarAsync(ct);
                var current = doc is null ? null : Deserialize<Message>(doc);
                var next = apply(current);
                if (next is null || current is null) return current;
                StoreMeter.Record(StoreOp.Write);
                var changed = await ExecuteAsync(connection, """
                    UPDATE messages SET doc = $doc, update_time = $t WHERE conversation_id = $c AND id = $id AND doc = $old
                    """, ct, ("$c", conversationId), ("$id", messageId), ("$doc", Serialize(next)), ("$t", next.UpdateTime), ("$old", doc));
                if (changed == 1) return next;
            }
        }, ct);

    public async Task<IReadOnlyList<Message>> SearchMessagesAsync(IReadOnlyList<SearchScope> scopes, string keyword, long beforeTime,
        int limit, CancellationToken ct)
    {
        if (scopes.Count == 0 || keyword.Length == 0) return [];
        if (await AnyPendingAsync(ct)) await IndexPendingAsync(ct);
        var parameters = new List<(string, object?)> { ("$before", beforeTime), ("$limit", limit) };
        var scopeFilter = string.Join(" OR ", scopes.Select((scope, i) =>
        {
            parameters.Add(($"$c{i}", scope.ConversationId));
            parameters.Add(($"$min{i}", scope.MinSeq));
            parameters.Add(($"$max{i}", scope.MaxSeq));
            return $"(m.conversation_id = $c{i} AND m.seq BETWEEN $min{i} AND $max{i})";
        }));
        string sql;
        if (keyword.EnumerateRunes().Count() >= TrigramLength)   // trigrams are of characters, not UTF-16 units
        {
            // A quoted FTS5 string is a literal phrase: the keyword is never parsed as query syntax.
            parameters.Add(("$q", "\"" + keyword.Replace("\"", "\"\"") + "\""));
            sql = $"""
                SELECT m.doc FROM message_fts f JOIN messages m ON m.rid = f.rowid
                WHERE message_fts MATCH $q AND m.create_time < $before AND ({scopeFilter})
                ORDER BY m.create_time DESC, m.conversation_id, m.seq DESC LIMIT $limit
                """;
        }
        else
        {
            parameters.Add(("$kw", keyword));
            sql = $"""
                SELECT m.doc FROM messages m JOIN message_fts f ON f.rowid = m.rid
                WHERE ({scopeFilter}) AND m.create_time < $before AND instr(f.text, $kw) > 0
                ORDER BY m.create_time DESC, m.conversation_id, m.seq DESC LIMIT $limit
                """;
        }
        return await QueryDocsAsync<Message>(StoreOp.Query, sql, ct, parameters.ToArray());
    }

    // ---- Indexing, a moment after the send ----

    /// <summary>How long a stored message may wait for its text to be indexed (a search never waits: it indexes first).</summary>
    static readonly TimeSpan IndexInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Search ids (the messages' rowids) are handed out in commit order, one past the highest (one writer at a time),
    /// and texts are indexed in that order within one write. A deleted message takes its text out of the index with it,
    /// so the index's highest rowid is always a stored message's and every new one is above it: everything up to it is
    /// indexed and the rest is pending.
    /// </summary>
    static readonly string IndexPendingSql = $"""
        INSERT INTO message_fts (rowid, text)
            SELECT m.rid, {SearchText("m.doc")} FROM messages m
            WHERE m.rid > (SELECT coalesce(max(rowid), 0) FROM message_fts)
            ORDER BY m.rid LIMIT {IndexChunk}
        """;

    static readonly string AnyPendingSql = """
        SELECT EXISTS (SELECT 1 FROM messages WHERE rid > (SELECT coalesce(max(rowid), 0) FROM message_fts))
        """;

    /// <summary>
    /// Whether a stored text still waits for the index, read beside the writer: a search with nothing pending (the
    /// usual case, the loop indexes within <see cref="IndexInterval"/>) does not queue behind the sends for a write.
    /// </summary>
    Task<bool> AnyPendingAsync(CancellationToken ct) =>
        RunAsync(StoreOp.Query, async connection =>
        {
            await using var command = Command(connection, AnyPendingSql);
            return (long)(await command.ExecuteScalarAsync(ct))! == 1;
        }, ct);

    /// <summary>Texts indexed per write: a backlog (a restart, a seeded file) is worked off without holding the writer long.</summary>
    const int IndexChunk = 2000;

    readonly CancellationTokenSource indexStop = new();
    Task? indexLoop;
    /// <summary>Messages this process appended; the loop indexes when it moved.</summary>
    long appended;

    /// <summary>Indexes the text of every message stored so far, a chunk per write of the writer's group commits.</summary>
    internal async Task IndexPendingAsync(CancellationToken ct)
    {
        while (await WriteAsync(connection => ExecuteAsync(connection, IndexPendingSql, ct), ct) == IndexChunk) { }
    }

    /// <summary>A message was stored: the loop (started with the first) indexes it within <see cref="IndexInterval"/>.</summary>
    void MessageAppended()
    {
        Interlocked.Increment(ref appended);
        if (indexLoop is null) StartOnce(ref indexLoop, IndexLoopAsync);
    }

    async Task IndexLoopAsync()
    {
        var stop = indexStop.Token;
        var indexedUpTo = 0L;
        using var timer = new PeriodicTimer(IndexInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                var now = Interlocked.Read(ref appended);
                if (now == indexedUpTo) continue;
                try
                {
                    await IndexPendingAsync(stop);
                    indexedUpTo = now;
                }
                catch (Exception e) when (e is DependencyUnavailableException or SqliteException or ObjectDisposedException)
                {
                    // The writer is failing or closing; its callers hear why. Pending texts wait for the next tick or search.
                }
            }
        }
        catch (OperationCanceledException) { }
    }
}
