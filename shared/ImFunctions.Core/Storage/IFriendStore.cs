using ImFunctions.Core.Friends;

namespace ImFunctions.Core.Storage;

/// <summary>
/// The social graph's port: each user's records (friends, invites, blocks) in one place, with the single-record
/// atomic steps a store without transactions offers. Multi-step changes (accepting an invite writes four records)
/// are sequences of idempotent steps in the domain services, so a retry completes what a crash left undone.
/// </summary>
public interface IFriendStore
{
    Task<T?> GetAsync<T>(string ownerUid, string id, CancellationToken ct) where T : SocialRecord;
    /// <summary>Creates the record unless one with its id exists; false when it did.</summary>
    Task<bool> TryCreateAsync<T>(T record, CancellationToken ct) where T : SocialRecord;
    /// <summary>Replaces the record if it is unchanged since it was read (its ETag); null when it changed or is gone.</summary>
    Task<T?> TryReplaceAsync<T>(T record, CancellationToken ct) where T : SocialRecord;
    Task UpsertAsync<T>(T record, CancellationToken ct) where T : SocialRecord;
    /// <summary>Removes the record; false when there was none.</summary>
    Task<bool> DeleteAsync(string ownerUid, string id, CancellationToken ct);
    /// <summary>One page of the owner's records of one kind, newest first, strictly after <paramref name="afterSortKey"/>.</summary>
    Task<IReadOnlyList<T>> ListAsync<T>(string ownerUid, string kind, string? afterSortKey, int limit, CancellationToken ct)
        where T : SocialRecord;
    /// <summary>
    /// The records with this id in every owner's graph (e.g. <c>block_&lt;uid&gt;</c>: who blocked uid), by owner after
    /// <paramref name="afterOwnerUid"/>. It crosses owners (partitions on Cosmos): for rare jobs such as account deletion.
    /// </summary>
    Task<IReadOnlyList<T>> ListWithIdAcrossOwnersAsync<T>(string id, string? afterOwnerUid, int limit, CancellationToken ct)
        where T : SocialRecord;
}

public static class FriendStoreQuestions
{
    public static async Task<bool> AreFriendsAsync(this IFriendStore store, string uid, string otherUid, CancellationToken ct) =>
        await store.GetAsync<Friendship>(uid, Friendship.IdFor(otherUid), ct) is not null;

    public static async Task<bool> IsBlockedAsync(this IFriendStore store, string blockerUid, string blockedUid, CancellationToken ct) =>
        await store.GetAsync<Block>(blockerUid, Block.IdFor(blockedUid), ct) is not null;
}
