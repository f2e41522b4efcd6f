using System.Net;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Friends;
using Microsoft.Azure.Cosmos;

namespace ImFunctions.Core.Storage.Cosmos;

/// <summary>
/// The social graph in container <c>friends</c> (partition <c>/user_id</c>: a user's friends, invites and blocks
/// together), and the conversation list's filtered queries.
/// </summary>
public sealed partial class CosmosImStore : IFriendStore, IConversationListStore
{
    Container? friends;
    Container Friends => friends ??= client.GetContainer(options.Database, "friends");

    static ContainerProperties FriendsContainer() => Define("friends", "/user_id", ["/user_id/?", "/kind/?", "/sort_key/?"]);

    async Task<T?> IFriendStore.GetAsync<T>(string ownerUid, string id, CancellationToken ct) where T : class
    {
        var (record, etag) = await ReadAsync<T>(Friends, id, ownerUid, ct);
        return record?.WithETag<T>(etag);
    }

    async Task<bool> IFriendStore.TryCreateAsync<T>(T record, CancellationToken ct)
    {
        var created = await WriteAsync(Friends, () => Friends.CreateItemAsync(record, new PartitionKey(record.UserId), cancellationToken: ct),
            ct, HttpStatusCode.Conflict);
        return created.Status != HttpStatusCode.Conflict;
    }

    async Task<T?> IFriendStore.TryReplaceAsync<T>(T record, CancellationToken ct) where T : class
    {
        var replaced = await WriteAsync(Friends, () => Friends.ReplaceItemAsync(record, record.Id, new PartitionKey(record.UserId),
            new ItemRequestOptions { IfMatchEtag = record.ETag }, ct), ct, HttpStatusCode.PreconditionFailed, HttpStatusCode.NotFound);
        return replaced.Response is { } response ? record.WithETag<T>(response.ETag) : null;
    }

    Task IFriendStore.UpsertAsync<T>(T record, CancellationToken ct) =>
        WriteAsync(Friends, () => Friends.UpsertItemAsync(record, new PartitionKey(record.UserId), cancellationToken: ct), ct);

    async Task<bool> IFriendStore.DeleteAsync(string ownerUid, string id, CancellationToken ct)
    {
        var deleted = await WriteAsync(Friends, () => Friends.DeleteItemAsync<object>(id, new PartitionKey(ownerUid), cancellationToken: ct),
            ct, HttpStatusCode.NotFound);
        return deleted.Status != HttpStatusCode.NotFound;
    }

    async Task<IReadOnlyList<T>> IFriendStore.ListAsync<T>(string ownerUid, string kind, string? afterSortKey, int limit, CancellationToken ct)
    {
        var page = await QueryAsync<Stored<T>>(Friends, ownerUid, limit,
            "SELECT TOP @limit * FROM c WHERE c.user_id = @pk AND c.kind = @kind" +
            (afterSortKey is null ? "" : " AND c.sort_key < @after") + " ORDER BY c.sort_key DESC", ct,
            ("@limit", limit), ("@kind", kind), ("@after", afterSortKey));
        return page.Select(s => s.Value.WithETag<T>(s.ETag)).ToList();
    }

    async Task<IReadOnlyList<T>> IFriendStore.ListWithIdAcrossOwnersAsync<T>(string id, string? afterOwnerUid, int limit, CancellationToken ct)
    {
        var page = await QueryAcrossPartitionsAsync<Stored<T>>(Friends, limit,
            "SELECT TOP @limit * FROM c WHERE c.id = @id AND c.user_id > @after ORDER BY c.user_id", ct,
            ("@limit", limit), ("@id", id), ("@after", afterOwnerUid ?? ""));
        return page.Select(s => s.Value.WithETag<T>(s.ETag)).ToList();
    }

    public async Task<IReadOnlyList<ConversationRow>> QueryConversationsAsync(string userId, ConversationQuery query, CancellationToken ct)
    {
        var sql = new System.Text.StringBuilder("SELECT * FROM c WHERE c.user_id = @pk");
        if (query.MaxUpdateTime is not null) sql.Append(" AND c.update_time < @max");
        if (query.After is not null) sql.Append(" AND c.list_key < @after");
        // Rows written before a setting existed lack its field, which reads as false.
        if (!query.IncludeHidden) sql.Append(" AND (NOT IS_DEFINED(c.hidden) OR c.hidden = false)");
        if (query.ExcludeMuted) sql.Append(" AND (NOT IS_DEFINED(c.mute) OR c.mute = false)");
        if (query.Pinned is { } pinned) sql.Append(pinned ? " AND c.pinned = true" : " AND (NOT IS_DEFINED(c.pinned) OR c.pinned = false)");
        var filter = query.Filter;
        if (filter.HasFlag(ConversationFilter.Unread)) sql.Append(" AND " + UnreadCondition);
        if (filter.HasFlag(ConversationFilter.Single)) sql.Append($" AND c.type = {ConversationTypes.Single}");
        if (filter.HasFlag(ConversationFilter.Group)) sql.Append($" AND c.type = {ConversationTypes.Group}");
        if (filter.HasFlag(ConversationFilter.Starred)) sql.Append(" AND c.is_star = true");
        if (filter.HasFlag(ConversationFilter.HasRemind)) sql.Append(" AND (c.has_remind = true OR ARRAY_LENGTH(c.remind_msg_ids) > 0)");
        // One ORDER BY property (two would need a composite index): list_key is update_time and id in one string.
        sql.Append(" ORDER BY c.list_key DESC OFFSET @skip LIMIT @limit");
        var rows = await QueryAsync<Stored<ConversationRow>>(conversations, userId, query.Limit, sql.ToString(), ct,
            ("@max", query.MaxUpdateTime), ("@after", query.After), ("@skip", query.Skip), ("@limit", query.Limit));
        return rows.Select(s => s.Value with { ETag = s.ETag }).ToList();
    }

    public async Task<IReadOnlyList<UnreadRow>> ListUnreadAsync(string userId, string? after, int limit, CancellationToken ct)
    {
        var rows = await QueryAsync<UnreadFields>(conversations, userId, limit,
            "SELECT c.id, c.list_key, c.unread_count FROM c WHERE c.user_id = @pk AND " + UnreadCondition +
            (after is null ? "" : " AND c.list_key < @after") +
            " AND (NOT IS_DEFINED(c.hidden) OR c.hidden = false) AND (NOT IS_DEFINED(c.mute) OR c.mute = false)" +
            " ORDER BY c.list_key DESC OFFSET 0 LIMIT @limit", ct,
            ("@after", after), ("@limit", limit));
        return rows.Select(r => new UnreadRow(r.Id, r.UnreadCount, r.ListKey)).ToList();
    }

    /// <summary>
    /// A row with something unread. Every row document carries its <see cref="ConversationRow.UnreadCount"/> (written
    /// with the row, since the first version), and <c>/unread_count/?</c> is indexed: the badge and the unread filter
    /// read the unread rows, not all of a user's rows, as comparing two fields of each row would.
    /// </summary>
    internal const string UnreadCondition = "c.unread_count > 0";

    /// <summary>The projection getUnreadCount reads: a few fields per row instead of the row.</summary>
    sealed record UnreadFields(string Id, string ListKey, long UnreadCount);
}
