using ImFunctions.Core.Domain;
using ImFunctions.Core.Messages;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace ImFunctions.Core.Storage.Sqlite;

/// <summary>
/// Search on SQLite. Search text lives in an FTS5 table with the trigram tokenizer (substrings of any script, no word
/// boundaries needed), keyed by the message's rowid, its search id, in a database file of its own beside the store's
/// (<c>imfunctions.db</c> → <c>imfunctions.search.db</c>), written by a connection of its own, the indexer's.
/// <para>
/// Why a file of its own: SQLite lets one writer at a time hold a file. In the store's file the index's writes ran on
/// the store's writer between the sends' commits, and every few of them FTS5 merged its segments for 18–40 ms while
/// every send waited: at 2,500 msg/s the largest part of the sends' p99 (docs/benchmarks.md, *The search index in a
/// file of its own*). In its own file the indexer writes beside the writer, never in its way, and on a thread below
/// the request threads' priority, so that its merges do not take a core from the sends either.
/// </para>
/// <para>
/// Texts enter the index a moment after the send, in batches (<see cref="IndexInterval"/>). New messages are those
/// above the index's highest rowid: the one writer hands rowids out in commit order. An edit, a revoke or a deletion is
/// noted in the store's file, in <c>search_changed</c>, by a trigger in the same commit, and the indexer takes that
/// message's text again from the message as it is then. A search first indexes whatever is new or changed, so it finds
/// every message stored before it and never a revoked body. The triggers are plain SQL (no application function), so
/// any writer of the store's file keeps the index right; <see cref="SearchText"/> mirrors
/// <see cref="MessageSearchText.Of"/>, and the contract tests hold both.
/// </para>
/// <para>
/// The index is derived from the store's file and never ahead of it: a missing search file is built again from the
/// messages, and texts above the highest stored message (the store's file lost its last commits to a crash under
/// synchronous=NORMAL, and their rowids will be handed out again) are dropped when the store opens. A change is
/// struck from <c>search_changed</c> only after the index's commit that took it in is synced (such a commit alone runs
/// at synchronous=FULL), so no crash can leave a revoked body indexed with its change forgotten.
/// </para>
/// </summary>
public sealed partial class SqliteImStore : IMessageSearchStore
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

    /// <summary>The search file: the store's path with <c>.search</c> before its extension.</summary>
    readonly string searchPath = System.IO.Path.ChangeExtension(System.IO.Path.GetFullPath(options.Path),
        ".search" + System.IO.Path.GetExtension(options.Path));

    /// <summary>The indexer: the store's file, read, with the search file attached as <c>search</c>, written.</summary>
    SqliteConnection? indexer;
    /// <summary>One pass of the indexer at a time: the loop's or a search's.</summary>
    readonly SemaphoreSlim indexing = new(1, 1);

    readonly string indexerConnectionString = new SqliteConnectionStringBuilder
    {
        DataSource = options.Path, Mode = SqliteOpenMode.ReadWrite, Pooling = false, DefaultTimeout = (int)options.BusyTimeout.TotalSeconds,
    }.ToString();

    /// <summary>Searches read on pooled connections of their own (read-only, so never in the store's pool) that keep the search file attached.</summary>
    readonly string searchReaderConnectionString = new SqliteConnectionStringBuilder
    {
        DataSource = options.Path, Mode = SqliteOpenMode.ReadOnly, Pooling = true, DefaultTimeout = (int)options.BusyTimeout.TotalSeconds,
    }.ToString();

    /// <summary>The notes of what changed, in the store's file, and the search file with its index. Run before the writer opens.</summary>
    async Task InitializeSearchAsync(SqliteConnection connection, CancellationToken ct)
    {
        if (await TableSqlAsync(connection, "message_fts", ct) is not null)
            log.LogWarning("Moving the search index to a file of its own; the texts are indexed again, in chunks, after the store opens");
        await ExecuteAsync(connection, """
            -- Until 2026-12 the index lived in this file, written by these triggers or by the writer: see searchPath.
            DROP TRIGGER IF EXISTS messages_search_insert;
            DROP TRIGGER IF EXISTS messages_search_update;
            DROP TRIGGER IF EXISTS messages_search_delete;
            DROP TABLE IF EXISTS message_fts;
            CREATE TABLE IF NOT EXISTS search_changed (id INTEGER PRIMARY KEY, rid INTEGER NOT NULL);
            CREATE TRIGGER IF NOT EXISTS messages_search_changed AFTER UPDATE OF doc ON messages BEGIN
                INSERT INTO search_changed (rid) VALUES (NEW.rid);
            END;
            CREATE TRIGGER IF NOT EXISTS messages_search_deleted AFTER DELETE ON messages BEGIN
                INSERT INTO search_changed (rid) VALUES (OLD.rid);
            END;
            """, ct);
        CreateOwnerOnly(searchPath);
        await indexing.WaitAsync(ct);
        try
        {
            indexer ??= await OpenIndexerAsync(ct);
            await ExecuteAsync(indexer, """
                CREATE VIRTUAL TABLE IF NOT EXISTS search.message_fts USING fts5(text, tokenize = 'trigram');
                DELETE FROM search.message_fts WHERE rowid > (SELECT coalesce(max(rid), 0) FROM main.messages);
                """, ct);
        }
        finally
        {
            indexing.Release();
        }
    }

    async Task<SqliteConnection> OpenIndexerAsync(CancellationToken ct)
    {
        var connection = new SqliteConnection(indexerConnectionString);
        await connection.OpenAsync(ct);
        await AttachSearchFileAsync(connection, ct);
        await ExecuteAsync(connection, "PRAGMA search.journal_mode = WAL", ct);
        return connection;
    }

    async Task<SqliteConnection> OpenSearchReaderAsync(CancellationToken ct)
    {
        var connection = new SqliteConnection(searchReaderConnectionString);
        await connection.OpenAsync(ct);
        await using var attached = Command(connection, "SELECT count(*) FROM pragma_database_list WHERE name = 'search'");
        if ((long)(await attached.ExecuteScalarAsync(ct))! == 0) await AttachSearchFileAsync(connection, ct);
        return connection;
    }

    Task<int> AttachSearchFileAsync(SqliteConnection connection, CancellationToken ct) =>
        ExecuteAsync(connection, "ATTACH DATABASE $path AS search", ct, ("$path", searchPath));

    public async Task<IReadOnlyList<Message>> SearchMessagesAsync(IReadOnlyList<SearchScope> scopes, string keyword, long beforeTime,
        int limit, CancellationToken ct)
    {
        if (scopes.Count == 0 || keyword.Length == 0) return [];
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
                SELECT m.doc FROM search.message_fts f JOIN messages m ON m.rid = f.rowid
                WHERE message_fts MATCH $q AND m.create_time < $before AND ({scopeFilter})
                ORDER BY m.create_time DESC, m.conversation_id, m.seq DESC LIMIT $limit
                """;
        }
        else
        {
            parameters.Add(("$kw", keyword));
            sql = $"""
                SELECT m.doc FROM messages m JOIN search.message_fts f ON f.rowid = m.rid
                WHERE ({scopeFilter}) AND m.create_time < $before AND instr(f.text, $kw) > 0
                ORDER BY m.create_time DESC, m.conversation_id, m.seq DESC LIMIT $limit
                """;
        }
        // One reader for both: whether a text waits for the index, then (after indexing it, if one does) the search.
        return await ReadAsync(async connection =>
        {
            if (await AnyPendingAsync(connection, ct)) await IndexPendingAsync(ct);
            StoreMeter.Record(StoreOp.Query);
            return await ReadDocsAsync<Message>(connection, sql, ct, parameters.ToArray());
        }, ct, OpenSearchReaderAsync);
    }

    // ---- Indexing, a moment after the send ----

    /// <summary>How long a stored message may wait for its text to be indexed (a search never waits: it indexes first).</summary>
    static readonly TimeSpan IndexInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>Texts indexed per transaction of the index: a backlog (a seeded file, a rebuilt index) holds no snapshot of the store's file long.</summary>
    const int IndexChunk = 2000;

    /// <summary>Messages above the index's highest rowid, in rowid order: every one below it is indexed (or noted as changed).</summary>
    static readonly string IndexNewSql = $"""
        INSERT INTO search.message_fts (rowid, text)
            SELECT m.rid, {SearchText("m.doc")} FROM messages m
            WHERE m.rid > (SELECT coalesce(max(rowid), 0) FROM search.message_fts)
            ORDER BY m.rid LIMIT {IndexChunk}
        """;

    const string IndexedUpToSql = "SELECT coalesce(max(rowid), 0) FROM search.message_fts";

    /// <summary>The last of the next chunk of changes (null: none) and how many they are.</summary>
    static readonly string NextChangesSql = $"SELECT max(id), count(*) FROM (SELECT id FROM search_changed ORDER BY id LIMIT {IndexChunk})";

    /// <summary>
    /// Each changed message's text taken out and, if the message is still there, put back as it is now; only up to the
    /// index's highest rowid, since putting one back above it would pass over the new messages below it.
    /// </summary>
    static readonly string ReindexChangedSql = $"""
        DELETE FROM search.message_fts WHERE rowid IN (SELECT rid FROM search_changed WHERE id <= $last);
        INSERT INTO search.message_fts (rowid, text)
            SELECT m.rid, {SearchText("m.doc")} FROM messages m
            WHERE m.rid IN (SELECT rid FROM search_changed WHERE id <= $last) AND m.rid <= $upTo;
        """;

    const string AnyPendingSql = """
        SELECT EXISTS (SELECT 1 FROM messages WHERE rid > (SELECT coalesce(max(rowid), 0) FROM search.message_fts))
            OR EXISTS (SELECT 1 FROM search_changed)
        """;

    /// <summary>
    /// Whether a stored text waits for the index, read on the search's own reader: a search with nothing pending (the
    /// usual case) reads at once. Between two statements the reader holds no snapshot, so the search after it sees
    /// what the indexer committed meanwhile.
    /// </summary>
    async Task<bool> AnyPendingAsync(SqliteConnection connection, CancellationToken ct)
    {
        StoreMeter.Record(StoreOp.Query);
        await using var command = Command(connection, AnyPendingSql);
        return (long)(await command.ExecuteScalarAsync(ct))! == 1;
    }

    /// <summary>Indexes every message stored so far and every change noted, a chunk per transaction of the index.</summary>
    internal async Task IndexPendingAsync(CancellationToken ct)
    {
        while (await IndexOnceAsync(ct)) { }
    }

    /// <summary>One chunk, under the indexer's lock (the loop's and the searches' chunks take turns). True when more may wait.</summary>
    async Task<bool> IndexOnceAsync(CancellationToken ct)
    {
        await indexing.WaitAsync(ct);
        try
        {
            indexer ??= await OpenIndexerAsync(ct);
            return await IndexChunkAsync(indexer, ct);
        }
        catch (Exception e)
        {
            // Whatever the transaction held is rolled back with the connection; the next chunk opens a new one.
            indexer?.Dispose();
            indexer = null;
            if (IsLocked(e)) throw new DependencyUnavailableException("SQLite search index", e);
            throw;
        }
        finally
        {
            indexing.Release();
        }
    }

    /// <summary>
    /// One transaction of the index: up to a chunk of new texts, then up to a chunk of changed ones, read from one
    /// snapshot of the store's file. True when more may wait.
    /// </summary>
    async Task<bool> IndexChunkAsync(SqliteConnection connection, CancellationToken ct)
    {
        // New texts need no sync: an index behind the messages catches up, one ahead of them is cut back when the store
        // opens. A change is struck only once the commit that took it in is synced: such a pass alone commits at FULL,
        // so the search file's syncs do not queue beside every commit of the store's file (at FULL, each one syncs).
        long? lastChange;
        long changes;
        await using (var next = Command(connection, NextChangesSql))
        await using (var reader = await next.ExecuteReaderAsync(ct))
        {
            await reader.ReadAsync(ct);
            (lastChange, changes) = (reader.IsDBNull(0) ? null : reader.GetInt64(0), reader.GetInt64(1));
        }
        await ExecuteAsync(connection, lastChange is null ? "PRAGMA search.synchronous = NORMAL" : "PRAGMA search.synchronous = FULL", ct);
        await ExecuteAsync(connection, "BEGIN", ct);   // deferred: it locks the search file alone, at its first write
        var indexed = await ExecuteAsync(connection, IndexNewSql, ct);
        if (lastChange is { } last)
        {
            await using var upTo = Command(connection, IndexedUpToSql);
            await ExecuteAsync(connection, ReindexChangedSql, ct, ("$last", last), ("$upTo", (long)(await upTo.ExecuteScalarAsync(ct))!));
        }
        await ExecuteAsync(connection, "COMMIT", ct);
        if (lastChange is { } done)
            await WriteAsync(store => ExecuteAsync(store, "DELETE FROM search_changed WHERE id <= $last", ct, ("$last", done)), ct);
        return indexed == IndexChunk || changes == IndexChunk;
    }

    readonly CancellationTokenSource indexStop = new();
    Task? indexLoop;

    /// <summary>
    /// Started with the writer, on a thread of its own below the request threads (<see cref="StoreThread"/>): indexes
    /// within <see cref="IndexInterval"/> of a commit, whatever the commit changed. Microsoft.Data.Sqlite's async
    /// methods complete synchronously, so a chunk runs on this thread, at its priority, up to its last step (striking
    /// the changes it took in, a write on the writer, when there were any).
    /// </summary>
    void IndexLoop()
    {
        StoreThread.LowerPriority();
        var stop = indexStop.Token;
        var indexedAt = 0L;
        while (!stop.WaitHandle.WaitOne(IndexInterval))
        {
            var committed = Commits;
            if (committed == indexedAt) continue;
            try
            {
                while (IndexOnceAsync(stop).GetAwaiter().GetResult()) { }
                indexedAt = committed;
            }
            catch (Exception e) when (e is DependencyUnavailableException or SqliteException or ObjectDisposedException or OperationCanceledException)
            {
                // The file is locked or the store is closing. Pending texts wait for the next tick or search.
            }
        }
    }

    /// <summary>After the loop stopped: the indexer's connection, unless a search still holds it.</summary>
    void CloseIndexer()
    {
        if (!indexing.Wait(TimeSpan.FromSeconds(5))) return;
        indexer?.Dispose();
        indexer = null;
        indexing.Release();
    }
}
