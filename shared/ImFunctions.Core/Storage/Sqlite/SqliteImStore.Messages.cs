using System.Text.Json;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Messages;
using Microsoft.Data.Sqlite;

namespace ImFunctions.Core.Storage.Sqlite;

/// <summary>
/// Revoke, edit and search on SQLite. Search text lives in an FTS5 table with the trigram tokenizer (substrings of any
/// script, no word boundaries needed), kept in step with <c>messages</c> by triggers: the index changes in the same
/// statement as the message, so a revoked body can never stay findable and a crash cannot leave the two apart. The
/// triggers are plain SQL (no application function), so any writer of the file, a seeder or an older build, keeps
/// the index right; <see cref="SearchText"/> mirrors <see cref="MessageSearchText.Of"/>, and the contract tests hold both.
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
            CREATE TABLE IF NOT EXISTS message_search (
                rid INTEGER PRIMARY KEY, conversation_id TEXT NOT NULL, seq INTEGER NOT NULL, create_time INTEGER NOT NULL,
                UNIQUE (conversation_id, seq));
            CREATE VIRTUAL TABLE IF NOT EXISTS message_fts USING fts5(text, tokenize = 'trigram');
            CREATE TRIGGER IF NOT EXISTS messages_search_insert AFTER INSERT ON messages BEGIN
                INSERT INTO message_search (conversation_id, seq, create_time)
                    VALUES (NEW.conversation_id, NEW.seq, json_extract(NEW.doc, '$.create_time'));
                INSERT INTO message_fts (rowid, text) VALUES (last_insert_rowid(), {SearchText("NEW.doc")});
            END;
            CREATE TRIGGER IF NOT EXISTS messages_search_update AFTER UPDATE OF doc ON messages BEGIN
                UPDATE message_fts SET text = {SearchText("NEW.doc")}
                    WHERE rowid = (SELECT rid FROM message_search WHERE conversation_id = NEW.conversation_id AND seq = NEW.seq);
            END;
            -- Messages stored before search existed: indexed once, here.
            INSERT INTO message_search (conversation_id, seq, create_time)
                SELECT m.conversation_id, m.seq, json_extract(m.doc, '$.create_time') FROM messages m
                WHERE NOT EXISTS (SELECT 1 FROM message_search s WHERE s.conversation_id = m.conversation_id AND s.seq = m.seq);
            INSERT INTO message_fts (rowid, text)
                SELECT s.rid, {SearchText("m.doc")} FROM message_search s
                JOIN messages m ON m.conversation_id = s.conversation_id AND m.seq = s.seq
                WHERE NOT EXISTS (SELECT 1 FROM message_fts f WHERE f.rowid = s.rid);
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

    public Task<IReadOnlyList<Message>> SearchMessagesAsync(IReadOnlyList<SearchScope> scopes, string keyword, long beforeTime,
        int limit, CancellationToken ct)
    {
        if (scopes.Count == 0 || keyword.Length == 0) return Task.FromResult<IReadOnlyList<Message>>([]);
        var parameters = new List<(string, object?)> { ("$before", beforeTime), ("$limit", limit) };
        var scopeFilter = string.Join(" OR ", scopes.Select((scope, i) =>
        {
            parameters.Add(($"$c{i}", scope.ConversationId));
            parameters.Add(($"$min{i}", scope.MinSeq));
            parameters.Add(($"$max{i}", scope.MaxSeq));
            return $"(s.conversation_id = $c{i} AND s.seq BETWEEN $min{i} AND $max{i})";
        }));
        string sql;
        if (keyword.EnumerateRunes().Count() >= TrigramLength)   // trigrams are of characters, not UTF-16 units
        {
            // A quoted FTS5 string is a literal phrase: the keyword is never parsed as query syntax.
            parameters.Add(("$q", "\"" + keyword.Replace("\"", "\"\"") + "\""));
            sql = $"""
                SELECT m.doc FROM message_fts f
                JOIN message_search s ON s.rid = f.rowid
                JOIN messages m ON m.conversation_id = s.conversation_id AND m.seq = s.seq
                WHERE message_fts MATCH $q AND s.create_time < $before AND ({scopeFilter})
                ORDER BY s.create_time DESC, s.conversation_id, s.seq DESC LIMIT $limit
                """;
        }
        else
        {
            parameters.Add(("$kw", keyword));
            sql = $"""
                SELECT m.doc FROM message_search s
                JOIN message_fts f ON f.rowid = s.rid
                JOIN messages m ON m.conversation_id = s.conversation_id AND m.seq = s.seq
                WHERE ({scopeFilter}) AND s.create_time < $before AND instr(f.text, $kw) > 0
                ORDER BY s.create_time DESC, s.conversation_id, s.seq DESC LIMIT $limit
                """;
        }
        return QueryDocsAsync<Message>(StoreOp.Query, sql, ct, parameters.ToArray());
    }
}
