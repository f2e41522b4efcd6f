using System.Text.Json;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Groups;
using ImFunctions.Core.Integrations;
using ImFunctions.Core.Push;
using ImFunctions.Core.Storage;

namespace ImFunctions.Core.Messages;

/// <summary>uni-im's revoke error (errCode 10004), with its wording.</summary>
public static class MessageErrors
{
    public const string RevokeWindowPassed = "10004";

    public static ImError WindowPassed(TimeSpan window) =>
        new(403, RevokeWindowPassed, $"消息已超过 {Minutes(window)} 分钟不能撤回 (the revoke window has passed)");

    static string Minutes(TimeSpan window) => window.TotalMinutes % 1 == 0 ? ((int)window.TotalMinutes).ToString() : window.TotalMinutes.ToString("0.#");
}

/// <summary>What revokeMsg and editMsg answer: where the message is and when it changed.</summary>
public sealed record ChangedMessage(
    [property: System.Text.Json.Serialization.JsonPropertyName("_id")] string Id, string ConversationId, long Seq, long UpdateTime);

/// <summary>
/// A message after it was sent: revoked (its body gone from every place it was kept), edited by its sender, or its
/// mention cleared from a row. Each is O(1) store work in a single chat: the message and the two rows at most.
/// A retry, or a second call after a crash halfway, repairs what the first left undone.
/// </summary>
public sealed class MessageLifecycle(IImStore store, IMessageLifecycleStore messages, IGroupMembership groups, PushDispatcher pushes,
    IImEvents events, UniImOptions options, TimeProvider clock)
{
    public const string UniImAdminRole = "uni-im-admin";

    public async Task<Result<ChangedMessage>> RevokeAsync(User me, string conversationId, string messageId, CancellationToken ct)
    {
        var found = await store.GetMessageAsync(conversationId, messageId, ct);
        var access = found is null ? Access.None : await AccessAsync(me, found, ct);
        if (access == Access.None)
            return ImError.NotFound($"msg_id: '{messageId}' is not a message of a conversation you are in");
        if (!found!.IsRevoke && await RevokeRightAsync(me, found, access, ct) is { } denied) return denied;
        // A group's reminders of it go first: the revoke below clears call_uid, the list of whom to tell.
        if (found.GroupId is { } groupId && GroupMentions.NamedUids(found) is { Count: > 0 } named)
            await groups.ForgetMentionAsync(groupId, named, found.Id, ct);

        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var revokedNow = false;
        var revoked = await messages.UpdateMessageAsync(conversationId, messageId, current => (revokedNow = current is { IsRevoke: false })
            ? current! with
            {
                IsRevoke = true,
                Body = Nothing,
                CallUid = null,
                EditTime = null,
                // update_time only moves forward, so update sync (minUpdateTime) always picks the revoke up.
                UpdateTime = Math.Max(now, current.UpdateTime + 1),
            }
            : null, ct);
        if (revoked is null) return ImError.NotFound($"msg_id: '{messageId}' does not exist");
        ct = Messenger.AfterStored;   // revoked: the rows, push and event follow even if the caller gives up now

        var rowsChanged = await UpdateRowsAsync(revoked, row =>
        {
            var remind = Mentions.Forget(row.RemindMsgIds, revoked.Id);
            var wasLast = row.LastSeq == revoked.Seq;
            if (!wasLast && remind == row.RemindMsgIds) return null;
            if (wasLast && row.LastMsgNote == MessageNotes.Revoked && row.LastMsg is not { IsRevoke: false } && remind == row.RemindMsgIds)
                return null;
            return wasLast
                ? row with { LastMsg = row.LastMsg is null ? null : revoked, LastMsgNote = MessageNotes.Revoked, RemindMsgIds = remind }
                : row with { RemindMsgIds = remind };
        }, ct);

        if (revokedNow || rowsChanged)
        {
            Push(revoked, PushEvents.Revoke(revoked, me.Id));
            await events.PublishAsync("message.revoked", "message.revoked:" + revoked.Id,
                new { _id = revoked.Id, conversation_id = revoked.ConversationId, seq = revoked.Seq, from_uid = revoked.FromUid,
                    revoked_by = me.Id, update_time = revoked.UpdateTime }, ct);
        }
        return new ChangedMessage(revoked.Id, revoked.ConversationId, revoked.Seq, revoked.UpdateTime);
    }

    public async Task<Result<ChangedMessage>> EditAsync(User me, string conversationId, string messageId, JsonElement body,
        CancellationToken ct)
    {
        var found = await store.GetMessageAsync(conversationId, messageId, ct);
        var access = found is null || found.IsRevoke ? Access.None : await AccessAsync(me, found, ct);
        if (access == Access.None)
            return ImError.NotFound($"msg_id: '{messageId}' is not a message of a conversation you are in");
        if (found!.FromUid != me.Id) return ImError.NoPermission("only the sender may edit a message");
        if (access == Access.ReadOnly) return ImError.NoPermission("you are no longer a member of this group");
        if (!MessageBodyRules.EditableTypes.Contains(found.Type))
            return ImError.InvalidParam("msg_id", $"a {found.Type} message cannot be edited; only {string.Join(", ", MessageBodyRules.EditableTypes)}");
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        if (now - found.CreateTime > options.EditWindow.TotalMilliseconds)
            return ImError.NoPermission($"the edit window ({options.EditWindow}) has passed");
        if (MessageBodyRules.Validate(found.Type, body, options.MaxBodyBytes) is { } invalid) return invalid;

        var edited = await messages.UpdateMessageAsync(conversationId, messageId, current => current is null || current.IsRevoke ? null
            : current with { Body = body.Clone(), EditTime = now, UpdateTime = Math.Max(now, current.UpdateTime + 1) }, ct);
        if (edited is null || edited.IsRevoke)
            return ImError.NotFound($"msg_id: '{messageId}' was revoked");
        ct = Messenger.AfterStored;

        PushEvents.Msg(edited, out var copyWhole);   // rows copy a small message whole, as sendMsg does
        await UpdateRowsAsync(edited, row =>
            // Only the row whose last message this is shows it, and never over a revoke that won a race.
            row.LastSeq != edited.Seq || row.LastMsg is { IsRevoke: true } || (row.LastMsg is null && row.LastMsgNote == MessageNotes.Revoked)
                || row.LastMsg?.UpdateTime >= edited.UpdateTime
                ? null
                : row with { LastMsg = copyWhole ? edited : null, LastMsgNote = MessageNotes.Preview(edited, 30) }, ct);

        Push(edited, PushEvents.Edit(edited));
        await events.PublishAsync("message.edited", $"message.edited:{edited.Id}:{edited.UpdateTime}",
            new { _id = edited.Id, conversation_id = edited.ConversationId, seq = edited.Seq, from_uid = edited.FromUid,
                type = edited.Type, body = edited.Body, edit_time = edited.EditTime }, ct);
        return new ChangedMessage(edited.Id, edited.ConversationId, edited.Seq, edited.UpdateTime);
    }

    /// <summary>uni-im's removeRemindMsgId: the caller has seen a mention. Answers how many rows changed (0 or 1).</summary>
    public async Task<Result<int>> ForgetMentionAsync(User me, string conversationId, string messageId, CancellationToken ct)
    {
        if (GroupIds.FromConversation(conversationId) is { } groupId)
        {
            // A group's reminders live on the member record and the group record, not on the row.
            if (await groups.GetMemberAsync(groupId, me.Id, ct) is null)
                return ImError.NotFound($"conversation_id: '{conversationId}' is not one of your conversations");
            return await groups.ForgetMentionAsync(groupId, [me.Id], messageId, ct);
        }
        var changed = 0;
        var row = await store.UpdateConversationAsync(me.Id, conversationId, null, row =>
        {
            if (row is null) return null;
            var rest = Mentions.Forget(row.RemindMsgIds, messageId);
            if (rest == row.RemindMsgIds) return null;
            changed = 1;
            return row with { RemindMsgIds = rest };
        }, ct);
        if (row is null) return ImError.NotFound($"conversation_id: '{conversationId}' is not one of your conversations");
        return changed;
    }

    /// <summary>How far the caller reaches a message: not at all (404), read-only (a group they left), or as a participant.</summary>
    enum Access { None, ReadOnly, Participant, UniImAdmin }

    async Task<Access> AccessAsync(User me, Message message, CancellationToken ct)
    {
        if (me.Role.Contains(UniImAdminRole)) return Access.UniImAdmin;
        if (message.GroupId is { } groupId)
            return await groups.GetMemberAsync(groupId, me.Id, ct) is { } member && member.CanSee(message.Seq)
                ? member.IsCurrent ? Access.Participant : Access.ReadOnly
                : Access.None;
        return message.FromUid == me.Id || message.ToUid == me.Id ? Access.Participant : Access.None;
    }

    /// <summary>
    /// Who may revoke (SPEC §11): uni-im-admin any time; in a group its owner any time and its admins any time except
    /// the owner's messages; the sender within the window (else 10004); nobody else, and nobody who left the group.
    /// </summary>
    async Task<ImError?> RevokeRightAsync(User me, Message message, Access access, CancellationToken ct)
    {
        if (access == Access.UniImAdmin) return null;
        if (access == Access.ReadOnly) return ImError.NoPermission("you are no longer a member of this group");
        if (message.GroupId is { } groupId)
        {
            var mine = await groups.GetMemberAsync(groupId, me.Id, ct);
            if (mine is { Role: GroupRole.Owner }) return null;
            if (mine is { Role: GroupRole.Admin })
            {
                if (message.FromUid == me.Id) return null;
                var author = await groups.GetMemberAsync(groupId, message.FromUid, ct);
                return author?.Role == GroupRole.Owner
                    ? ImError.NoPermission("a group admin cannot revoke the owner's messages")
                    : null;
            }
        }
        if (message.FromUid != me.Id) return ImError.NoPermission("你不是消息的发送者或群管理员，无权操作 (not the sender nor a group admin)");
        var age = clock.GetUtcNow().ToUnixTimeMilliseconds() - message.CreateTime;
        return age > options.RevokeWindow.TotalMilliseconds ? MessageErrors.WindowPassed(options.RevokeWindow) : null;
    }

    /// <summary>
    /// Brings what each participant's list shows in line with the changed message: in a single chat the two rows; in a
    /// group the group record (its rows are not touched one by one, that would be O(members)).
    /// </summary>
    async Task<bool> UpdateRowsAsync(Message message, Func<ConversationRow, ConversationRow?> change, CancellationToken ct)
    {
        if (message.GroupId is not null) return await groups.ReflectMessageChangeAsync(message, ct);
        if (message.ToUid is not { } toUid) return false;
        var changed = false;
        await Task.WhenAll(new[] { message.FromUid, toUid }.Select(uid => store.UpdateConversationAsync(uid, message.ConversationId, null, row =>
        {
            var next = row is null ? null : change(row);
            if (next is not null) changed = true;
            return next;
        }, ct)));
        return changed;
    }

    /// <summary>One push per audience: in a single chat each participant's devices; in a group the group's connections.</summary>
    void Push(Message message, ReadOnlyMemory<byte> payload)
    {
        if (message.GroupId is not null)
        {
            pushes.ToGroup(message.ConversationId, payload);
            return;
        }
        pushes.ToUser(message.FromUid, payload);
        if (message.ToUid is { } toUid) pushes.ToUser(toUid, payload);
    }

    static readonly JsonElement Nothing = JsonDocument.Parse("null").RootElement.Clone();
}
