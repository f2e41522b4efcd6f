using ImFunctions.Core.Domain;
using ImFunctions.Core.Groups;
using Microsoft.Data.Sqlite;

namespace ImFunctions.Core.Storage.Sqlite;

/// <summary>The groups port on SQLite: the same documents and version-guarded replaces as the Cosmos store.</summary>
public sealed partial class SqliteImStore : IGroupStore
{
    static Task InitializeGroupsAsync(SqliteConnection connection, CancellationToken ct) => ExecuteRawAsync(connection, """
        CREATE TABLE IF NOT EXISTS groups (id TEXT PRIMARY KEY, version INTEGER NOT NULL, doc TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS group_members (
            group_id TEXT NOT NULL, user_id TEXT NOT NULL, version INTEGER NOT NULL, is_current INTEGER NOT NULL,
            read_seq INTEGER NOT NULL, doc TEXT NOT NULL,
            PRIMARY KEY (group_id, user_id)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS group_requests (
            group_id TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL, state INTEGER NOT NULL, doc TEXT NOT NULL,
            PRIMARY KEY (group_id, id)) WITHOUT ROWID;
        -- A user's own requests across groups (export, account deletion); queries repeat this exact expression.
        CREATE INDEX IF NOT EXISTS group_requests_by_user ON group_requests (json_extract(doc, '$.user_id'), group_id);
        CREATE TABLE IF NOT EXISTS group_blacklist (group_id TEXT NOT NULL, user_id TEXT NOT NULL,
            PRIMARY KEY (group_id, user_id)) WITHOUT ROWID;
        """, ct);

    static async Task ExecuteRawAsync(SqliteConnection connection, string sql, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(ct);
    }

    public Task<bool> CreateGroupAsync(Group group, CancellationToken ct) =>
        RunAsync(StoreOp.Write, async connection =>
        {
            try
            {
                await ExecuteAsync(connection, "INSERT INTO groups (id, version, doc) VALUES ($id, 1, $doc)", ct,
                    ("$id", group.Id), ("$doc", Serialize(group)));
                return true;
            }
            catch (SqliteException e) when (e.SqliteExtendedErrorCode == SqliteConstraintPrimaryKey)
            {
                return false;
            }
        }, ct);

    public Task<Group?> GetGroupAsync(string groupId, CancellationToken ct) =>
        RunAsync(StoreOp.PointRead, connection => ReadGroupAsync(connection, groupId, ct), ct);

    /// <summary>The group's record with its version, on any connection (a reader's, or the writer's before it writes).</summary>
    async Task<Group?> ReadGroupAsync(SqliteConnection connection, string groupId, CancellationToken ct) =>
        (await ReadVersionedAsync<Group>(connection, "SELECT doc, version FROM groups WHERE id = $id", ct, ("$id", groupId)))
        .Select(g => g.Doc with { ETag = g.Version }).SingleOrDefault();

    public async Task<IReadOnlyList<Group>> GetGroupsAsync(IReadOnlyCollection<string> groupIds, CancellationToken ct)
    {
        if (groupIds.Count == 0) return [];
        var found = new List<Group>();
        foreach (var chunk in groupIds.Chunk(500))
        {
            var names = chunk.Select((_, i) => "$g" + i).ToArray();
            found.AddRange((await VersionedAsync<Group>(StoreOp.Query, $"SELECT doc, version FROM groups WHERE id IN ({string.Join(",", names)})",
                ct, names.Zip(chunk, (n, v) => (n, (object?)v)).ToArray())).Select(g => g.Doc with { ETag = g.Version }));
        }
        return found;
    }

    public Task<Group?> ReplaceGroupAsync(Group group, CancellationToken ct) =>
        RunAsync(StoreOp.Write, connection => ReplaceGroupIfAtAsync(connection, group, group.ETag!, ct), ct);

    /// <summary><paramref name="group"/> written over the record if it is still at <paramref name="etag"/>; null if it moved on since.</summary>
    async Task<Group?> ReplaceGroupIfAtAsync(SqliteConnection connection, Group group, string etag, CancellationToken ct)
    {
        var version = long.Parse(etag);
        var changed = await ExecuteAsync(connection, "UPDATE groups SET doc = $doc, version = version + 1 WHERE id = $id AND version = $v",
            ct, ("$id", group.Id), ("$v", version), ("$doc", Serialize(group with { ETag = null })));
        return changed == 1 ? group with { ETag = (version + 1).ToString() } : null;
    }

    public Task<MemberRecord?> GetMemberAsync(string groupId, string userId, CancellationToken ct) =>
        RunAsync(StoreOp.PointRead, connection => ReadMemberAsync(connection, groupId, userId, ct), ct);

    /// <summary>A member's record with its version, on any connection, as <see cref="ReadGroupAsync"/>.</summary>
    async Task<MemberRecord?> ReadMemberAsync(SqliteConnection connection, string groupId, string userId, CancellationToken ct) =>
        (await ReadVersionedAsync<MemberRecord>(connection, "SELECT doc, version FROM group_members WHERE group_id = $g AND user_id = $u",
            ct, ("$g", groupId), ("$u", userId))).Select(m => m.Doc with { ETag = m.Version }).SingleOrDefault();

    public async Task<IReadOnlyList<MemberRecord>> GetMembersAsync(string groupId, IReadOnlyCollection<string> userIds, CancellationToken ct)
    {
        if (userIds.Count == 0) return [];
        var found = new List<MemberRecord>();
        foreach (var chunk in userIds.Chunk(500))
        {
            var names = chunk.Select((_, i) => "$u" + i).ToArray();
            found.AddRange((await VersionedAsync<MemberRecord>(StoreOp.Query,
                $"SELECT doc, version FROM group_members WHERE group_id = $g AND user_id IN ({string.Join(",", names)})", ct,
                [("$g", groupId), .. names.Zip(chunk, (n, v) => (n, (object?)v))])).Select(m => m.Doc with { ETag = m.Version }));
        }
        return found;
    }

    public Task<Group?> UpdateGroupAsync(string groupId, Group? known, Func<Group, Group?> apply, CancellationToken ct) =>
        WriteAsync(connection => UpdateGroupOnWriterAsync(connection, groupId, known, apply, ct), ct);

    /// <summary>
    /// On the writer, where no write of this process comes between the read and the write: <paramref name="known"/> if
    /// it is still current, else the record as it is now; changed and written. The version guards against other processes.
    /// </summary>
    async Task<Group?> UpdateGroupOnWriterAsync(SqliteConnection connection, string groupId, Group? known, Func<Group, Group?> apply,
        CancellationToken ct)
    {
        var current = known;
        var fresh = known?.ETag is null;
        while (true)
        {
            if (fresh)
            {
                StoreMeter.Record(StoreOp.PointRead);
                current = await ReadGroupAsync(connection, groupId, ct);
                if (current is null) return null;
            }
            var next = apply(current!);
            if (next is null) return current;
            StoreMeter.Record(StoreOp.Write);
            if (await ReplaceGroupIfAtAsync(connection, next, current!.ETag!, ct) is { } written) return written;
            fresh = true;   // a write ahead of this one changed the record: read it again and reapply
        }
    }

    public Task<MemberRecord?> UpdateMemberAsync(string groupId, string userId, MemberRecord? known,
        Func<MemberRecord?, MemberRecord?> apply, CancellationToken ct) =>
        WriteAsync(connection => UpdateMemberOnWriterAsync(connection, groupId, userId, known, apply, ct), ct);

    /// <summary>On the writer, as <see cref="UpdateGroupOnWriterAsync"/>; a record that does not exist is created.</summary>
    async Task<MemberRecord?> UpdateMemberOnWriterAsync(SqliteConnection connection, string groupId, string userId, MemberRecord? known,
        Func<MemberRecord?, MemberRecord?> apply, CancellationToken ct)
    {
        var current = known;
        var fresh = known?.ETag is null;
        while (true)
        {
            if (fresh)
            {
                StoreMeter.Record(StoreOp.PointRead);
                current = await ReadMemberAsync(connection, groupId, userId, ct);
            }
            var next = apply(current);
            if (next is null) return current;
            StoreMeter.Record(StoreOp.Write);
            var doc = Serialize(next with { ETag = null });
            int changed;
            if (current is null)
            {
                try
                {
                    changed = await ExecuteAsync(connection, """
                        INSERT INTO group_members (group_id, user_id, version, is_current, read_seq, doc) VALUES ($g, $u, 1, $c, $r, $doc)
                        """, ct, ("$g", groupId), ("$u", userId), ("$c", next.IsCurrent ? 1 : 0), ("$r", next.ReadSeq), ("$doc", doc));
                }
                catch (SqliteException e) when (e.SqliteExtendedErrorCode == SqliteConstraintPrimaryKey) { changed = 0; }
                if (changed == 1) return next with { ETag = "1" };
            }
            else
            {
                var version = long.Parse(current.ETag!);
                changed = await ExecuteAsync(connection, """
                    UPDATE group_members SET doc = $doc, is_current = $c, read_seq = $r, version = version + 1
                    WHERE group_id = $g AND user_id = $u AND version = $v
                    """, ct, ("$g", groupId), ("$u", userId), ("$c", next.IsCurrent ? 1 : 0), ("$r", next.ReadSeq), ("$v", version), ("$doc", doc));
                if (changed == 1) return next with { ETag = (version + 1).ToString() };
            }
            fresh = true;   // a write ahead of this one changed the record: read it again and reapply
        }
    }

    public async Task<IReadOnlyList<MemberRecord>> ListMembersAsync(string groupId, string? afterUserId, int limit, CancellationToken ct) =>
        (await VersionedAsync<MemberRecord>(StoreOp.Query, """
            SELECT doc, version FROM group_members WHERE group_id = $g AND is_current = 1 AND user_id > $after ORDER BY user_id LIMIT $limit
            """, ct, ("$g", groupId), ("$after", afterUserId ?? ""), ("$limit", limit))).Select(m => m.Doc with { ETag = m.Version }).ToList();

    public Task<(int ReadCount, IReadOnlyList<string> Readers)> CountReadersAsync(string groupId, long seq, int listLimit, CancellationToken ct) =>
        RunAsync(StoreOp.Query, async connection =>
        {
            await using var count = Command(connection,
                "SELECT COUNT(*) FROM group_members WHERE group_id = $g AND is_current = 1 AND read_seq >= $s", ("$g", groupId), ("$s", seq));
            var total = Convert.ToInt32(await count.ExecuteScalarAsync(ct));
            await using var list = Command(connection, """
                SELECT user_id FROM group_members WHERE group_id = $g AND is_current = 1 AND read_seq >= $s ORDER BY user_id LIMIT $limit
                """, ("$g", groupId), ("$s", seq), ("$limit", listLimit));
            await using var reader = await list.ExecuteReaderAsync(ct);
            var readers = new List<string>();
            while (await reader.ReadAsync(ct)) readers.Add(reader.GetString(0));
            return (total, (IReadOnlyList<string>)readers);
        }, ct);

    public async Task<JoinRequest?> GetJoinRequestAsync(string groupId, string requestId, CancellationToken ct) =>
        (await VersionedAsync<JoinRequest>(StoreOp.PointRead, "SELECT doc, version FROM group_requests WHERE group_id = $g AND id = $id",
            ct, ("$g", groupId), ("$id", requestId))).Select(r => r.Doc with { ETag = r.Version }).SingleOrDefault();

    public Task<JoinRequest?> SaveJoinRequestAsync(JoinRequest request, CancellationToken ct) =>
        RunAsync(StoreOp.Write, async connection =>
        {
            var doc = Serialize(request with { ETag = null });
            if (request.ETag is null)
            {
                try
                {
                    await ExecuteAsync(connection, "INSERT INTO group_requests (group_id, id, version, state, doc) VALUES ($g, $id, 1, $s, $doc)",
                        ct, ("$g", request.GroupId), ("$id", request.Id), ("$s", request.State), ("$doc", doc));
                    return request with { ETag = "1" };
                }
                catch (SqliteException e) when (e.SqliteExtendedErrorCode == SqliteConstraintPrimaryKey) { return null; }
            }
            var version = long.Parse(request.ETag);
            var changed = await ExecuteAsync(connection, """
                UPDATE group_requests SET doc = $doc, state = $s, version = version + 1 WHERE group_id = $g AND id = $id AND version = $v
                """, ct, ("$g", request.GroupId), ("$id", request.Id), ("$s", request.State), ("$v", version), ("$doc", doc));
            return changed == 1 ? request with { ETag = (version + 1).ToString() } : null;
        }, ct);

    public async Task<IReadOnlyList<JoinRequest>> ListPendingJoinRequestsAsync(string groupId, int limit, CancellationToken ct) =>
        (await VersionedAsync<JoinRequest>(StoreOp.Query, """
            SELECT doc, version FROM group_requests WHERE group_id = $g AND state = 0 ORDER BY id LIMIT $limit
            """, ct, ("$g", groupId), ("$limit", limit))).Select(r => r.Doc with { ETag = r.Version }).ToList();

    public async Task<IReadOnlyList<JoinRequest>> ListJoinRequestsOfUserAsync(string userId, string? afterGroupId, int limit,
        CancellationToken ct) =>
        (await VersionedAsync<JoinRequest>(StoreOp.Query, """
            SELECT doc, version FROM group_requests WHERE json_extract(doc, '$.user_id') = $u AND group_id > $after
            ORDER BY group_id LIMIT $limit
            """, ct, ("$u", userId), ("$after", afterGroupId ?? ""), ("$limit", limit))).Select(r => r.Doc with { ETag = r.Version }).ToList();

    public Task SetBlacklistedAsync(string groupId, string userId, bool blacklisted, CancellationToken ct) =>
        RunAsync(StoreOp.Write, connection => ExecuteAsync(connection, blacklisted
            ? "INSERT INTO group_blacklist (group_id, user_id) VALUES ($g, $u) ON CONFLICT DO NOTHING"
            : "DELETE FROM group_blacklist WHERE group_id = $g AND user_id = $u", ct, ("$g", groupId), ("$u", userId)), ct);

    public Task<bool> IsBlacklistedAsync(string groupId, string userId, CancellationToken ct) =>
        RunAsync(StoreOp.PointRead, async connection =>
        {
            await using var command = Command(connection, "SELECT 1 FROM group_blacklist WHERE group_id = $g AND user_id = $u",
                ("$g", groupId), ("$u", userId));
            return await command.ExecuteScalarAsync(ct) is not null;
        }, ct);

    /// <summary>A range of the primary key (user_id, id): group rows are the ids with the group prefix, so no JSON is read to find them.</summary>
    public Task<IReadOnlyList<ConversationRow>> ListGroupRowsAsync(string userId, int limit, CancellationToken ct) =>
        RunAsync(StoreOp.Query, async connection =>
        {
            await using var command = Command(connection, """
                SELECT doc, version FROM conversations WHERE user_id = $u AND id >= $from AND id < $to ORDER BY id LIMIT $limit
                """, ("$u", userId), ("$from", GroupIds.ConversationPrefix), ("$to", PrefixEnd(GroupIds.ConversationPrefix)), ("$limit", limit));
            await using var reader = await command.ExecuteReaderAsync(ct);
            var rows = new List<ConversationRow>();
            while (await reader.ReadAsync(ct)) rows.Add(ToRow(reader));
            return (IReadOnlyList<ConversationRow>)rows;
        }, ct);

    Task<IReadOnlyList<(T Doc, string Version)>> VersionedAsync<T>(StoreOp op, string sql, CancellationToken ct,
        params (string Name, object? Value)[] parameters) =>
        RunAsync(op, connection => ReadVersionedAsync<T>(connection, sql, ct, parameters), ct);

    async Task<IReadOnlyList<(T Doc, string Version)>> ReadVersionedAsync<T>(SqliteConnection connection, string sql, CancellationToken ct,
        params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(connection, sql, parameters);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var docs = new List<(T, string)>();
        while (await reader.ReadAsync(ct)) docs.Add((Deserialize<T>(reader.GetString(0)), reader.GetInt64(1).ToString()));
        return docs;
    }

    /// <summary>The first string after every string that starts with <paramref name="prefix"/> (ordinal order).</summary>
    static string PrefixEnd(string prefix) => prefix[..^1] + (char)(prefix[^1] + 1);
}
