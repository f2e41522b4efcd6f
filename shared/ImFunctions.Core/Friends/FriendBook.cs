using System.Text.Json.Serialization;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Integrations;
using ImFunctions.Core.Push;
using ImFunctions.Core.Storage;

namespace ImFunctions.Core.Friends;

public sealed record FriendInviteView(
    [property: JsonPropertyName("_id")] string Id, string FromUid, string ToUid, string? Message, int State,
    long CreateTime, long UpdateTime, PublicProfile? UserInfo);

public sealed record FriendView(string FriendUid, string? Remark, long CreateTime, PublicProfile? UserInfo);

/// <summary>A page of a keyset-paged list; <c>next_cursor</c> is null on the last page.</summary>
public sealed record Page<T>(IReadOnlyList<T> List, string? NextCursor);

/// <summary>What the <c>friend</c> push and the friend.* webhooks carry.</summary>
public sealed record FriendEvent(string Action, FriendInviteView? Invite = null, string? UserId = null, string? Remark = null);

/// <summary>
/// Friends and friend invites (uni-im's uni-im-friend and uni-im-friend-invite, with its defects fixed: ids are
/// deterministic so nothing is duplicated, every change is checked on the server, the inviter hears a rejection).
/// Every change is a few idempotent single-record steps; repeating a call completes what a crash left undone.
/// </summary>
public sealed class FriendBook(IFriendStore store, UserDirectory users, PushDispatcher pushes, IImEvents events, TimeProvider clock)
{
    public const int MaxPage = 100;

    static readonly ImError AlreadyFriends = new(409, "1000", "已经是好友 (already friends)");

    public async Task<Result<FriendInviteView>> InviteAsync(User me, string toUid, string? message, CancellationToken ct)
    {
        if (toUid == me.Id) return ImError.InvalidParam("to_uid", "cannot be yourself (不能加自己为好友)");
        // A deleted account (or one being deleted) keeps a tombstone for history, but nobody can befriend it.
        if (await users.GetAsync(toUid, ct) is not { Deletion: null }) return ImError.NotFound($"to_uid: user '{toUid}' does not exist");
        if (await store.AreFriendsAsync(me.Id, toUid, ct)) return AlreadyFriends;
        if (await store.IsBlockedAsync(blockerUid: toUid, blockedUid: me.Id, ct))
            return ImError.NoPermission("to_uid: this user does not accept your invites.");

        var inviteId = FriendInvite.InviteIdFor(me.Id, toUid);
        var existing = await store.GetAsync<FriendInvite>(toUid, FriendInvite.ReceivedIdFor(inviteId), ct);
        var invite = existing;
        if (existing is not { IsPending: true })
        {
            // New, or re-invited after a rejection or a deleted friendship: the invite is pending again.
            var now = Now();
            var fresh = new FriendInvite
            {
                Id = FriendInvite.ReceivedIdFor(inviteId), UserId = toUid, InviteId = inviteId, FromUid = me.Id, ToUid = toUid,
                Message = message, State = InviteStates.Pending, CreateTime = now, UpdateTime = now,
            };
            await store.UpsertAsync(fresh.SentCopy(), ct);   // the sent box first: the received copy decides
            var written = existing is null
                ? await store.TryCreateAsync(fresh, ct) ? fresh : null
                : await store.TryReplaceAsync(fresh with { ETag = existing.ETag }, ct);
            // Lost a race with a concurrent invite or handling of this same invite: the stored one stands.
            invite = written ?? await store.GetAsync<FriendInvite>(toUid, fresh.Id, ct) ?? fresh;
            if (written is not null)
            {
                ct = Messenger.AfterStored;   // the invite stands: the invitee hears of it, and a crossing invite is still seen
                var view = await ViewAsync(invite, me.ToPublicProfile(), ct);
                Announce(new FriendEvent("invite", view), toUid, me.Id);
                await events.PublishAsync("friend.invited", $"friend.invited:{inviteId}:{invite.UpdateTime}", view, ct);
            }
        }

        // Checked after our own invite is stored, so of two crossing invites at least one sees the other: a mutual
        // invite is an acceptance, and concurrent ones still end in one friendship (its rows have fixed ids).
        var reverse = await store.GetAsync<FriendInvite>(me.Id, FriendInvite.ReceivedIdFor(FriendInvite.InviteIdFor(toUid, me.Id)), ct);
        if (reverse is { IsPending: true })
        {
            var accepted = await AcceptAsync(me, reverse.InviteId, ct);
            if (accepted.Error is null || accepted.Error.Status == 409)
                invite = await store.GetAsync<FriendInvite>(toUid, FriendInvite.ReceivedIdFor(inviteId), ct) ?? invite;
        }
        return await ViewAsync(invite!, null, ct);
    }

    public async Task<Result<FriendInviteView>> AcceptAsync(User me, string inviteId, CancellationToken ct)
    {
        var found = await FindReceivedAsync(me, inviteId, ct);
        if (found.Error is { } error) return error;
        var invite = found.Match(i => i, _ => null!);
        if (!invite.IsPending)
        {
            if (invite.State == InviteStates.Accepted) await CompleteAcceptAsync(invite, ct);   // repair a crashed accept
            return HandledAlready(invite);
        }

        var accepted = await store.TryReplaceAsync(invite with { State = InviteStates.Accepted, UpdateTime = Now() }, ct);
        if (accepted is null)
        {
            // Someone handled it first (a concurrent accept, reject or re-invite).
            var now = await store.GetAsync<FriendInvite>(me.Id, invite.Id, ct);
            return now is null || now.IsPending ? ImError.Conflict("invite_id: the invite changed meanwhile; try again") : HandledAlready(now);
        }
        // Accepted: a retry would hear "already accepted" and repair the rows, but never tell the inviter.
        ct = Messenger.AfterStored;
        await CompleteAcceptAsync(accepted, ct);
        var view = await ViewAsync(accepted, null, ct);
        Announce(new FriendEvent("accepted", view), accepted.FromUid, accepted.ToUid);
        await events.PublishAsync("friend.accepted", $"friend.accepted:{inviteId}:{accepted.UpdateTime}", view, ct);
        return view;
    }

    public async Task<Result<FriendInviteView>> RejectAsync(User me, string inviteId, CancellationToken ct)
    {
        var found = await FindReceivedAsync(me, inviteId, ct);
        if (found.Error is { } error) return error;
        var invite = found.Match(i => i, _ => null!);
        if (!invite.IsPending) return HandledAlready(invite);

        var rejected = await store.TryReplaceAsync(invite with { State = InviteStates.Rejected, UpdateTime = Now() }, ct);
        if (rejected is null) return ImError.Conflict("invite_id: the invite was handled meanwhile");
        ct = Messenger.AfterStored;   // a retry would hear "already rejected": the inviter's sent copy must follow now
        await store.UpsertAsync(rejected.SentCopy(), ct);
        var view = await ViewAsync(rejected, null, ct);
        Announce(new FriendEvent("rejected", view), rejected.FromUid, rejected.ToUid);   // uni-im never tells the inviter
        await events.PublishAsync("friend.rejected", $"friend.rejected:{inviteId}:{rejected.UpdateTime}", view, ct);
        return view;
    }

    public async Task<Result<Page<FriendInviteView>>> ListInvitesAsync(User me, bool received, string? cursor, int limit, CancellationToken ct)
    {
        var invites = await store.ListAsync<FriendInvite>(me.Id, received ? FriendInvite.ReceivedKind : FriendInvite.SentKind, cursor, limit, ct);
        var others = await users.GetManyAsync(invites.Select(i => received ? i.FromUid : i.ToUid), ct);
        var list = invites.Select(i => View(i, others.GetValueOrDefault(received ? i.FromUid : i.ToUid)?.ToPublicProfile())).ToList();
        return new Page<FriendInviteView>(list, invites.Count == limit ? invites[^1].SortKey : null);
    }

    public async Task<Result<Page<FriendView>>> ListFriendsAsync(User me, string? cursor, int limit, CancellationToken ct)
    {
        var friends = await store.ListAsync<Friendship>(me.Id, Friendship.KindName, cursor, limit, ct);
        var profiles = await users.GetManyAsync(friends.Select(f => f.FriendUid), ct);
        var list = friends.Select(f => new FriendView(f.FriendUid, f.Remark, f.CreateTime, profiles.GetValueOrDefault(f.FriendUid)?.ToPublicProfile())).ToList();
        return new Page<FriendView>(list, friends.Count == limit ? friends[^1].SortKey : null);
    }

    /// <summary>Ends the friendship on both sides; the 1:1 conversation and its history stay (uni-im deletes both rows).</summary>
    public async Task<Result<FriendEvent>> DeleteAsync(User me, string friendUid, CancellationToken ct)
    {
        if (!await store.AreFriendsAsync(me.Id, friendUid, ct)) return ImError.NotFound($"friend_uid: '{friendUid}' is not your friend (不是好友)");
        // The peer's row first: if we stop halfway, the caller's row is still there and the next call finishes.
        await store.DeleteAsync(friendUid, Friendship.IdFor(me.Id), ct);
        ct = Messenger.AfterStored;   // half a friendship must not wait for a retry
        await store.DeleteAsync(me.Id, Friendship.IdFor(friendUid), ct);
        var deleted = new FriendEvent("deleted", UserId: friendUid);
        pushes.ToUser(me.Id, PushEvents.Friend(deleted));
        pushes.ToUser(friendUid, PushEvents.Friend(deleted with { UserId = me.Id }));
        await events.PublishAsync("friend.deleted", $"friend.deleted:{ConversationIds.Single(me.Id, friendUid)}:{Now()}",
            new { user_id = me.Id, friend_uid = friendUid }, ct);
        return deleted;
    }

    public async Task<Result<FriendView>> SetRemarkAsync(User me, string friendUid, string remark, CancellationToken ct)
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var friendship = await store.GetAsync<Friendship>(me.Id, Friendship.IdFor(friendUid), ct);
            if (friendship is null) return ImError.NotFound($"friend_uid: '{friendUid}' is not your friend (不是好友)");
            var saved = await store.TryReplaceAsync(friendship with { Remark = remark.Length == 0 ? null : remark }, ct);
            if (saved is null) continue;
            pushes.ToUser(me.Id, PushEvents.Friend(new FriendEvent("remark", UserId: friendUid, Remark: saved.Remark)));
            return new FriendView(saved.FriendUid, saved.Remark, saved.CreateTime, null);
        }
        return ImError.Conflict("friend_uid: the friendship changed meanwhile; try again");
    }

    /// <summary>The caller's received invite; the inviter asking is told it is not theirs to handle.</summary>
    async Task<Result<FriendInvite>> FindReceivedAsync(User me, string inviteId, CancellationToken ct)
    {
        if (await store.GetAsync<FriendInvite>(me.Id, FriendInvite.ReceivedIdFor(inviteId), ct) is { } invite) return invite;
        if (await store.GetAsync<FriendInvite>(me.Id, FriendInvite.SentIdFor(inviteId), ct) is not null)
            return ImError.NoPermission("invite_id: only the invited user may accept or reject an invite");
        return ImError.NotFound($"invite_id: '{inviteId}' is not an invite of yours");
    }

    /// <summary>
    /// Everything an accepted invite implies, each step idempotent: both friend rows (fixed ids, conditional creates, so
    /// concurrent accepts make one friendship), the inviter's sent copy, and a crossing invite the other way.
    /// </summary>
    async Task CompleteAcceptAsync(FriendInvite invite, CancellationToken ct)
    {
        var now = invite.UpdateTime;
        await Task.WhenAll(
            store.TryCreateAsync(new Friendship { Id = Friendship.IdFor(invite.FromUid), UserId = invite.ToUid, FriendUid = invite.FromUid, CreateTime = now }, ct),
            store.TryCreateAsync(new Friendship { Id = Friendship.IdFor(invite.ToUid), UserId = invite.FromUid, FriendUid = invite.ToUid, CreateTime = now }, ct),
            store.UpsertAsync(invite.SentCopy(), ct));
        var crossing = await store.GetAsync<FriendInvite>(invite.FromUid, FriendInvite.ReceivedIdFor(FriendInvite.InviteIdFor(invite.ToUid, invite.FromUid)), ct);
        if (crossing is { IsPending: true } &&
            await store.TryReplaceAsync(crossing with { State = InviteStates.Accepted, UpdateTime = now }, ct) is { } closed)
            await store.UpsertAsync(closed.SentCopy(), ct);
    }

    static ImError HandledAlready(FriendInvite invite) => ImError.Conflict(
        $"invite_id: the invite was already {(invite.State == InviteStates.Accepted ? "accepted" : "rejected")}");

    /// <summary>Pushes a friend event to both users (all their devices).</summary>
    void Announce(FriendEvent e, string uidA, string uidB)
    {
        var payload = PushEvents.Friend(e);
        pushes.ToUser(uidA, payload);
        pushes.ToUser(uidB, payload);
    }

    async Task<FriendInviteView> ViewAsync(FriendInvite invite, PublicProfile? inviter, CancellationToken ct) =>
        View(invite, inviter ?? (await users.GetAsync(invite.FromUid, ct))?.ToPublicProfile());

    static FriendInviteView View(FriendInvite i, PublicProfile? other) =>
        new(i.InviteId, i.FromUid, i.ToUid, i.Message, i.State, i.CreateTime, i.UpdateTime, other);

    long Now() => clock.GetUtcNow().ToUnixTimeMilliseconds();
}
