using System.Text.Json;
using System.Text.Json.Nodes;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Groups;
using ImFunctions.Core.Storage;

namespace ImFunctions.Core.Messages;

/// <summary>What a send will store beyond the client's request: the final body and who it mentions.</summary>
public sealed record ComposedMessage(JsonElement Body, string[]? CallUid);

/// <summary>The conversation a message goes to, as far as composing it needs to know.</summary>
/// <param name="PeerUid">The other participant of a single chat; null in a group.</param>
/// <param name="GroupId">The group of a group chat; null in a single chat.</param>
/// <param name="SenderHasHistory">Whether the sender already has a row (else the conversation has no messages yet).</param>
public sealed record ComposeTarget(string ConversationId, string? PeerUid, string? GroupId, bool SenderHasHistory);

/// <summary>
/// Everything about a send that needs the store and runs BEFORE the message is written: body rules, the server-filled
/// bodies (a card's name, a forward's copies), the reply's target and the mentions. A refusal here writes nothing.
/// </summary>
public sealed class MessageComposer(IImStore store, UserDirectory users, IGroupMembership groups, UniImOptions options)
{
    public const string MentionAll = "__ALL";
    public const int MaxMentions = 100;

    /// <param name="request">Its body has passed <see cref="MessageBodyRules.Validate"/> already (before any store read).</param>
    public async Task<Result<ComposedMessage>> ComposeAsync(User me, ComposeTarget target, SendMessage request, CancellationToken ct)
    {
        var body = request.Body;
        switch (request.Type)
        {
            case MessageBodyRules.UserinfoCard:
                var filled = await FillCardAsync(body, ct);
                if (filled.Error is not null) return filled.Error;
                body = filled.Match(b => b, _ => default);
                break;
            case MessageBodyRules.History:
                var copied = await CopyForwardedAsync(me, body, ct);
                if (copied.Error is not null) return copied.Error;
                body = copied.Match(b => b, _ => default);
                if (JsonSerializer.SerializeToUtf8Bytes(body, ImJson.Options).Length > options.MaxBodyBytes)
                    return ImError.InvalidParam("body", $"the forwarded messages are larger than {options.MaxBodyBytes} bytes together");
                break;
        }

        var mentioned = new List<string>();
        if (request.Type == MessageBodyRules.RichText) mentioned.AddRange(MessageBodyRules.MentionedUids(request.Body));
        if (request.CallUid is { } explicitUids) mentioned.AddRange(explicitUids);

        string? quotedAuthor = null;
        if (request.AboutMsgId is { } aboutId)
        {
            // The quoted message must be in this conversation and visible to the sender, checked before anything is written.
            var quoted = target.SenderHasHistory ? await store.GetMessageAsync(target.ConversationId, aboutId, ct) : null;
            if (quoted is null || quoted.IsRevoke || !await CanSeeAsync(me.Id, target, quoted, ct))
                return ImError.NotFound($"about_msg_id: '{aboutId}' is not a message of this conversation you can see");
            quotedAuthor = quoted.FromUid;
        }

        var callUid = await CheckMentionsAsync(me, target, mentioned, quotedAuthor, ct);
        return callUid.Match(uids => new ComposedMessage(body, uids), e => (Result<ComposedMessage>)e);
    }

    /// <summary>
    /// Mentions name members of the conversation only (in a single chat: the peer); <c>__ALL</c> only from the group's
    /// owner and admins unless configured otherwise. The sender mentioning themselves is dropped. The quoted author
    /// counts as mentioned while they are still in the conversation, and is never a reason to refuse (they may have
    /// left the group since, or be the server's <c>system</c>).
    /// </summary>
    async Task<Result<string[]?>> CheckMentionsAsync(User me, ComposeTarget target, List<string> mentioned, string? quotedAuthor,
        CancellationToken ct)
    {
        var uids = mentioned.Where(u => u != me.Id).Distinct(StringComparer.Ordinal).ToList();
        if (quotedAuthor == me.Id || uids.Contains(quotedAuthor!)) quotedAuthor = null;
        if (uids.Count == 0 && quotedAuthor is null) return (string[]?)null;
        if (uids.Count > MaxMentions) return ImError.InvalidParam("call_uid", $"mentions more than {MaxMentions} users");

        if (target.GroupId is not { } groupId)
        {
            foreach (var uid in uids)
                if (uid != target.PeerUid)
                    return uid == MentionAll
                        ? ImError.InvalidParam("call_uid", "__ALL only exists in group chats")
                        : ImError.InvalidParam("call_uid", $"'{uid}' is not in this conversation");
            if (quotedAuthor == target.PeerUid) uids.Add(quotedAuthor!);
            return uids.Count == 0 ? null : uids.ToArray();
        }

        if (uids.Contains(MentionAll) && !options.MentionAllByMembers)
        {
            var mine = await groups.GetMemberAsync(groupId, me.Id, ct);
            if (mine is not { IsCurrent: true, Role: GroupRole.Owner or GroupRole.Admin })
                return ImError.NoPermission("call_uid: only the group's owner and admins may mention everyone (__ALL)");
        }
        // One batched read whatever the number named (at most MaxMentions, and the quoted author).
        var named = uids.Where(u => u != MentionAll).ToList();
        var asked = quotedAuthor is null ? named : [.. named, quotedAuthor];
        var current = asked.Count == 0 ? []
            : (await groups.GetMembersAsync(groupId, asked, ct)).Where(m => m.IsCurrent).Select(m => m.UserId).ToHashSet();
        if (named.FirstOrDefault(u => !current.Contains(u)) is { } outsider)
            return ImError.InvalidParam("call_uid", $"'{outsider}' is not a member of this group");
        if (quotedAuthor is not null && current.Contains(quotedAuthor)) uids.Add(quotedAuthor);
        return uids.Count == 0 ? null : uids.ToArray();
    }

    /// <summary>
    /// Single chats show both sides everything; a group member sees what was sent up to their leave, and before their
    /// join only when the group's history was visible then.
    /// </summary>
    async Task<bool> CanSeeAsync(string uid, ComposeTarget target, Message message, CancellationToken ct)
    {
        if (target.GroupId is not { } groupId) return message.ConversationId == target.ConversationId;
        return await groups.GetMemberAsync(groupId, uid, ct) is { } member && member.CanSee(message.Seq);
    }

    /// <summary>A contact card names a real user; the server writes the name so a client cannot forge it.</summary>
    async Task<Result<JsonElement>> FillCardAsync(JsonElement body, CancellationToken ct)
    {
        var uid = body.GetProperty("user_id").GetString()!;
        var user = await users.GetAsync(uid, ct);
        if (user is null) return ImError.NotFound($"body.user_id: user '{uid}' does not exist");
        return JsonSerializer.SerializeToElement(new { user_id = user.Id, name = user.Nickname ?? "", avatar_file = user.AvatarFile },
            ImJson.Options);
    }

    /// <summary>
    /// A forward is a copy the server makes of messages the sender can read right now: their own conversation, not
    /// revoked. The client's list is never trusted as message content.
    /// </summary>
    async Task<Result<JsonElement>> CopyForwardedAsync(User me, JsonElement body, CancellationToken ct)
    {
        var sourceId = body.GetProperty("conversation_id").GetString()!;
        var ids = body.GetProperty("msg_ids").EnumerateArray().Select(i => i.GetString()!).Distinct(StringComparer.Ordinal).ToArray();
        var sourceRow = await store.GetConversationAsync(me.Id, sourceId, ct);
        if (sourceRow is null) return ImError.NotFound($"body.conversation_id: '{sourceId}' is not one of your conversations");
        var source = new ComposeTarget(sourceId, sourceRow.FriendUid, sourceRow.GroupId, SenderHasHistory: true);

        var copies = new JsonArray();
        foreach (var message in await Task.WhenAll(ids.Select(id => store.GetMessageAsync(sourceId, id, ct))))
        {
            if (message is null || message.IsRevoke || !await CanSeeAsync(me.Id, source, message, ct))
                return ImError.NotFound("body.msg_ids: every message must be one you can see in that conversation");
            copies.Add(JsonSerializer.SerializeToNode(new
            {
                from_uid = message.FromUid, nickname = message.Nickname, avatar_file = message.AvatarFile,
                type = message.Type, body = message.Body, create_time = message.CreateTime,
            }, ImJson.Options));
        }
        var ordered = new JsonArray(copies.OrderBy(c => c!["create_time"]!.GetValue<long>()).Select(c => c!.DeepClone()).ToArray());
        return JsonSerializer.SerializeToElement(new JsonObject
        {
            ["title"] = sourceRow.Type == ConversationTypes.Group ? "群聊天记录" : "",
            ["msg_list"] = ordered,
        }, ImJson.Options);
    }
}
