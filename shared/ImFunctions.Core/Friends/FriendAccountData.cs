using System.Text.Json;
using ImFunctions.Core.Accounts;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Integrations;
using ImFunctions.Core.Push;
using ImFunctions.Core.Storage;

namespace ImFunctions.Core.Friends;

/// <summary>
/// deleteAccount's friends step: every friendship ends on both sides, every invite to or from the user is removed from
/// both boxes (its message is the sender's words), blocks the user made are lifted and blocks of the user removed.
/// Each record is removed on the other side first, then on the user's: a retry after a crash still finds the user's
/// copy and finishes, so the step is idempotent.
/// </summary>
public sealed class FriendAccountDeletion(IFriendStore store, Blocks blocks, PushDispatcher pushes, IImEvents events) : IAccountDeletionStep
{
    const int PageSize = 100;

    public async Task RunAsync(User user, CancellationToken ct)
    {
        await ForEachAsync<Friendship>(user.Id, Friendship.KindName, async friendship =>
        {
            await store.DeleteAsync(friendship.FriendUid, Friendship.IdFor(user.Id), ct);
            await store.DeleteAsync(user.Id, friendship.Id, ct);
            pushes.ToUser(friendship.FriendUid, PushEvents.Friend(new FriendEvent("deleted", UserId: user.Id)));
            // A fixed id: a retried deletion announces each ended friendship once.
            await events.PublishAsync("friend.deleted", $"friend.deleted:{ConversationIds.Single(user.Id, friendship.FriendUid)}:account-deleted",
                new { user_id = user.Id, friend_uid = friendship.FriendUid, reason = "account-deleted" }, ct);
        }, ct);

        foreach (var kind in new[] { FriendInvite.SentKind, FriendInvite.ReceivedKind })
            await ForEachAsync<FriendInvite>(user.Id, kind, async invite =>
            {
                var (otherUid, otherId) = invite.UserId == invite.ToUid
                    ? (invite.FromUid, FriendInvite.SentIdFor(invite.InviteId))
                    : (invite.ToUid, FriendInvite.ReceivedIdFor(invite.InviteId));
                await store.DeleteAsync(otherUid, otherId, ct);
                await store.DeleteAsync(user.Id, invite.Id, ct);
            }, ct);

        // Lifting a block also clears its flag on the blocked user's row (Blocks keeps that order).
        await ForEachAsync<Block>(user.Id, Block.KindName, block => blocks.UnblockAsync(user, block.BlockedUid, ct), ct);

        // Others' blocks of the user live in their graphs: found by the record's fixed id across owners.
        for (string? after = null; ;)
        {
            var page = await store.ListWithIdAcrossOwnersAsync<Block>(Block.IdFor(user.Id), after, PageSize, ct);
            foreach (var block in page) await store.DeleteAsync(block.UserId, block.Id, ct);
            if (page.Count < PageSize) return;
            after = page[^1].UserId;
        }
    }

    async Task ForEachAsync<T>(string uid, string kind, Func<T, Task> remove, CancellationToken ct) where T : SocialRecord
    {
        for (string? after = null; ;)
        {
            var page = await store.ListAsync<T>(uid, kind, after, PageSize, ct);
            foreach (var record in page) await remove(record);
            if (page.Count < PageSize) return;
            after = page[^1].SortKey;
        }
    }
}

/// <summary>
/// exportMyData's <c>friends</c>: the user's friends with their remarks, the invites in both boxes, and the blocks the
/// user made, each list paged from the store and flushed as it goes.
/// </summary>
public sealed class FriendAccountExport(IFriendStore store) : IAccountExportSection
{
    const int PageSize = 100;

    public string Name => "friends";

    public async Task WriteAsync(Utf8JsonWriter json, User user, CancellationToken ct)
    {
        json.WriteStartObject();
        await WriteListAsync<Friendship>(json, "friends", user.Id, Friendship.KindName,
            f => new { friend_uid = f.FriendUid, remark = f.Remark, create_time = f.CreateTime }, ct);
        await WriteListAsync<FriendInvite>(json, "invites_sent", user.Id, FriendInvite.SentKind, Invite, ct);
        await WriteListAsync<FriendInvite>(json, "invites_received", user.Id, FriendInvite.ReceivedKind, Invite, ct);
        await WriteListAsync<Block>(json, "blocks", user.Id, Block.KindName, b => new { user_id = b.BlockedUid, create_time = b.CreateTime }, ct);
        json.WriteEndObject();
    }

    static object Invite(FriendInvite i) => new
    {
        _id = i.InviteId, from_uid = i.FromUid, to_uid = i.ToUid, message = i.Message, state = i.State,
        create_time = i.CreateTime, update_time = i.UpdateTime,
    };

    async Task WriteListAsync<T>(Utf8JsonWriter json, string name, string uid, string kind, Func<T, object> view, CancellationToken ct)
        where T : SocialRecord
    {
        json.WriteStartArray(name);
        for (string? after = null; ;)
        {
            var page = await store.ListAsync<T>(uid, kind, after, PageSize, ct);
            foreach (var record in page) JsonSerializer.Serialize(json, view(record), ImJson.Options);
            await json.FlushAsync(ct);
            if (page.Count < PageSize) break;
            after = page[^1].SortKey;
        }
        json.WriteEndArray();
    }
}
