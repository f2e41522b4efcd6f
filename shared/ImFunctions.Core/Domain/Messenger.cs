using System.Text.Json;
using ImFunctions.Core.Push;
using ImFunctions.Core.Storage;

namespace ImFunctions.Core.Domain;

public sealed record SendMessage(
    string? ToUid, string? GroupId, string AppId, string Type, JsonElement Body,
    string? ClientMsgId = null, string? AboutMsgId = null, long? ClientCreateTime = null, string? FromIp = null);

public sealed record SentMessage([property: System.Text.Json.Serialization.JsonPropertyName("_id")] string Id, string ConversationId, long Seq, long CreateTime);

public sealed record ReadCursor(string ConversationId, long ReadSeq, long UnreadCount);

/// <summary>
/// The rules of messaging, above the store port: who may talk, how a message gets its seq, idempotent retries,
/// unread counting and what is pushed. Both stores run exactly this code.
/// </summary>
public sealed class Messenger(IImStore store, UserDirectory users, TalkPolicy policy, PushDispatcher pushes,
    UniImOptions options, TimeProvider clock)
{
    const int MaxAppendAttempts = 500;
    readonly ConversationTurns seqTurns = new();

    public async Task<Result<SentMessage>> SendAsync(User me, SendMessage request, CancellationToken ct)
    {
        if (request.GroupId is not null)
            return ImError.NotFound($"group_id: group '{request.GroupId}' does not exist");
        if (MessageBodies.Validate(request.Type, request.Body, options.MaxBodyBytes) is { } invalid)
            return invalid;
        var toUid = request.ToUid!;
        if (toUid == me.Id) return ImError.InvalidParam("to_uid", "cannot be the sender");

        var conversationId = ConversationIds.Single(me.Id, toUid);
        var senderRow = await store.GetConversationAsync(me.Id, conversationId, ct);
        if (senderRow is null)
        {
            // A new conversation: the receiver must exist and the pair must be allowed to talk.
            // Replies inside an existing conversation skip both checks (and their reads).
            if (await users.GetAsync(toUid, ct) is null or { Deletion: not null }) return ImError.NotFound($"to_uid: user '{toUid}' does not exist");
            if (policy.CheckNewConversation(me, toUid) is { } denied) return denied;
        }

        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var draft = new Message
        {
            Id = request.ClientMsgId is null ? Ids.New() : Ids.ForClientMessage(conversationId, me.Id, request.ClientMsgId),
            ConversationId = conversationId,
            Seq = (senderRow?.LastSeq ?? 0) + 1,
            ClientMsgId = request.ClientMsgId,
            FromUid = me.Id,
            ToUid = toUid,
            Appid = request.AppId,
            Type = request.Type,
            Body = request.Body.Clone(),
            AboutMsgId = request.AboutMsgId,
            CreateTime = now,
            ClientCreateTime = request.ClientCreateTime,
            UpdateTime = now,
            Nickname = me.Nickname,
            AvatarFile = me.AvatarFile,
            FromIp = request.FromIp,
        };

        // Sends to one conversation claim their seq one at a time within this process: racing for the same next
        // seq through the store costs each loser another round trip, so a hot conversation's retries grow with
        // the square of its concurrent senders. Across processes the store's conditional append still decides.
        (Message? Message, ImError? Error, bool IsRetry) appended;
        using (var turn = await seqTurns.EnterAsync(conversationId, ct))
        {
            if (turn.HeadSeq >= draft.Seq) draft = draft with { Seq = turn.HeadSeq + 1 };
            appended = await AppendAsync(draft, ct);
            if (appended.Message is { } stored) turn.HeadSeq = Math.Max(turn.HeadSeq, stored.Seq);
        }
        if (appended.Error is not null) return appended.Error;
        // from_ip stays in the message store: rows and pushes are seen by everyone, so they never carry it.
        var message = appended.Message! with { FromIp = null };

        // The message is durable now. The rows are brought up to it; on a retry this repairs rows a crashed
        // first attempt left behind, and pushes again only if something was missing. Rows copy a small message
        // whole as last_msg; a large one only as its note, so row writes stay cheap whatever the body.
        var payload = PushEvents.Msg(message, out var isSmall);
        var changed = await Task.WhenAll(
            AdvanceAsync(me.Id, toUid, senderRow, message, markRead: true, isSmall, ct),
            AdvanceAsync(toUid, me.Id, null, message, markRead: false, isSmall, ct));

        if (!appended.IsRetry || changed.Any(c => c))
        {
            pushes.ToUser(toUid, payload);
            pushes.ToUser(me.Id, payload);   // the sender's other devices
        }
        return new SentMessage(message.Id, conversationId, message.Seq, message.CreateTime);
    }

    async Task<(Message? Message, ImError? Error, bool IsRetry)> AppendAsync(Message draft, CancellationToken ct)
    {
        for (var attempt = 0; attempt < MaxAppendAttempts; attempt++)
        {
            var result = await store.TryAppendMessageAsync(draft, ct);
            switch (result.Status)
            {
                case AppendStatus.Appended:
                    return (draft, null, false);
                case AppendStatus.SeqTaken:
                    // Lost a race for this seq: take the one after the conversation's head. The store only ever
                    // holds seqs 1..head, so claiming head + 1 keeps the sequence gap-free.
                    draft = draft with { Seq = Math.Max(draft.Seq, result.HeadSeq) + 1 };
                    break;
                case AppendStatus.IdTaken:
                    var original = await store.GetMessageAsync(draft.ConversationId, draft.Id, ct);
                    if (original is null) break;
                    return original.SameContentAs(draft)
                        ? (original, null, true)
                        : (null, ImError.Conflict($"client_msg_id '{draft.ClientMsgId}' was already used for a different message"), false);
            }
        }
        throw new DependencyUnavailableException("message store (seq contention)");
    }

    /// <summary>Moves one participant's row up to <paramref name="message"/>; true when it changed.</summary>
    async Task<bool> AdvanceAsync(string ownerUid, string peerUid, ConversationRow? known, Message message, bool markRead,
        bool copyWhole, CancellationToken ct)
    {
        var changed = false;
        await store.UpdateConversationAsync(ownerUid, message.ConversationId, known, row =>
        {
            var next = Advance(row ?? NewSingleRow(ownerUid, peerUid, message), message, markRead, copyWhole);
            changed = next is not null;
            return next;
        }, ct);
        return changed;
    }

    static ConversationRow NewSingleRow(string ownerUid, string peerUid, Message first) => new()
    {
        Id = first.ConversationId,
        Type = ConversationTypes.Single,
        UserId = ownerUid,
        FriendUid = peerUid,
        CreateTime = first.CreateTime,
    };

    /// <summary>Max-merges a message into a row; null when the row already reflects it.</summary>
    internal static ConversationRow? Advance(ConversationRow row, Message message, bool markRead, bool copyWhole)
    {
        var isNewest = message.Seq > row.LastSeq;
        var readSeq = markRead ? Math.Max(row.ReadSeq, message.Seq) : row.ReadSeq;
        if (!isNewest && readSeq == row.ReadSeq) return null;
        return isNewest
            ? row with
            {
                LastSeq = message.Seq,
                ReadSeq = readSeq,
                LastMsg = copyWhole ? message : null,
                LastMsgNote = MessageNotes.Preview(message, 30),
                LastMsgCreateTime = message.CreateTime,
                UpdateTime = Math.Max(row.UpdateTime, message.CreateTime),
            }
            : row with { ReadSeq = readSeq };
    }

    public async Task<Result<IReadOnlyList<ConversationView>>> ListConversationsAsync(User me, string? conversationId,
        ConversationPage page, CancellationToken ct)
    {
        IReadOnlyList<ConversationRow> rows = conversationId is null
            ? await store.ListConversationsAsync(me.Id, page, ct)
            : await store.GetConversationAsync(me.Id, conversationId, ct) is { } row ? [row] : [];
        var peers = await users.GetManyAsync(rows.Select(r => r.FriendUid).OfType<string>(), ct);
        return Result<IReadOnlyList<ConversationView>>.Ok(rows
            .Select(r => ConversationView.From(r, r.FriendUid is { } f && peers.TryGetValue(f, out var u) ? u.ToPublicProfile() : null))
            .ToList());
    }

    public async Task<Result<IReadOnlyList<Message>>> GetHistoryAsync(User me, string conversationId, SeqWindow window,
        int limit, CancellationToken ct)
    {
        if (await store.GetConversationAsync(me.Id, conversationId, ct) is null)
            return ImError.NotFound($"conversation_id: '{conversationId}' is not one of your conversations");
        return Result<IReadOnlyList<Message>>.Ok(ShownTo(me, await store.ReadMessagesAsync(conversationId, window, limit, ct)));
    }

    /// <summary>uni-im 3.x update sync: what changed in these conversations since a time, for a client coming back online.</summary>
    public async Task<Result<IReadOnlyList<Message>>> GetUpdatesAsync(User me, IReadOnlyList<string> conversationIds,
        long minUpdateTime, int limit, CancellationToken ct)
    {
        var rows = await Task.WhenAll(conversationIds.Distinct().Select(id => store.GetConversationAsync(me.Id, id, ct)));
        if (rows.Any(r => r is null))
            return ImError.NotFound("conversation_ids: not all of them are your conversations");
        var pages = await Task.WhenAll(rows.Select(r => store.ReadMessagesUpdatedSinceAsync(r!.Id, minUpdateTime, limit, ct)));
        return Result<IReadOnlyList<Message>>.Ok(ShownTo(me, pages.SelectMany(p => p)).OrderBy(m => m.UpdateTime).ThenBy(m => m.ConversationId, StringComparer.Ordinal)
            .ThenBy(m => m.Seq).Take(limit).ToList());
    }

    /// <summary>The sender's address (UniIm:RecordIp) is for uni-im-admin's eyes only.</summary>
    public static IReadOnlyList<Message> ShownTo(User reader, IEnumerable<Message> messages) =>
        reader.Role.Contains(UniImAdminRole) ? messages.ToList() : messages.Select(m => m.FromIp is null ? m : m with { FromIp = null }).ToList();

    public const string UniImAdminRole = "uni-im-admin";

    /// <summary>
    /// Marks a conversation read up to <paramref name="readSeq"/> (everything when null), or all conversations when
    /// <paramref name="conversationId"/> is null. Tells the caller's other devices and, in single chats, the peer.
    /// </summary>
    public async Task<Result<IReadOnlyList<ReadCursor>>> MarkReadAsync(User me, string? conversationId, long? readSeq,
        CancellationToken ct)
    {
        List<ConversationRow> targets;
        if (conversationId is not null)
        {
            var row = await store.GetConversationAsync(me.Id, conversationId, ct);
            if (row is null) return ImError.NotFound($"conversation_id: '{conversationId}' is not one of your conversations");
            targets = [row];
        }
        else
        {
            targets = await UnreadRowsAsync(me.Id, ct);
        }

        var cursors = new List<ReadCursor>();
        foreach (var target in targets)
        {
            ConversationRow? moved = null;
            var updated = await store.UpdateConversationAsync(me.Id, target.Id, target, row =>
            {
                if (row is null) return null;
                var upTo = Math.Min(readSeq ?? row.LastSeq, row.LastSeq);
                return moved = upTo > row.ReadSeq ? row with { ReadSeq = upTo } : null;
            }, ct);
            if (updated is null) continue;
            cursors.Add(new ReadCursor(updated.Id, updated.ReadSeq, updated.UnreadCount));
            if (moved is null) continue;

            var payload = PushEvents.Read(updated.Id, me.Id, updated.ReadSeq);
            pushes.ToUser(me.Id, payload);
            if (updated.Type == ConversationTypes.Single && updated.FriendUid is { } peer) pushes.ToUser(peer, payload);
        }
        return Result<IReadOnlyList<ReadCursor>>.Ok(cursors);
    }

    async Task<List<ConversationRow>> UnreadRowsAsync(string userId, CancellationToken ct)
    {
        const int pageSize = 500, maxRows = 10_000;
        var unread = new List<ConversationRow>();
        for (var skip = 0; skip < maxRows; skip += pageSize)
        {
            var page = await store.ListConversationsAsync(userId, new ConversationPage(pageSize, skip), ct);
            unread.AddRange(page.Where(r => r.UnreadCount > 0));
            if (page.Count < pageSize) break;
        }
        return unread;
    }
}

/// <summary>A conversation row as getConversationList returns it: the row, its unread count and the peer's profile.</summary>
public sealed record ConversationView(
    string Id, int Type, string UserId, string? FriendUid, string? GroupId, long UnreadCount, string LastMsgNote,
    long LastMsgCreateTime, long UpdateTime, long CreateTime, long LastSeq, long ReadSeq, Message? LastMsg,
    PublicProfile? UserInfo, object? GroupInfo)
{
    public static ConversationView From(ConversationRow row, PublicProfile? peer) => new(
        row.Id, row.Type, row.UserId, row.FriendUid, row.GroupId, row.UnreadCount, row.LastMsgNote, row.LastMsgCreateTime,
        row.UpdateTime, row.CreateTime, row.LastSeq, row.ReadSeq, row.LastMsg, peer, null);
}
