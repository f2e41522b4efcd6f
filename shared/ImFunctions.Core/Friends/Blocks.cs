using ImFunctions.Core.Domain;
using ImFunctions.Core.Push;
using ImFunctions.Core.Storage;

namespace ImFunctions.Core.Friends;

public sealed record BlockView(string UserId, long CreateTime, PublicProfile? UserInfo);

/// <summary>
/// A user's block list (beyond uni-im). A blocked user cannot send to, invite, or add to a group the user who
/// blocked them; nothing else tells them. The block is a record in the blocker's graph (what new conversations,
/// invites and group adds read) and a flag on the blocked user's row of their 1:1 conversation (what replies
/// read anyway), so the 1:1 send budget is unchanged.
/// </summary>
public sealed class Blocks(IFriendStore store, IImStore conversations, UserDirectory users, PushDispatcher pushes, TimeProvider clock)
{
    /// <summary>Whether <paramref name="blockerUid"/> blocked <paramref name="blockedUid"/>: one point read (for group adds).</summary>
    public Task<bool> IsBlockedAsync(string blockerUid, string blockedUid, CancellationToken ct) =>
        store.IsBlockedAsync(blockerUid, blockedUid, ct);

    public async Task<Result<BlockView>> BlockAsync(User me, string userId, CancellationToken ct)
    {
        if (userId == me.Id) return ImError.InvalidParam("user_id", "cannot be yourself");
        if (await users.GetAsync(userId, ct) is not { } blocked) return ImError.NotFound($"user_id: user '{userId}' does not exist");
        var block = new Block { Id = Block.IdFor(userId), UserId = me.Id, BlockedUid = userId, CreateTime = clock.GetUtcNow().ToUnixTimeMilliseconds() };
        // The record first, then the flag: a retry after a crash in between finds the record and sets the flag.
        if (!await store.TryCreateAsync(block, ct)) block = await store.GetAsync<Block>(me.Id, block.Id, ct) ?? block;
        ct = Messenger.AfterStored;   // listed as blocked, so replies must be refused too
        await SetPeerBlockedAsync(me.Id, userId, blocked: true, ct);
        pushes.ToUser(me.Id, PushEvents.Friend(new FriendEvent("blocked", UserId: userId)));
        return new BlockView(userId, block.CreateTime, blocked.ToPublicProfile());
    }

    /// <summary>Idempotent: unblocking someone not blocked succeeds and changes nothing.</summary>
    public async Task<Result<BlockView>> UnblockAsync(User me, string userId, CancellationToken ct)
    {
        if (userId == me.Id) return ImError.InvalidParam("user_id", "cannot be yourself");
        // The flag first, then the record: a retry after a crash in between still finds the record to remove.
        await SetPeerBlockedAsync(me.Id, userId, blocked: false, ct);
        ct = Messenger.AfterStored;   // replies pass now, so the list must stop showing the block
        var removed = await store.DeleteAsync(me.Id, Block.IdFor(userId), ct);
        if (removed) pushes.ToUser(me.Id, PushEvents.Friend(new FriendEvent("unblocked", UserId: userId)));
        return new BlockView(userId, 0, null);
    }

    public async Task<Result<Page<BlockView>>> ListAsync(User me, string? cursor, int limit, CancellationToken ct)
    {
        var blocks = await store.ListAsync<Block>(me.Id, Block.KindName, cursor, limit, ct);
        var profiles = await users.GetManyAsync(blocks.Select(b => b.BlockedUid), ct);
        var list = blocks.Select(b => new BlockView(b.BlockedUid, b.CreateTime, profiles.GetValueOrDefault(b.BlockedUid)?.ToPublicProfile())).ToList();
        return new Page<BlockView>(list, blocks.Count == limit ? blocks[^1].SortKey : null);
    }

    /// <summary>Sets the flag on the blocked user's row, if they have one (a new conversation reads the record instead).</summary>
    Task SetPeerBlockedAsync(string blockerUid, string blockedUid, bool blocked, CancellationToken ct) =>
        conversations.UpdateConversationAsync(blockedUid, ConversationIds.Single(blockerUid, blockedUid), null,
            row => row is null || row.PeerBlocked == blocked ? null : row with { PeerBlocked = blocked }, ct);
}
