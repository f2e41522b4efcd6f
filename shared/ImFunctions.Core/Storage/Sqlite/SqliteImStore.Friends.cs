using ImFunctions.Core.Domain;
using ImFunctions.Core.Friends;
using Microsoft.Data.Sqlite;

namespace ImFunctions.Core.Storage.Sqlite;

/// <summary>The social graph (friends, invites, blocks) and the conversation list's filtered queries.</summary>
public sealed partial class SqliteImStore : IFriendStore, IConversationListStore
{
    const string FriendsSchema = $"""
        CREATE TABLE IF NOT EXISTS social (
            user_id TEXT NOT NULL, id TEXT NOT NULL, kind TEXT NOT NULL, sort_key TEXT NOT NULL,
            version INTEGER NOT NULL, doc TEXT NOT NULL,
            PRIMARY KEY (user_id, id)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS social_by_kind ON social (user_id, kind, sort_key DESC);
        -- "Whose graph holds a record about uid" (who blocked a user being deleted) without a scan.
        CREATE INDEX IF NOT EXISTS social_by_id ON social (id, user_id);
        -- Pinned rows are few: the pinned-first list reads them from here instead of scanning every row.
        -- The query repeats this exact WHERE term, which is how SQLite picks a partial index.
        CREATE INDEX IF NOT EXISTS conversations_pinned ON conversations (user_id, update_time DESC, id DESC)
            WHERE {PinnedTerm};
        -- Unread rows that are not hidden: the badge and the unread filter read what they return (a user with 10,000
        -- conversations and 20 unread reads 20 rows, not 10,000). Their queries repeat both terms. A send moves the
        -- receiver's entry here too: one more index page per send.
        CREATE INDEX IF NOT EXISTS conversations_unread ON conversations (user_id, update_time DESC, id DESC)
            WHERE {VisibleTerm} AND {UnreadTerm};
        """;

    // A row's settings and state as SQL, shared by the partial indexes and the queries that must repeat them: what the
    // indexes select on from the row's own columns (ConversationsTable), the rest from its document, where rows written
    // before a setting existed lack its field (json_extract gives NULL there, read as false).
    const string VisibleTerm = "hidden = 0";
    const string UnmutedTerm = "coalesce(json_extract(doc, '$.mute'), 0) = 0";
    const string PinnedTerm = "pinned = 1";
    const string UnreadTerm = "unread = 1";

    async Task<T?> IFriendStore.GetAsync<T>(string ownerUid, string id, CancellationToken ct) where T : class =>
        (await QuerySocialAsync<T>(StoreOp.PointRead, "SELECT doc, version FROM social WHERE user_id = $u AND id = $id", ct,
            ("$u", ownerUid), ("$id", id))).SingleOrDefault();

    Task<bool> IFriendStore.TryCreateAsync<T>(T record, CancellationToken ct) =>
        RunAsync(StoreOp.Write, async connection =>
        {
            await using var command = Command(connection, """
                INSERT INTO social (user_id, id, kind, sort_key, version, doc) VALUES ($u, $id, $kind, $sort, 1, $doc)
                ON CONFLICT (user_id, id) DO NOTHING
                """, SocialParameters(record));
            return await command.ExecuteNonQueryAsync(ct) == 1;
        }, ct);

    Task<T?> IFriendStore.TryReplaceAsync<T>(T record, CancellationToken ct) where T : class =>
        RunAsync(StoreOp.Write, async connection =>
        {
            var version = long.Parse(record.ETag ?? throw new ArgumentException("A replace needs the ETag of the record it read."));
            await using var command = Command(connection, """
                UPDATE social SET kind = $kind, sort_key = $sort, version = version + 1, doc = $doc
                WHERE user_id = $u AND id = $id AND version = $v
                """, [.. SocialParameters(record), ("$v", version)]);
            return await command.ExecuteNonQueryAsync(ct) == 1 ? record.WithETag<T>((version + 1).ToString()) : null;
        }, ct);

    Task IFriendStore.UpsertAsync<T>(T record, CancellationToken ct) =>
        RunAsync(StoreOp.Write, connection => ExecuteAsync(connection, """
            INSERT INTO social (user_id, id, kind, sort_key, version, doc) VALUES ($u, $id, $kind, $sort, 1, $doc)
            ON CONFLICT (user_id, id) DO UPDATE SET kind = excluded.kind, sort_key = excluded.sort_key, version = version + 1, doc = excluded.doc
            """, ct, SocialParameters(record)), ct);

    Task<bool> IFriendStore.DeleteAsync(string ownerUid, string id, CancellationToken ct) =>
        RunAsync(StoreOp.Write, async connection =>
            await ExecuteAsync(connection, "DELETE FROM social WHERE user_id = $u AND id = $id", ct, ("$u", ownerUid), ("$id", id)) == 1, ct);

    Task<IReadOnlyList<T>> IFriendStore.ListAsync<T>(string ownerUid, string kind, string? afterSortKey, int limit, CancellationToken ct) =>
        QuerySocialAsync<T>(StoreOp.Query, """
            SELECT doc, version FROM social WHERE user_id = $u AND kind = $kind AND sort_key < $after
            ORDER BY sort_key DESC LIMIT $limit
            """, ct, ("$u", ownerUid), ("$kind", kind), ("$after", afterSortKey ?? "\uffff"), ("$limit", limit));

    Task<IReadOnlyList<T>> IFriendStore.ListWithIdAcrossOwnersAsync<T>(string id, string? afterOwnerUid, int limit, CancellationToken ct) =>
        QuerySocialAsync<T>(StoreOp.Query, """
            SELECT doc, version FROM social WHERE id = $id AND user_id > $after ORDER BY user_id LIMIT $limit
            """, ct, ("$id", id), ("$after", afterOwnerUid ?? ""), ("$limit", limit));

    static (string, object?)[] SocialParameters(SocialRecord record) =>
        [("$u", record.UserId), ("$id", record.Id), ("$kind", record.Kind), ("$sort", record.SortKey), ("$doc", Serialize<object>(record))];

    Task<IReadOnlyList<T>> QuerySocialAsync<T>(StoreOp op, string sql, CancellationToken ct, params (string Name, object? Value)[] parameters)
        where T : SocialRecord =>
        RunAsync(op, async connection =>
        {
            await using var command = Command(connection, sql, parameters);
            await using var reader = await command.ExecuteReaderAsync(ct);
            var records = new List<T>();
            while (await reader.ReadAsync(ct)) records.Add(Deserialize<T>(reader.GetString(0)).WithETag<T>(reader.GetInt64(1).ToString()));
            return (IReadOnlyList<T>)records;
        }, ct);

    public Task<IReadOnlyList<ConversationRow>> QueryConversationsAsync(string userId, ConversationQuery query, CancellationToken ct) =>
        RunAsync(StoreOp.Query, async connection =>
        {
            var (sql, parameters) = ConversationQuerySql(userId, query);
            await using var command = Command(connection, sql, [.. parameters]);
            await using var reader = await command.ExecuteReaderAsync(ct);
            var rows = new List<ConversationRow>();
            while (await reader.ReadAsync(ct)) rows.Add(ToRow(reader));
            return (IReadOnlyList<ConversationRow>)rows;
        }, ct);

    /// <summary>A list query as SQL: its conditions are the terms the partial indexes repeat, so SQLite can use them.</summary>
    internal static (string Sql, List<(string, object?)> Parameters) ConversationQuerySql(string userId, ConversationQuery query)
    {
        var sql = new System.Text.StringBuilder("SELECT doc, version FROM conversations WHERE user_id = $u");
        var parameters = new List<(string, object?)> { ("$u", userId) };
        if (query.MaxUpdateTime is { } max)
        {
            sql.Append(" AND update_time < $max");
            parameters.Add(("$max", max));
        }
        if (query.After is { } after)
        {
            var (afterTime, afterId) = ParseListKey(after);
            sql.Append(" AND (update_time < $at OR (update_time = $at AND id < $aid))");
            parameters.Add(("$at", afterTime));
            parameters.Add(("$aid", afterId));
        }
        if (!query.IncludeHidden) sql.Append(" AND " + VisibleTerm);
        if (query.ExcludeMuted) sql.Append(" AND " + UnmutedTerm);
        if (query.Pinned is { } pinned) sql.Append(pinned ? " AND " + PinnedTerm : " AND pinned = 0");
        var filter = query.Filter;
        if (filter.HasFlag(ConversationFilter.Unread)) sql.Append(" AND " + UnreadTerm);
        if (filter.HasFlag(ConversationFilter.Single)) sql.Append($" AND json_extract(doc, '$.type') = {ConversationTypes.Single}");
        if (filter.HasFlag(ConversationFilter.Group)) sql.Append($" AND json_extract(doc, '$.type') = {ConversationTypes.Group}");
        if (filter.HasFlag(ConversationFilter.Starred)) sql.Append(" AND json_extract(doc, '$.is_star') = 1");
        if (filter.HasFlag(ConversationFilter.HasRemind))
            sql.Append(" AND (json_extract(doc, '$.has_remind') = 1 OR coalesce(json_array_length(doc, '$.remind_msg_ids'), 0) > 0)");
        sql.Append(" ORDER BY update_time DESC, id DESC LIMIT $limit OFFSET $skip");
        parameters.Add(("$limit", query.Limit));
        parameters.Add(("$skip", query.Skip));
        return (sql.ToString(), parameters);
    }

    /// <summary>A page of the badge's rows, newest first, read from <c>conversations_unread</c>.</summary>
    internal const string UnreadRowsSql = $"""
        SELECT id, update_time, json_extract(doc, '$.last_seq') - json_extract(doc, '$.read_seq'),
               coalesce(json_extract(doc, '$.marked_unread'), 0)
        FROM conversations
        WHERE user_id = $u AND (update_time < $at OR (update_time = $at AND id < $aid))
          AND {VisibleTerm} AND {UnmutedTerm} AND {UnreadTerm}
        ORDER BY update_time DESC, id DESC LIMIT $limit
        """;

    public Task<IReadOnlyList<UnreadRow>> ListUnreadAsync(string userId, string? after, int limit, CancellationToken ct) =>
        RunAsync(StoreOp.Query, async connection =>
        {
            var (afterTime, afterId) = after is null ? (long.MaxValue, "") : ParseListKey(after);
            await using var command = Command(connection, UnreadRowsSql, ("$u", userId), ("$at", afterTime), ("$aid", afterId), ("$limit", limit));
            await using var reader = await command.ExecuteReaderAsync(ct);
            var rows = new List<UnreadRow>();
            while (await reader.ReadAsync(ct))
            {
                var id = reader.GetString(0);
                var unread = Math.Max(reader.GetInt64(3) == 1 ? 1 : 0, reader.GetInt64(2));
                rows.Add(new UnreadRow(id, unread, $"{reader.GetInt64(1):D15}|{id}"));
            }
            return (IReadOnlyList<UnreadRow>)rows;
        }, ct);

    /// <summary>A <see cref="ConversationRow.ListKey"/> back into its update_time and id.</summary>
    internal static (long UpdateTime, string Id) ParseListKey(string key)
    {
        var bar = key.IndexOf('|');
        return (long.Parse(key.AsSpan(0, bar), System.Globalization.CultureInfo.InvariantCulture), key[(bar + 1)..]);
    }
}
