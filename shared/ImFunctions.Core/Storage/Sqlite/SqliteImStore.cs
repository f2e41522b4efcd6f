using System.Text.Json;
using ImFunctions.Core.Domain;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImFunctions.Core.Storage.Sqlite;

/// <summary>
/// The embedded store: one SQLite file in WAL mode. Records are kept as JSON documents beside the few columns
/// that are keyed or ordered on, the same shape the Cosmos store uses, and concurrency works the same way:
/// unique keys for seq and ids, a version column as the row's ETag.
/// </summary>
public sealed partial class SqliteImStore(SqliteStoreOptions options, ILogger<SqliteImStore>? logger = null) : IImStore
{
    readonly ILogger log = logger ?? NullLogger<SqliteImStore>.Instance;

    const int SqliteConstraintPrimaryKey = 1555, SqliteConstraintUnique = 2067, SqliteBusy = 5, SqliteLocked = 6;

    readonly string connectionString = new SqliteConnectionStringBuilder
    {
        DataSource = options.Path,
        Pooling = true,
        DefaultTimeout = (int)options.BusyTimeout.TotalSeconds,
    }.ToString();

    public async Task InitializeAsync(CancellationToken ct)
    {
        if (!SqliteProcessSettings.Apply()) log.LogDebug("SQLite refused some of its process-wide settings (it was opened in this process before the store)");
        CreateOwnerOnly(System.IO.Path.GetFullPath(options.Path));
        await using var connection = await OpenAsync(ct);
        await ExecuteAsync(connection, "PRAGMA journal_mode = WAL", ct);
        await MoveToCurrentLayoutAsync(connection, ct);
        await ExecuteAsync(connection, $"""
            CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY, doc TEXT NOT NULL) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS ext_uids (ext_uid TEXT PRIMARY KEY, uid TEXT NOT NULL) WITHOUT ROWID;
            {MessagesTable}
            CREATE UNIQUE INDEX IF NOT EXISTS messages_by_id ON messages (conversation_id, id);
            -- Where every message of a conversation was deleted (retention): the last one's seq and time, which its
            -- next message follows (HeadSql), whatever deletes it and in whichever order a statement deletes rows.
            CREATE TABLE IF NOT EXISTS expired_heads (
                conversation_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, create_time INTEGER NOT NULL) WITHOUT ROWID;
            CREATE TRIGGER IF NOT EXISTS messages_head_deleted AFTER DELETE ON messages
                WHEN NOT EXISTS (SELECT 1 FROM messages WHERE conversation_id = old.conversation_id AND seq > old.seq)
            BEGIN
                INSERT INTO expired_heads (conversation_id, seq, create_time) VALUES (old.conversation_id, old.seq, old.create_time)
                    ON CONFLICT (conversation_id) DO UPDATE SET seq = excluded.seq, create_time = excluded.create_time
                    WHERE excluded.seq > expired_heads.seq;
            END;
            -- The messages changed after they were sent, in the update sync's order (ReadMessagesUpdatedSinceAsync).
            CREATE INDEX IF NOT EXISTS messages_changed ON messages (conversation_id, update_time, seq) WHERE update_time <> create_time;
            CREATE INDEX IF NOT EXISTS messages_by_create_time ON messages (create_time);
            {ConversationsTable}
            -- The list's whole order (update_time, then id): a page stops at its limit, with no sort of tied times.
            CREATE INDEX IF NOT EXISTS conversations_by_list ON conversations (user_id, update_time DESC, id DESC);
            DROP INDEX IF EXISTS conversations_by_update;
            """, ct);
        await InitializeGroupsAsync(connection, ct);
        await ExecuteAsync(connection, FriendsSchema, ct);
        await InitializeSearchAsync(connection, ct);
        await InitializeIntegrationsAsync(connection, ct);
    }

    /// <summary>
    /// Conversation rows were kept in a WITHOUT ROWID table until 2026-12. Such a table stores its rows in index pages,
    /// where a row longer than ~1,000 bytes (of a 4 KiB page) spills into an overflow page, and a row carries its last
    /// message: ~1,060 bytes in the benchmark. So each of a send's two row updates rewrote two pages and passed one
    /// through the freelist, about 4 of the ~15 WAL pages a 1:1 send wrote. An ordinary table keeps up to ~4,000
    /// bytes of a row in its leaf (and its key in a separate index, which an update does not touch); SQLite's own
    /// advice is WITHOUT ROWID only for rows under ~1/20 of a page.
    /// <para>
    /// <c>pinned</c>, <c>hidden</c> and <c>unread</c> (<see cref="ConversationRow.UnreadCount"/> above 0) are the row's
    /// state that the list's partial indexes select on, written by the store beside the document it comes from
    /// (<see cref="ListColumns"/>). Until 2026-12-05 the indexes read it from the document: SQLite evaluates a partial
    /// index's condition on the old and the new row of every write, and over the document each was a JSON parse of the
    /// ~1 KB row, ~3 µs a row write on the one writer, two of them a send (docs/benchmarks.md).
    /// </para>
    /// </summary>
    const string ConversationsTable = """
        CREATE TABLE IF NOT EXISTS conversations (
            user_id TEXT NOT NULL, id TEXT NOT NULL, update_time INTEGER NOT NULL,
            version INTEGER NOT NULL, doc TEXT NOT NULL,
            pinned INTEGER NOT NULL DEFAULT 0, hidden INTEGER NOT NULL DEFAULT 0, unread INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (user_id, id));
        """;

    /// <summary>The values of a row's <c>pinned</c>, <c>hidden</c> and <c>unread</c> columns (<see cref="ConversationsTable"/>).</summary>
    static (string, object?)[] ListColumns(ConversationRow row) =>
        [("$pinned", row.Pinned), ("$hidden", row.Hidden), ("$unread", row.UnreadCount > 0)];

    /// <summary>
    /// A file from before the list columns (<see cref="ConversationsTable"/>) gets them filled from each row's document,
    /// as the indexes of that time read it (a setting missing from a row written before it existed is false), and its
    /// indexes over the document are dropped, to be created again over the columns.
    /// </summary>
    const string FillListColumnsSql = """
        DROP INDEX IF EXISTS conversations_pinned;
        DROP INDEX IF EXISTS conversations_unread;
        UPDATE conversations SET
            pinned = coalesce(json_extract(doc, '$.pinned'), 0) = 1,
            hidden = coalesce(json_extract(doc, '$.hidden'), 0) = 1,
            unread = coalesce(json_extract(doc, '$.last_seq') > json_extract(doc, '$.read_seq'), 0)
                OR coalesce(json_extract(doc, '$.marked_unread'), 0) = 1;
        """;

    const string AddListColumnsSql = """
        ALTER TABLE conversations ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE conversations ADD COLUMN hidden INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE conversations ADD COLUMN unread INTEGER NOT NULL DEFAULT 0;
        """;

    const string MoveConversationsSql = $"""
        ALTER TABLE conversations RENAME TO conversations_without_rowid;
        {ConversationsTable}
        INSERT INTO conversations (user_id, id, update_time, version, doc)
            SELECT user_id, id, update_time, version, doc FROM conversations_without_rowid;
        DROP TABLE conversations_without_rowid;
        """;

    /// <summary>
    /// Messages were kept WITHOUT ROWID, keyed by (conversation, seq), until 2026-12: a send inserted its ~500-byte
    /// row at its conversation's end, somewhere inside the table, where full pages split and rebalanced with their
    /// neighbours every few sends (~3.6 WAL pages per send). An ordinary table appends every row at its end (a commit's
    /// sends share a page), and the key is a small unique index beside it. The rowid is also the message's search id
    /// (the rowid of <c>message_fts</c>): handed out in commit order, since one writer at a time appends at the end.
    /// <c>create_time</c> is computed from the document, so any writer of the file (a seeder, a test) keeps it right.
    /// </summary>
    const string MessagesTable = """
        CREATE TABLE IF NOT EXISTS messages (
            rid INTEGER PRIMARY KEY, conversation_id TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL,
            update_time INTEGER NOT NULL, doc TEXT NOT NULL,
            create_time INTEGER GENERATED ALWAYS AS (json_extract(doc, '$.create_time')) STORED,
            UNIQUE (conversation_id, seq));
        """;

    /// <summary>
    /// A file from before <see cref="MessagesTable"/> kept each message's search id in <c>message_search</c>; a message
    /// keeps it as its rowid, and messages with none (a file from before search) get theirs after every other. The
    /// index of that time, in this file, is dropped after the move and built again in its own file (SqliteImStore.Search.cs).
    /// </summary>
    async Task<string> MoveMessagesSqlAsync(SqliteConnection connection, CancellationToken ct)
    {
        var hadSearch = await TableSqlAsync(connection, "message_search", ct) is not null;
        var searchId = hadSearch ? "(SELECT s.rid FROM message_search s WHERE s.conversation_id = m.conversation_id AND s.seq = m.seq)" : "NULL";
        return $"""
            ALTER TABLE messages RENAME TO messages_without_rowid;
            {MessagesTable}
            INSERT INTO messages (rid, conversation_id, seq, id, update_time, doc)
                SELECT {searchId} AS search_id, m.conversation_id, m.seq, m.id, m.update_time, m.doc FROM messages_without_rowid m
                ORDER BY search_id IS NULL, search_id;
            DROP TABLE messages_without_rowid;
            {(hadSearch ? "DROP TABLE message_search;" : "")}
            """;
    }

    /// <summary>
    /// Before 2026-12 a send took its time before its seq, so two sends of one conversation could store their times
    /// out of their seqs' order (by the few ms between them), and every send wrote an entry in an index of all
    /// messages by update time. A message whose time is before an earlier seq's takes that time (its update time
    /// too, where it was not changed later), and the index goes: <c>messages_changed</c> holds the changed ones alone.
    /// </summary>
    const string OrderTimesSql = """
        UPDATE messages SET
            doc = json_set(doc, '$.create_time', ordered.time, '$.update_time', max(update_time, ordered.time)),
            update_time = max(update_time, ordered.time)
        FROM (SELECT rid, max(create_time) OVER (PARTITION BY conversation_id ORDER BY seq) AS time FROM messages) AS ordered
        WHERE messages.rid = ordered.rid AND ordered.time > messages.create_time;
        DROP INDEX IF EXISTS messages_by_update;
        """;

    /// <summary>The statement that created <paramref name="table"/>; null when the file has no such table.</summary>
    async Task<string?> TableSqlAsync(SqliteConnection connection, string table, CancellationToken ct)
    {
        await using var read = Command(connection, "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = $t", ("$t", table));
        return (string?)await read.ExecuteScalarAsync(ct);
    }

    /// <summary>
    /// A file from before is moved to the current layout once, in one transaction: the tables it keeps WITHOUT ROWID
    /// to ordinary ones (their indexes and triggers, dropped with the old tables, are created again by the schema that
    /// follows), its conversation rows' list columns added and filled (<see cref="FillListColumnsSql"/>), and its
    /// messages' times into their seqs' order (<see cref="OrderTimesSql"/>). The layout is read under the write lock,
    /// so two processes opening one file move it once.
    /// </summary>
    async Task MoveToCurrentLayoutAsync(SqliteConnection connection, CancellationToken ct)
    {
        await ExecuteAsync(connection, "BEGIN IMMEDIATE", ct);
        try
        {
            var timesUnordered = await TableSqlAsync(connection, "messages", ct) is not null && !await HasIndexAsync("messages_changed");
            var listColumnsMissing = await TableSqlAsync(connection, "conversations", ct) is not null && !await HasColumnAsync("conversations", "unread");
            var moveConversations = await IsWithoutRowidAsync("conversations") ? MoveConversationsSql : listColumnsMissing ? AddListColumnsSql : "";
            if (listColumnsMissing) moveConversations += FillListColumnsSql;
            if (moveConversations.Length > 0) await MoveAsync("conversations", moveConversations);
            var moveMessages = (await IsWithoutRowidAsync("messages") ? await MoveMessagesSqlAsync(connection, ct) : "")
                + (timesUnordered ? OrderTimesSql : "");
            if (moveMessages.Length > 0) await MoveAsync("messages", moveMessages);
            await ExecuteAsync(connection, "COMMIT", ct);
        }
        catch
        {
            await ExecuteAsync(connection, "ROLLBACK", CancellationToken.None);
            throw;
        }

        async Task<bool> IsWithoutRowidAsync(string table) =>
            (await TableSqlAsync(connection, table, ct))?.Contains("WITHOUT ROWID", StringComparison.OrdinalIgnoreCase) == true;

        async Task<bool> HasIndexAsync(string index)
        {
            await using var read = Command(connection, "SELECT 1 FROM sqlite_schema WHERE type = 'index' AND name = $i", ("$i", index));
            return await read.ExecuteScalarAsync(ct) is not null;
        }

        async Task<bool> HasColumnAsync(string table, string column)
        {
            await using var read = Command(connection, "SELECT 1 FROM pragma_table_info($t) WHERE name = $c", ("$t", table), ("$c", column));
            return await read.ExecuteScalarAsync(ct) is not null;
        }

        async Task MoveAsync(string table, string moveSql)
        {
            // The start waits for it (a million messages took ~30 s on a 2-core machine): say why.
            log.LogWarning("Moving table {Table} to its current layout, once; the store opens when it is done", table);
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            await ExecuteAsync(connection, moveSql, ct);
            log.LogInformation("Moved table {Table} in {Seconds:0.0} s", table, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }

    /// <summary>
    /// Chat history is personal data: the folder is made 0700 and the file 0600 before SQLite opens it (its -wal and
    /// -shm files take the database file's mode).
    /// </summary>
    static void CreateOwnerOnly(string path)
    {
        var directory = System.IO.Path.GetDirectoryName(path)!;
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
            return;
        }
        if (!Directory.Exists(directory)) Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        if (!File.Exists(path))
            using (File.Create(path)) { }
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    public async Task<User?> GetUserAsync(string uid, CancellationToken ct) =>
        (await QueryDocsAsync<User>(StoreOp.PointRead, "SELECT doc FROM users WHERE id = $id", ct, ("$id", uid))).SingleOrDefault();

    public async Task<IReadOnlyList<User>> GetUsersAsync(IReadOnlyCollection<string> uids, CancellationToken ct)
    {
        var found = new List<User>();
        foreach (var chunk in uids.Chunk(500))
        {
            var names = chunk.Select((_, i) => "$u" + i).ToArray();
            found.AddRange(await QueryDocsAsync<User>(StoreOp.Query,
                $"SELECT doc FROM users WHERE id IN ({string.Join(",", names)})", ct,
                names.Zip(chunk, (n, v) => (n, (object?)v)).ToArray()));
        }
        return found;
    }

    public Task<string?> FindUidByExtUidAsync(string extUid, CancellationToken ct) =>
        RunAsync(StoreOp.PointRead, async connection =>
        {
            await using var command = Command(connection, "SELECT uid FROM ext_uids WHERE ext_uid = $ext", ("$ext", extUid));
            return (string?)await command.ExecuteScalarAsync(ct);
        }, ct);

    public Task<string> BindExtUidAsync(string extUid, string proposedUid, CancellationToken ct) =>
        RunAsync(StoreOp.Write, async connection =>
        {
            await using var command = Command(connection, """
                INSERT INTO ext_uids (ext_uid, uid) VALUES ($ext, $uid) ON CONFLICT (ext_uid) DO NOTHING;
                SELECT uid FROM ext_uids WHERE ext_uid = $ext;
                """, ("$ext", extUid), ("$uid", proposedUid));
            return (string)(await command.ExecuteScalarAsync(ct))!;
        }, ct);

    public Task SaveUserAsync(User user, CancellationToken ct) =>
        RunAsync(StoreOp.Write, connection => ExecuteAsync(connection,
            "INSERT INTO users (id, doc) VALUES ($id, $doc) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc", ct,
            ("$id", user.Id), ("$doc", Serialize(user))), ct);

    public Task<AppendResult> TryAppendMessageAsync(Message message, CancellationToken ct) => TryAppendMessageAsync(message, AppendWrites.None, ct);

    /// <summary>
    /// The message and its writes in one write on the writer: one place in its group commit, stored together or not at
    /// all. Each row is planned (applied and serialized) by the caller, like <see cref="UpdateConversationAsync"/> does;
    /// a group's head and a member's cursor are applied on the writer, like <see cref="UpdateGroupAsync"/> and
    /// <see cref="UpdateMemberAsync"/> do.
    /// </summary>
    public Task<AppendResult> TryAppendMessageAsync(Message message, AppendWrites writes, CancellationToken ct)
    {
        // Serialized by the caller, not on the writer: see UpdateConversationAsync.
        var doc = SerializeUtf8(message);
        var planned = writes.Rows.Select(row => Plan(row.UserId, row.ConversationId, row.Known, row.Apply)).Where(row => row.Next is not null).ToArray();
        return RunAsync(StoreOp.Write, async connection =>
        {
            try
            {
                // Only the message after the head: the store itself keeps the sequence gap-free and the times in its
                // order (AppendsInCallOrder), which the update sync relies on (ReadMessagesUpdatedSinceAsync).
                var inserted = await ExecuteAsync(connection, $"""
                    INSERT INTO messages (conversation_id, seq, id, update_time, doc)
                    SELECT $c, $seq, $id, $t, CAST($doc AS TEXT)
                    WHERE EXISTS (SELECT 1 FROM ({HeadSql}) WHERE seq = $seq - 1 AND create_time <= $ct)
                    """, ct, ("$c", message.ConversationId), ("$seq", message.Seq), ("$id", message.Id),
                    ("$t", message.UpdateTime), ("$ct", message.CreateTime), ("$doc", doc));
                if (inserted == 0) return AppendResult.SeqTaken(await HeadAsync(connection, message.ConversationId, ct));
                foreach (var row in planned) await WriteRowAsync(connection, row, ct);
                if (writes.Group is { } group) await UpdateGroupOnWriterAsync(connection, group.GroupId, group.Known, group.Apply, ct);
                if (writes.Member is { } member) await UpdateMemberOnWriterAsync(connection, member.GroupId, member.UserId, member.Known, member.Apply, ct);
                return AppendResult.Appended;
            }
            catch (SqliteException e) when (e.SqliteExtendedErrorCode == SqliteConstraintUnique)
            {
                return AppendResult.IdTaken;
            }
        }, ct);
    }

    public Task UpdateAsync(AppendWrites writes, CancellationToken ct) => writes.ApplyEachAsync(this, this, ct);

    /// <summary>
    /// One writer applies the appends in the order they were queued, and an append takes only the seq after the head.
    /// </summary>
    public bool AppendsInCallOrder => true;

    /// <summary>
    /// The seq and time of the last message of the conversation in <c>$c</c>: the last stored, or where retention
    /// deleted them all, the last it deleted; (0, 0) for a conversation with none yet.
    /// </summary>
    const string HeadSql = """
        SELECT seq, create_time FROM (SELECT seq, create_time FROM messages WHERE conversation_id = $c ORDER BY seq DESC LIMIT 1)
        UNION ALL SELECT seq, create_time FROM expired_heads WHERE conversation_id = $c
        UNION ALL SELECT 0, 0
        ORDER BY seq DESC LIMIT 1
        """;

    async Task<ConversationHead> HeadAsync(SqliteConnection connection, string conversationId, CancellationToken ct)
    {
        await using var read = Command(connection, HeadSql, ("$c", conversationId));
        await using var reader = await read.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return new ConversationHead(reader.GetInt64(0), reader.GetInt64(1));
    }

    public async Task<Message?> GetMessageAsync(string conversationId, string messageId, CancellationToken ct) =>
        (await QueryDocsAsync<Message>(StoreOp.PointRead, "SELECT doc FROM messages WHERE conversation_id = $c AND id = $id",
            ct, ("$c", conversationId), ("$id", messageId))).SingleOrDefault();

    public Task<IReadOnlyList<Message>> ReadMessagesAsync(string conversationId, SeqWindow window, int limit, CancellationToken ct) =>
        window.AfterSeq is { } after
            ? QueryDocsAsync<Message>(StoreOp.Query, """
                SELECT doc FROM messages WHERE conversation_id = $c AND seq > $after ORDER BY seq LIMIT $limit
                """, ct, ("$c", conversationId), ("$after", after), ("$limit", limit))
            : QueryDocsAsync<Message>(StoreOp.Query, """
                SELECT doc FROM messages WHERE conversation_id = $c AND seq < $before ORDER BY seq DESC LIMIT $limit
                """, ct, ("$c", conversationId), ("$before", window.BeforeSeq ?? long.MaxValue), ("$limit", limit));

    /// <summary>
    /// Two kinds of message were updated after a time. Those changed after they were sent (revoked, edited, erased) are
    /// read from <c>messages_changed</c>, the index of their kind alone, which a send does not write. The others were
    /// sent after it: since a conversation's times follow its seqs (<see cref="TryAppendMessageAsync(Message,
    /// AppendWrites, CancellationToken)"/>), they are the conversation's end, from the first seq sent after
    /// it, which <see cref="FirstSeqSentAfterAsync"/> finds. Each kind is read in the sync's order up to the limit, in
    /// one snapshot, and the two are merged.
    /// </summary>
    public Task<IReadOnlyList<Message>> ReadMessagesUpdatedSinceAsync(string conversationId, long minUpdateTime, int limit,
        CancellationToken ct) =>
        RunAsync(StoreOp.Query, async connection =>
        {
            await ExecuteAsync(connection, "BEGIN", ct);
            try
            {
                var changed = await ReadDocsAsync<Message>(connection, ChangedSinceSql, ct,
                    ("$c", conversationId), ("$t", minUpdateTime), ("$limit", limit));
                if (await FirstSeqSentAfterAsync(connection, conversationId, minUpdateTime, ct) is not { } first) return changed;
                var sent = await ReadDocsAsync<Message>(connection, SentFromSql, ct,
                    ("$c", conversationId), ("$first", first), ("$limit", limit));
                return (IReadOnlyList<Message>)changed.Concat(sent).OrderBy(m => m.UpdateTime).ThenBy(m => m.Seq).Take(limit).ToList();
            }
            finally
            {
                await ExecuteAsync(connection, "COMMIT", CancellationToken.None);
            }
        }, ct);

    internal const string ChangedSinceSql = """
        SELECT doc FROM messages WHERE conversation_id = $c AND update_time <> create_time AND update_time > $t
        ORDER BY update_time, seq LIMIT $limit
        """;

    /// <summary>Unchanged messages from a seq on: a changed one among them is skipped (it is read as changed).</summary>
    internal const string SentFromSql = """
        SELECT doc FROM messages WHERE conversation_id = $c AND seq >= $first AND update_time = create_time
        ORDER BY seq LIMIT $limit
        """;

    /// <summary>The last message of a conversation in a range of seqs: its seq and time.</summary>
    internal const string LastInRangeSql = """
        SELECT seq, create_time FROM messages WHERE conversation_id = $c AND seq > $after AND seq <= $upTo
        ORDER BY seq DESC LIMIT 1
        """;

    /// <summary>
    /// The first seq of a conversation sent after <paramref name="time"/>, null when none was. Times follow seqs, so
    /// the search steps back from the end, twice as far each time, then halves the range it has found: ~2·log₂(k)
    /// probes of the seq key for the k messages sent since, whatever the conversation holds. Seqs may have holes
    /// (retention deletes the oldest messages), so a probe reads the last message at or before a seq.
    /// </summary>
    async Task<long?> FirstSeqSentAfterAsync(SqliteConnection connection, string conversationId, long time, CancellationToken ct)
    {
        await using var probe = Command(connection, LastInRangeSql, ("$c", conversationId), ("$after", 0L), ("$upTo", long.MaxValue));
        async Task<(long Seq, long CreateTime)?> LastInRangeAsync(long after, long upTo)
        {
            probe.Parameters["$after"].Value = after;
            probe.Parameters["$upTo"].Value = upTo;
            await using var reader = await probe.ExecuteReaderAsync(ct);
            return await reader.ReadAsync(ct) ? (reader.GetInt64(0), reader.GetInt64(1)) : null;
        }

        // Every message up to `before` was sent at or before the time; every one from `from` on, after it.
        if (await LastInRangeAsync(0, long.MaxValue) is not { } last || last.CreateTime <= time) return null;
        long before = 0, from = last.Seq;
        for (var step = 1L; from - step > 0; step *= 2)
        {
            if (await LastInRangeAsync(0, from - step) is not { } earlier) break;
            if (earlier.CreateTime <= time)
            {
                before = earlier.Seq;
                break;
            }
            from = earlier.Seq;
        }
        while (from - before > 1)
        {
            var middle = before + (from - before) / 2;
            if (await LastInRangeAsync(before, middle) is { } found && found.CreateTime > time) from = found.Seq;
            else before = middle;
        }
        return from;
    }

    /// <summary>From <see cref="rowCache"/> when this process holds the row (metered all the same: the port's cost).</summary>
    public async Task<ConversationRow?> GetConversationAsync(string userId, string conversationId, CancellationToken ct)
    {
        if (rowCache.TryGet(userId, conversationId, out var cached))
        {
            StoreMeter.Record(StoreOp.PointRead);
            return cached;
        }
        var stamp = rowCache.Stamp;
        var row = await RunAsync(StoreOp.PointRead, connection => ReadRowAsync(connection, userId, conversationId, ct), ct);
        rowCache.Offer(userId, conversationId, row, stamp);
        return row;
    }

    public Task<IReadOnlyList<ConversationRow>> ListConversationsAsync(string userId, ConversationPage page, CancellationToken ct) =>
        RunAsync(StoreOp.Query, async connection =>
        {
            await using var command = Command(connection, """
                SELECT doc, version FROM conversations WHERE user_id = $u AND update_time < $max
                ORDER BY update_time DESC LIMIT $limit OFFSET $skip
                """, ("$u", userId), ("$max", page.MaxUpdateTime ?? long.MaxValue), ("$limit", page.Limit), ("$skip", page.Skip));
            await using var reader = await command.ExecuteReaderAsync(ct);
            var rows = new List<ConversationRow>();
            while (await reader.ReadAsync(ct)) rows.Add(ToRow(reader));
            return (IReadOnlyList<ConversationRow>)rows;
        }, ct);

    /// <summary>
    /// Every write of the file runs on the one writer, in turn, so the writer runs only the conditional statement: the
    /// row is read (unless the caller knows it), changed and serialized by the caller, and written on the writer only
    /// if its version is still the one read. If another write came first (an earlier write of the same batch, or
    /// another process), the writer reads, reapplies and writes it itself, where no other write can come between, so a
    /// hot conversation costs one re-read, never a retry storm.
    /// </summary>
    public async Task<ConversationRow?> UpdateConversationAsync(string userId, string conversationId, ConversationRow? known,
        Func<ConversationRow?, ConversationRow?> apply, CancellationToken ct)
    {
        var planned = Plan(userId, conversationId, known ?? await GetConversationAsync(userId, conversationId, ct), apply);
        if (planned.Next is null) return planned.Current;
        return await WriteAsync(connection => WriteRowAsync(connection, planned, ct), ct);
    }

    /// <summary>A row's change as the caller computed it from the row it read: the writer only writes it, if still current.</summary>
    sealed record PlannedRow(string UserId, string ConversationId, ConversationRow? Current, ConversationRow? Next, byte[]? Doc,
        Func<ConversationRow?, ConversationRow?> Apply);

    static PlannedRow Plan(string userId, string conversationId, ConversationRow? current, Func<ConversationRow?, ConversationRow?> apply)
    {
        var next = apply(current);
        return new(userId, conversationId, current, next, next is null ? null : SerializeUtf8(next), apply);
    }

    /// <summary>
    /// On the writer: the planned row if its version is still the one read, else the row as it is now, reapplied and
    /// written here. The sends of a hot conversation queue in line, so a row there was usually moved by a write just
    /// ahead of this one, in this batch or the last commit: it is taken from what the writer wrote (no read, no JSON),
    /// and read from the file only if that copy turns out not to be current either.
    /// </summary>
    async Task<ConversationRow?> WriteRowAsync(SqliteConnection connection, PlannedRow row, CancellationToken ct)
    {
        StoreMeter.Record(StoreOp.Write);
        var written = await WriteIfCurrentAsync(connection, row.Current, row.Next!, row.Doc!, ct);
        var fromWriter = true;
        while (written is null)
        {
            StoreMeter.Record(StoreOp.PointRead);
            var fresh = fromWriter && LastWritten(row.UserId, row.ConversationId, out var known)
                ? known
                : await ReadRowAsync(connection, row.UserId, row.ConversationId, ct);
            fromWriter = false;
            var reapplied = row.Apply(fresh);
            if (reapplied is null) return fresh;
            StoreMeter.Record(StoreOp.Write);
            written = await WriteIfCurrentAsync(connection, fresh, reapplied, SerializeUtf8(reapplied), ct);
        }
        writtenRows.Add(((written.UserId, written.Id), written));
        return written;
    }

    /// <summary>The row as the writer last wrote it (null: deleted): in the batch being committed, else in the last commits.</summary>
    bool LastWritten(string userId, string conversationId, out ConversationRow? row)
    {
        for (var i = writtenRows.Count - 1; i >= 0; i--)
            if (writtenRows[i].Key.Id == conversationId && writtenRows[i].Key.UserId == userId)
            {
                row = writtenRows[i].Row;
                return true;
            }
        return rowCache.TryGet(userId, conversationId, out row);
    }

    /// <summary><paramref name="next"/> written over <paramref name="current"/> (none: inserted); null if the row moved on since.</summary>
    Task<ConversationRow?> WriteIfCurrentAsync(SqliteConnection connection, ConversationRow? current, ConversationRow next, byte[] doc,
        CancellationToken ct) =>
        current is null ? InsertRowAsync(connection, next, doc, ct) : ReplaceRowAsync(connection, next, doc, current.ETag!, ct);

    async Task<ConversationRow?> InsertRowAsync(SqliteConnection connection, ConversationRow row, byte[] doc, CancellationToken ct)
    {
        try
        {
            await ExecuteAsync(connection, """
                INSERT INTO conversations (user_id, id, update_time, version, doc, pinned, hidden, unread)
                VALUES ($u, $id, $t, 1, CAST($doc AS TEXT), $pinned, $hidden, $unread)
                """, ct, [("$u", row.UserId), ("$id", row.Id), ("$t", row.UpdateTime), ("$doc", doc), .. ListColumns(row)]);
            return row with { ETag = "1" };
        }
        catch (SqliteException e) when (e.SqliteExtendedErrorCode == SqliteConstraintPrimaryKey)
        {
            return null;
        }
    }

    async Task<ConversationRow?> ReplaceRowAsync(SqliteConnection connection, ConversationRow row, byte[] doc, string etag, CancellationToken ct)
    {
        var version = long.Parse(etag);
        var changed = await ExecuteAsync(connection, """
            UPDATE conversations SET doc = CAST($doc AS TEXT), update_time = $t, version = version + 1,
                pinned = $pinned, hidden = $hidden, unread = $unread
            WHERE user_id = $u AND id = $id AND version = $v
            """, ct, [("$u", row.UserId), ("$id", row.Id), ("$t", row.UpdateTime), ("$v", version), ("$doc", doc), .. ListColumns(row)]);
        return changed == 1 ? row with { ETag = (version + 1).ToString() } : null;
    }

    async Task<ConversationRow?> ReadRowAsync(SqliteConnection connection, string userId, string conversationId, CancellationToken ct)
    {
        await using var command = Command(connection, "SELECT doc, version FROM conversations WHERE user_id = $u AND id = $id",
            ("$u", userId), ("$id", conversationId));
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? ToRow(reader) : null;
    }

    static ConversationRow ToRow(SqliteDataReader reader) =>
        Deserialize<ConversationRow>(reader.GetString(0)) with { ETag = reader.GetInt64(1).ToString() };

    Task<IReadOnlyList<T>> QueryDocsAsync<T>(StoreOp op, string sql, CancellationToken ct, params (string Name, object? Value)[] parameters) =>
        RunAsync(op, connection => ReadDocsAsync<T>(connection, sql, ct, parameters), ct);

    async Task<IReadOnlyList<T>> ReadDocsAsync<T>(SqliteConnection connection, string sql, CancellationToken ct,
        params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(connection, sql, parameters);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var docs = new List<T>();
        while (await reader.ReadAsync(ct)) docs.Add(Deserialize<T>(reader.GetString(0)));
        return docs;
    }

    /// <summary>One metered round trip: a write goes into the writer's next group commit, a read runs on a pooled connection.</summary>
    Task<T> RunAsync<T>(StoreOp op, Func<SqliteConnection, Task<T>> work, CancellationToken ct)
    {
        StoreMeter.Record(op);
        return op == StoreOp.Write ? WriteAsync(work, ct) : ReadAsync(work, ct);
    }

    /// <summary>Reads run on pooled connections (the store's, unless <paramref name="open"/> says), in parallel with each other and with the writer (WAL).</summary>
    async Task<T> ReadAsync<T>(Func<SqliteConnection, Task<T>> work, CancellationToken ct,
        Func<CancellationToken, Task<SqliteConnection>>? open = null)
    {
        try
        {
            await using var connection = await (open ?? OpenAsync)(ct);
            return await work(connection);
        }
        catch (SqliteException e) when (IsLocked(e))
        {
            throw new DependencyUnavailableException("SQLite store", e);
        }
    }

    /// <summary>The file stayed locked (by another process) past the busy timeout: the store counts as unavailable.</summary>
    static bool IsLocked(Exception e) => e is SqliteException { SqliteErrorCode: SqliteBusy or SqliteLocked };

    Task RunAsync(StoreOp op, Func<SqliteConnection, Task> work, CancellationToken ct) =>
        RunAsync(op, async connection => { await work(connection); return true; }, ct);

    async Task<SqliteConnection> OpenAsync(CancellationToken ct)
    {
        var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(ct);
        return connection;
    }

    async Task<int> ExecuteAsync(SqliteConnection connection, string sql, CancellationToken ct,
        params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(connection, sql, parameters);
        return await command.ExecuteNonQueryAsync(ct);
    }

    static string Serialize<T>(T value) => JsonSerializer.Serialize(value, ImJson.Options);

    /// <summary>
    /// A message as it is appended, and every conversation row as it is written (a send's rows and any other change to a
    /// row: they share <see cref="Plan"/> and <see cref="WriteIfCurrentAsync"/>), as UTF-8, which a statement casts to
    /// text (<c>CAST($doc AS TEXT)</c>, stored as text like every other document). Microsoft.Data.Sqlite binds a string
    /// by copying it to UTF-8 again, and a byte array only as a blob: as strings a 1:1 send's three documents cost their
    /// UTF-16 text and that copy, ~8 KB of its allocations, as UTF-8 a third of that (docs/benchmarks.md). Every other
    /// document (a group, its head and members' cursors, an edited message) is still written as a string.
    /// </summary>
    static byte[] SerializeUtf8<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, ImJson.Options);

    static T Deserialize<T>(string json) => JsonSerializer.Deserialize<T>(json, ImJson.Options)!;
}

public sealed class SqliteStoreOptions
{
    public string Path { get; set; } = System.IO.Path.Combine("data", "imfunctions.db");
    /// <summary>How long a write waits for the file lock before the store counts as unavailable.</summary>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(30);
    /// <summary>The writer's <c>PRAGMA synchronous</c>: how far a commit is flushed before it counts as done.</summary>
    public SqliteSynchronous Synchronous { get; set; } = SqliteSynchronous.Full;
}

/// <summary>
/// <see cref="Full"/>: every commit is synced to disk, so an acknowledged write survives a power cut or an OS crash.
/// <see cref="Normal"/>: the WAL is synced only at checkpoints; a crash of this process loses nothing committed, an OS
/// crash or power cut can lose the last commits.
/// </summary>
public enum SqliteSynchronous { Full, Normal }
