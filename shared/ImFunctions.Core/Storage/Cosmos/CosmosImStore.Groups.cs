using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Groups;
using Microsoft.Azure.Cosmos;

namespace ImFunctions.Core.Storage.Cosmos;

/// <summary>
/// The groups port on Cosmos DB: one container, partitioned by group, holding the group record (id "group"), its
/// member records ("m.&lt;uid&gt;"), join requests ("r.&lt;request id&gt;") and blacklist entries ("b.&lt;uid&gt;"),
/// so every group operation is a point operation or a single-partition query. No transactions: the directory above
/// sequences multi-step changes through ETag-guarded replaces of the group record.
/// </summary>
public sealed partial class CosmosImStore : IGroupStore
{
    readonly Container groups;
    const string GroupDocId = "group";

    static ContainerProperties GroupsContainer() =>
        Define("groups", "/group_id", ["/group_id/?", "/kind/?", "/user_id/?", "/is_current/?", "/read_seq/?", "/state/?"]);

    static string MemberId(string userId) => "m." + userId;
    static string RequestId(string requestId) => "r." + requestId;
    static string BlacklistId(string userId) => "b." + userId;

    /// <summary>A record as a document of the groups container: its own fields plus id, the partition key and its kind.</summary>
    static JsonObject Doc<T>(T value, string id, string groupId, string kind, Action<JsonObject>? extra = null)
    {
        var doc = JsonSerializer.SerializeToNode(value, CosmosJson.Options)!.AsObject();
        doc["id"] = id;
        doc["group_id"] = groupId;
        doc["kind"] = kind;
        extra?.Invoke(doc);
        return doc;
    }

    static T FromDoc<T>(JsonObject doc) => doc.Deserialize<T>(CosmosJson.Options)!;
    static string? ETagOf(JsonObject doc) => doc["_etag"]?.GetValue<string>();

    static JsonObject MemberDoc(MemberRecord member) =>
        Doc(member, MemberId(member.UserId), member.GroupId, "member", d => d["is_current"] = member.IsCurrent);

    public async Task<bool> CreateGroupAsync(Group group, CancellationToken ct)
    {
        var created = await WriteAsync(groups, () => groups.CreateItemAsync(Doc(group, GroupDocId, group.Id, "group"),
            new PartitionKey(group.Id), cancellationToken: ct), ct, HttpStatusCode.Conflict);
        return created.Status != HttpStatusCode.Conflict;
    }

    public async Task<Group?> GetGroupAsync(string groupId, CancellationToken ct)
    {
        var (doc, etag) = await ReadAsync<JsonObject>(groups, GroupDocId, groupId, ct);
        return doc is null ? null : FromDoc<Group>(doc) with { ETag = etag };
    }

    public async Task<IReadOnlyList<Group>> GetGroupsAsync(IReadOnlyCollection<string> groupIds, CancellationToken ct)
    {
        if (groupIds.Count == 0) return [];
        var keys = groupIds.Distinct().Select(id => (GroupDocId, new PartitionKey(id))).ToList();
        var (found, _) = await SendAsync(StoreOp.Query, groups, () => groups.ReadManyItemsAsync<JsonObject>(keys, cancellationToken: ct),
            r => (r.StatusCode, r.RequestCharge), ct);
        return found!.Select(d => FromDoc<Group>(d) with { ETag = ETagOf(d) }).ToList();
    }

    public async Task<Group?> ReplaceGroupAsync(Group group, CancellationToken ct)
    {
        var written = await WriteAsync(groups, () => groups.ReplaceItemAsync(Doc(group with { ETag = null }, GroupDocId, group.Id, "group"),
            GroupDocId, new PartitionKey(group.Id), new ItemRequestOptions { IfMatchEtag = group.ETag }, ct),
            ct, HttpStatusCode.PreconditionFailed, HttpStatusCode.NotFound);
        return written.Response is { } response ? group with { ETag = response.ETag } : null;
    }

    public async Task<Group?> UpdateGroupAsync(string groupId, Group? known, Func<Group, Group?> apply, CancellationToken ct)
    {
        var current = known?.ETag is null ? null : known;
        for (var attempt = 0; attempt < MaxRowAttempts; attempt++)
        {
            current ??= await GetGroupAsync(groupId, ct);
            if (current is null) return null;
            var next = apply(current);
            if (next is null) return current;
            if (await ReplaceGroupAsync(next, ct) is { } replaced) return replaced;
            current = null;   // someone else changed the record first: read it again and reapply
        }
        throw new DependencyUnavailableException("Cosmos DB (group record contention)");
    }

    public async Task<MemberRecord?> GetMemberAsync(string groupId, string userId, CancellationToken ct)
    {
        var (doc, etag) = await ReadAsync<JsonObject>(groups, MemberId(userId), groupId, ct);
        return doc is null ? null : FromDoc<MemberRecord>(doc) with { ETag = etag };
    }

    public async Task<IReadOnlyList<MemberRecord>> GetMembersAsync(string groupId, IReadOnlyCollection<string> userIds, CancellationToken ct)
    {
        if (userIds.Count == 0) return [];
        var keys = userIds.Distinct().Select(uid => (MemberId(uid), new PartitionKey(groupId))).ToList();
        var (found, _) = await SendAsync(StoreOp.Query, groups, () => groups.ReadManyItemsAsync<JsonObject>(keys, cancellationToken: ct),
            r => (r.StatusCode, r.RequestCharge), ct);
        return found!.Select(d => FromDoc<MemberRecord>(d) with { ETag = ETagOf(d) }).ToList();
    }

    public async Task<MemberRecord?> UpdateMemberAsync(string groupId, string userId, MemberRecord? known,
        Func<MemberRecord?, MemberRecord?> apply, CancellationToken ct)
    {
        var current = known;
        var fresh = known?.ETag is null;
        for (var attempt = 0; attempt < MaxRowAttempts; attempt++)
        {
            if (fresh) current = await GetMemberAsync(groupId, userId, ct);
            var next = apply(current);
            if (next is null) return current;
            var doc = MemberDoc(next with { ETag = null });
            var written = current is null
                ? await WriteAsync(groups, () => groups.CreateItemAsync(doc, new PartitionKey(groupId), cancellationToken: ct),
                    ct, HttpStatusCode.Conflict)
                : await WriteAsync(groups, () => groups.ReplaceItemAsync(doc, MemberId(userId), new PartitionKey(groupId),
                    new ItemRequestOptions { IfMatchEtag = current.ETag }, ct), ct, HttpStatusCode.PreconditionFailed, HttpStatusCode.NotFound);
            if (written.Response is { } response) return next with { ETag = response.ETag };
            fresh = true;   // someone else changed the record first: read it again and reapply
        }
        throw new DependencyUnavailableException("Cosmos DB (group member contention)");
    }

    public async Task<IReadOnlyList<MemberRecord>> ListMembersAsync(string groupId, string? afterUserId, int limit, CancellationToken ct)
    {
        var docs = await QueryAsync<JsonObject>(groups, groupId, limit,
            "SELECT TOP @limit * FROM c WHERE c.group_id = @pk AND c.kind = 'member' AND c.is_current = true AND c.user_id > @after " +
            "ORDER BY c.user_id", ct, ("@limit", limit), ("@after", afterUserId ?? ""));
        return docs.Select(d => FromDoc<MemberRecord>(d) with { ETag = ETagOf(d) }).ToList();
    }

    public async Task<(int ReadCount, IReadOnlyList<string> Readers)> CountReadersAsync(string groupId, long seq, int listLimit, CancellationToken ct)
    {
        var count = await QueryAsync<int>(groups, groupId, 1,
            "SELECT VALUE COUNT(1) FROM c WHERE c.group_id = @pk AND c.kind = 'member' AND c.is_current = true AND c.read_seq >= @seq",
            ct, ("@seq", seq));
        var readers = await QueryAsync<string>(groups, groupId, listLimit,
            "SELECT TOP @limit VALUE c.user_id FROM c WHERE c.group_id = @pk AND c.kind = 'member' AND c.is_current = true " +
            "AND c.read_seq >= @seq ORDER BY c.user_id", ct, ("@limit", listLimit), ("@seq", seq));
        return (count.FirstOrDefault(), readers);
    }

    public async Task<JoinRequest?> GetJoinRequestAsync(string groupId, string requestId, CancellationToken ct)
    {
        var (doc, etag) = await ReadAsync<JsonObject>(groups, RequestId(requestId), groupId, ct);
        return doc is null ? null : FromDoc<JoinRequest>(doc) with { ETag = etag };
    }

    public async Task<JoinRequest?> SaveJoinRequestAsync(JoinRequest request, CancellationToken ct)
    {
        var doc = Doc(request with { ETag = null }, RequestId(request.Id), request.GroupId, "request");
        var key = new PartitionKey(request.GroupId);
        var written = request.ETag is null
            ? await WriteAsync(groups, () => groups.CreateItemAsync(doc, key, cancellationToken: ct), ct, HttpStatusCode.Conflict)
            : await WriteAsync(groups, () => groups.ReplaceItemAsync(doc, RequestId(request.Id), key,
                new ItemRequestOptions { IfMatchEtag = request.ETag }, ct), ct, HttpStatusCode.PreconditionFailed, HttpStatusCode.NotFound);
        return written.Response is { } response ? request with { ETag = response.ETag } : null;
    }

    public async Task<IReadOnlyList<JoinRequest>> ListPendingJoinRequestsAsync(string groupId, int limit, CancellationToken ct)
    {
        var docs = await QueryAsync<JsonObject>(groups, groupId, limit,
            "SELECT TOP @limit * FROM c WHERE c.group_id = @pk AND c.kind = 'request' AND c.state = 0", ct, ("@limit", limit));
        return docs.Select(d => FromDoc<JoinRequest>(d) with { ETag = ETagOf(d) }).OrderBy(r => r.Id, StringComparer.Ordinal).ToList();
    }

    public async Task<IReadOnlyList<JoinRequest>> ListJoinRequestsOfUserAsync(string userId, string? afterGroupId, int limit,
        CancellationToken ct)
    {
        var docs = await QueryAcrossPartitionsAsync<JsonObject>(groups, limit,
            "SELECT TOP @limit * FROM c WHERE c.kind = 'request' AND c.user_id = @u AND c.group_id > @after ORDER BY c.group_id", ct,
            ("@limit", limit), ("@u", userId), ("@after", afterGroupId ?? ""));
        return docs.Select(d => FromDoc<JoinRequest>(d) with { ETag = ETagOf(d) }).ToList();
    }

    public async Task SetBlacklistedAsync(string groupId, string userId, bool blacklisted, CancellationToken ct)
    {
        var key = new PartitionKey(groupId);
        if (blacklisted)
            await WriteAsync(groups, () => groups.UpsertItemAsync(Doc(new { user_id = userId }, BlacklistId(userId), groupId, "blacklist"), key,
                cancellationToken: ct), ct);
        else
            await WriteAsync(groups, () => groups.DeleteItemAsync<JsonObject>(BlacklistId(userId), key, cancellationToken: ct),
                ct, HttpStatusCode.NotFound);
    }

    public async Task<bool> IsBlacklistedAsync(string groupId, string userId, CancellationToken ct) =>
        (await ReadAsync<JsonObject>(groups, BlacklistId(userId), groupId, ct)).Item is not null;

    public async Task<IReadOnlyList<ConversationRow>> ListGroupRowsAsync(string userId, int limit, CancellationToken ct)
    {
        var rows = await QueryAsync<Stored<ConversationRow>>(conversations, userId, limit,
            "SELECT TOP @limit * FROM c WHERE c.user_id = @pk AND c.type = 2", ct, ("@limit", limit));
        return rows.Select(s => s.Value with { ETag = s.ETag }).ToList();
    }
}
