using System.Text.Json;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Integrations;
using ImFunctions.Core.Messages;
using ImFunctions.Core.Push;
using ImFunctions.Core.Storage;

namespace ImFunctions.Core.Groups;

/// <summary>
/// Messages in a group's one stream <c>group_&lt;id&gt;</c>: chat sends, the server's system messages, reads and read
/// receipts. A send is one append plus a constant number of point operations and one push to the group's Web PubSub
/// group, whatever the member count: no member's row is written per message.
/// </summary>
public sealed class GroupChat(IGroupStore store, GroupDirectory directory, Messenger messenger, PushDispatcher pushes,
    UniImOptions options, TimeProvider clock, IImEvents? events = null)
{
    public const string SystemUid = "system";
    const int MaxReadersListed = 100;

    /// <summary>
    /// A member's message to the group: the same body rules, replies, forwards, cards and mention checks as a 1:1 send
    /// (<see cref="Messenger.ComposeAsync"/>), all before anything is written. A mention of everyone is recorded on the
    /// group record in the head's own write; a mention by uid writes the mentioned members' records (bounded by the
    /// mention count, never by the group's size).
    /// </summary>
    public async Task<Result<SentMessage>> SendAsync(User me, SendMessage request, CancellationToken ct)
    {
        var groupId = request.GroupId!;
        if (MessageBodyRules.Validate(request.Type, request.Body, options.MaxBodyBytes) is { } invalid) return invalid;

        var (memberTask, groupTask) = (store.GetMemberAsync(groupId, me.Id, ct), store.GetGroupAsync(groupId, ct));
        var (member, group) = (await memberTask, await groupTask);
        if (group is null) return ImError.NotFound($"group_id: group '{groupId}' does not exist");
        if (member is not { IsCurrent: true }) return ImError.NoPermission("you are not a member of this group");
        if (group.Dissolved) return ImError.NoPermission("this group was dissolved");
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        if (member.Role == GroupRole.Member && (group.MuteAllMembers || member.MuteUntil > now))
            return ImError.NoPermission("you are muted in this group");

        var hooked = await messenger.BeforeSendAsync(me, request, ct);
        if (hooked.Error is { } refused) return refused;
        request = hooked.Match(m => m, _ => request);

        var conversationId = group.ConversationId;
        var composing = await messenger.ComposeAsync(me, new ComposeTarget(conversationId, null, groupId, SenderHasHistory: true), request, ct);
        if (composing.Error is not null) return composing.Error;
        var composed = composing.Match(c => c, _ => null!);
        var draft = Messenger.Draft(me, request, composed, conversationId, group.LastSeq + 1, now);
        // The group's head moves to the message and the sender, who has read their own message, has their cursor moved,
        // both with the append (in its own write where the store has transactions). from_ip stays in the message store:
        // the group record, pushes and events are seen by others.
        ReadOnlyMemory<byte> payload = default;
        AppendWrites WritesFor(Message tried)
        {
            var shown = tried with { FromIp = null };
            payload = PushEvents.Msg(shown, out var isSmall);
            return new([], GroupDirectory.AdvancingHead(group, shown, isSmall), new MemberUpdate(groupId, me.Id, member,
                m => m is { IsCurrent: true } && m.ReadSeq < tried.Seq ? m with { ReadSeq = tried.Seq } : null));
        }
        var (stored, error, isRetry) = await messenger.AppendInTurnAsync(draft, WritesFor, ct);
        if (error is not null) return error;
        ct = Messenger.AfterStored;
        var message = stored! with { FromIp = null };

        // Of the members other than the sender, only those named in a mention are written (from the stored message, so
        // a retry of a send revoked meanwhile reminds nobody).
        await directory.RemindAsync(message, GroupMentions.NamedUids(message), ct);
        if (!isRetry || group.LastSeq < message.Seq) pushes.ToGroup(GroupIds.PushGroup(groupId), payload);
        // Published on a retry too, as a 1:1 send: the event id dedupes it.
        if (events is not null) await events.PublishAsync("message.sent", "message.sent:" + message.Id, message, ct);
        return new SentMessage(message!.Id, conversationId, message.Seq, message.CreateTime);
    }

    /// <summary>
    /// The operator's <c>system</c> message to a group (sendSystemMsg with group_id): its own seq in the group's stream,
    /// the group's head advanced, one push to the group and <c>message.sent</c>, as the 1:1 system send. A retry with the
    /// same client_msg_id gets the original (a different body under it: 409); a dissolved group refuses it like any send.
    /// </summary>
    public async Task<Result<SentMessage>> SendSystemAsync(SendMessage request, CancellationToken ct)
    {
        var groupId = request.GroupId!;
        var group = await store.GetGroupAsync(groupId, ct);
        if (group is null) return ImError.NotFound($"group_id: group '{groupId}' does not exist");
        if (group.Dissolved) return ImError.NoPermission("this group was dissolved");
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var draft = new Message
        {
            // Its own id space: an operator's client_msg_id never lands on an announcement's (PostSystemAsync's event ids).
            Id = request.ClientMsgId is null ? Ids.New() : Ids.ForClientMessage(group.ConversationId, OperatorSender, request.ClientMsgId),
            ConversationId = group.ConversationId,
            Seq = group.LastSeq + 1,
            ClientMsgId = request.ClientMsgId,
            FromUid = SystemUid,
            GroupId = groupId,
            Appid = request.AppId,
            Type = "system",
            Body = request.Body.Clone(),
            CreateTime = now,
            UpdateTime = now,
            Nickname = Messenger.SystemSender.Nickname,
        };
        ReadOnlyMemory<byte> payload = default;
        AppendWrites WritesFor(Message tried)
        {
            payload = PushEvents.Msg(tried, out var isSmall);
            return new([], GroupDirectory.AdvancingHead(group, tried, isSmall));
        }
        var (message, error, isRetry) = await messenger.AppendInTurnAsync(draft, WritesFor, ct);
        if (error is not null) return error;
        ct = Messenger.AfterStored;

        if (!isRetry || group.LastSeq < message!.Seq) pushes.ToGroup(GroupIds.PushGroup(groupId), payload);
        // On a retry too: the event id dedupes it, and it closes the window a crash after the append would leave.
        if (events is not null) await events.PublishAsync("message.sent", "message.sent:" + message!.Id, message with { FromIp = null }, ct);
        return new SentMessage(message!.Id, message.ConversationId, message.Seq, message.CreateTime);
    }

    /// <summary>Whose client_msg_ids the operator's group system messages are keyed by (never a uid).</summary>
    const string OperatorSender = "system:sendSystemMsg";

    /// <summary>
    /// Announces a change in the group's history, after the change: a <c>system</c> message from <c>system</c> with
    /// its own seq, pushed to the group. <paramref name="eventId"/> makes it idempotent (a retried call announces once).
    /// </summary>
    public async Task<Message?> PostSystemAsync(string groupId, string eventId, object body, CancellationToken ct)
    {
        var group = await store.GetGroupAsync(groupId, ct);
        if (group is null) return null;
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var draft = new Message
        {
            Id = Ids.ForClientMessage(group.ConversationId, SystemUid, eventId),
            ConversationId = group.ConversationId,
            Seq = group.LastSeq + 1,
            ClientMsgId = eventId,
            FromUid = SystemUid,
            GroupId = groupId,
            Appid = "system",
            Type = "system",
            Body = JsonSerializer.SerializeToElement(body, ImJson.Options),
            CreateTime = now,
            UpdateTime = now,
        };
        var (message, _, _) = await messenger.AppendInTurnAsync(draft, tried => new([], GroupDirectory.AdvancingHead(group, tried, copyWhole: true)), ct);
        if (message is null) return null;
        pushes.ToGroup(GroupIds.PushGroup(groupId), PushEvents.Msg(message));
        return message;
    }

    /// <summary>Who of the current members has read up to <paramref name="seq"/> (members only; readers listed up to a bound).</summary>
    public async Task<Result<ReadInfo>> GetReadInfoAsync(User me, string groupId, long seq, CancellationToken ct)
    {
        var (memberTask, groupTask) = (store.GetMemberAsync(groupId, me.Id, ct), store.GetGroupAsync(groupId, ct));
        var (member, group) = (await memberTask, await groupTask);
        if (group is null || member is null)
            return ImError.NotFound($"conversation_id: '{GroupIds.Conversation(groupId)}' is not one of your conversations");
        if (seq > group.LastSeq) return ImError.NotFound($"seq: no message {seq} in this conversation");
        var (readCount, readers) = await store.CountReadersAsync(groupId, seq, MaxReadersListed, ct);
        return new ReadInfo(readCount, Math.Max(0, group.MemberCount - readCount), readers);
    }
}

public sealed record ReadInfo(long ReadCount, long UnreadCount, IReadOnlyList<string> Readers);
