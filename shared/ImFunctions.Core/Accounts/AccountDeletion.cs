using System.Text.Json;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Push;
using ImFunctions.Core.Storage;

namespace ImFunctions.Core.Accounts;

/// <summary>
/// What a feature holds of a user that deleteAccount must remove (friendships, invites, blocks, memberships, owned
/// groups). Steps run in registration order after the user's messages are erased and before the ext uid is unbound;
/// each runs again after a crash, so each must be idempotent.
/// </summary>
public interface IAccountDeletionStep
{
    Task RunAsync(User user, CancellationToken ct);
}

/// <summary>
/// deleteAccount (SPEC §14) as a sequence of idempotent steps behind a durable marker on the user record. Cosmos has
/// no multi-document transaction, so a crash may stop it anywhere: the marker makes the next deleteAccount call (the
/// token stays valid for that method only) or the next login with the same openid finish the job first.
/// </summary>
public sealed class AccountDeletion(IImStore store, IAccountStore accounts, UserDirectory users, PushDispatcher pushes,
    IEnumerable<IAccountDeletionStep> steps, TimeProvider clock)
{
    public const string Deleting = "deleting", Deleted = "deleted";
    public const string DeletedNickname = "deleted user";
    /// <summary>The note a conversation list shows for an erased message.</summary>
    public const string ErasedNote = "[deleted]";
    const int PageSize = 100;
    static readonly JsonElement ErasedBody = JsonSerializer.SerializeToElement("");

    public async Task DeleteAsync(User user, CancellationToken ct)
    {
        if (user.Deletion == Deleted) return;
        // 1. The profile goes at once, and the marker with it: from here on, the account can only be finished.
        if (user.Deletion is null)
        {
            user = Tombstone(user);
            await users.SaveAsync(user, ct);
        }
        // Marked: the rest runs to the end even if the caller gives up, who may never log in again to finish it.
        ct = Messenger.AfterStored;
        // 2. The user's message bodies, and the previews of them in the peers' rows.
        await EraseConversationsAsync(user, ct);
        // 3. What other features hold (friends, groups, ...).
        foreach (var step in steps) await step.RunAsync(user, ct);
        // 4. The user's own rows (they hold the peers' last messages, which are no longer the user's to keep).
        await DeleteOwnRowsAsync(user.Id, ct);
        // 5. The openid is free: the next login with it creates a new user.
        if (user.ExtUid.Length > 0) await accounts.UnbindExtUidAsync(user.ExtUid, user.Id, ct);
        // 6. Done: every token is refused, and nothing of the person is left on the record.
        await users.SaveAsync(Sessions.RevokeAll(user) with { ExtUid = "", Deletion = Deleted }, ct);
    }

    User Tombstone(User user) => user with
    {
        Nickname = DeletedNickname,
        AvatarFile = null,
        Gender = null,
        Mobile = null,
        Email = null,
        Role = [],
        RegisterDate = 0,
        UpdateTime = clock.GetUtcNow().ToUnixTimeMilliseconds(),
        Deletion = Deleting,
    };

    async Task EraseConversationsAsync(User user, CancellationToken ct)
    {
        for (var skip = 0; ; skip += PageSize)
        {
            var rows = await store.ListConversationsAsync(user.Id, new ConversationPage(PageSize, skip), ct);
            foreach (var row in rows)
            {
                await EraseMessagesAsync(row.Id, user.Id, ct);
                if (row.Type == ConversationTypes.Single && row.FriendUid is { } peer) await ErasePeerPreviewAsync(peer, row.Id, user.Id, ct);
            }
            if (rows.Count < PageSize) return;
        }
    }

    async Task EraseMessagesAsync(string conversationId, string uid, CancellationToken ct)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        for (long after = 0; ;)
        {
            var page = await accounts.ReadMessagesSentAsync(conversationId, uid, after, PageSize, ct);
            foreach (var message in page.Where(m => !IsErased(m)))
                await accounts.ReplaceMessageAsync(Erase(message, now), ct);
            if (page.Count < PageSize) return;
            after = page[^1].Seq;
        }
    }

    /// <summary>
    /// The message keeps its place (id, seq) so no client sees a gap; it reads as revoked, by "deleted user", with
    /// an empty body. update_time moves so uni-im 3.x update sync picks the change up.
    /// </summary>
    public static Message Erase(Message message, long now) => message with
    {
        Body = ErasedBody,
        IsRevoke = true,
        Nickname = DeletedNickname,
        AvatarFile = null,
        FromIp = null,
        UpdateTime = Math.Max(message.UpdateTime, now),
    };

    public static bool IsErased(Message message) =>
        message.IsRevoke && message.Nickname == DeletedNickname && message.FromIp is null && message.AvatarFile is null &&
        message.Body.ValueKind == JsonValueKind.String && message.Body.GetString() == "";

    /// <summary>The peer's row copies the last message (or its note): erase it there too, and tell the peer.</summary>
    async Task ErasePeerPreviewAsync(string peer, string conversationId, string uid, CancellationToken ct)
    {
        var newest = (await store.ReadMessagesAsync(conversationId, new SeqWindow(), 1, ct)).FirstOrDefault();
        await store.UpdateConversationAsync(peer, conversationId, null, row =>
        {
            if (row is null || newest is null || newest.FromUid != uid || row.LastSeq != newest.Seq) return null;
            if (row.LastMsgNote == ErasedNote && (row.LastMsg is null || IsErased(row.LastMsg))) return null;
            return row with { LastMsg = row.LastMsg is null ? null : newest, LastMsgNote = ErasedNote };
        }, ct);
        pushes.ToUser(peer, AccountEvents.UserDeleted(uid, conversationId));
    }

    async Task DeleteOwnRowsAsync(string uid, CancellationToken ct)
    {
        while (true)
        {
            var rows = await store.ListConversationsAsync(uid, new ConversationPage(PageSize), ct);
            foreach (var row in rows) await accounts.DeleteConversationAsync(uid, row.Id, ct);
            if (rows.Count < PageSize) return;
        }
    }
}

/// <summary>The push a peer gets when a user they talked with deleted their account: refresh that conversation.</summary>
public static class AccountEvents
{
    public static ReadOnlyMemory<byte> UserDeleted(string uid, string conversationId) =>
        JsonSerializer.SerializeToUtf8Bytes(new { type = "im", @event = "user-deleted", data = new { user_id = uid, conversation_id = conversationId } },
            ImJson.Options);
}
