using System.Text.Json;
using ImFunctions.Core.Groups;
using ImFunctions.Core.Messages;
using ImFunctions.Core.Integrations;
using ImFunctions.Core.Push;
using ImFunctions.Core.Storage;

namespace ImFunctions.Core.Domain;

public sealed record SendMessage(
    string? ToUid, string? GroupId, string AppId, string Type, JsonElement Body,
    string? ClientMsgId = null, string? AboutMsgId = null, long? ClientCreateTime = null, string? ChatSourceGroupId = null,
    string[]? CallUid = null, string? FromIp = null);

public sealed record SentMessage([property: System.Text.Json.Serialization.JsonPropertyName("_id")] string Id, string ConversationId, long Seq, long CreateTime);

public sealed record ReadCursor(string ConversationId, long ReadSeq, long UnreadCount);

/// <summary>
/// The rules of messaging, above the store port: who may talk, how a message gets its seq, idempotent retries,
/// unread counting and what is pushed. Both stores run exactly this code.
/// </summary>
public sealed partial class Messenger(IImStore store, UserDirectory users, TalkPolicy policy, PushDispatcher pushes,
    UniImOptions options, TimeProvider clock, IGroupMembership groups, IImEvents? events = null, IBeforeSendHook? beforeSend = null)
{
    const int MaxAppendAttempts = 500;
    readonly ConversationTurns seqTurns = new();
    readonly MessageComposer composer = new(store, users, groups, options);

    /// <summary>Who system messages are from (uni-im's <c>from_uid: "system"</c>); never a user who can log in.</summary>
    public static readonly User SystemSender = new() { Id = "system", ExtUid = "", Nickname = "system" };

    public Task<Result<SentMessage>> SendAsync(User me, SendMessage request, CancellationToken ct) =>
        SendAsync(me, request, fromSystem: false, ct);

    /// <summary>
    /// What a client's send stores beyond its request (filled card, forwarded copies, reply check, mentions), for 1:1
    /// and group sends alike; the body has passed <see cref="MessageBodyRules.Validate"/>. Nothing is written here.
    /// </summary>
    public Task<Result<ComposedMessage>> ComposeAsync(User me, ComposeTarget target, SendMessage request, CancellationToken ct) =>
        composer.ComposeAsync(me, target, request, ct);

    /// <summary>
    /// A <c>system</c> message from the operator's backend (sendSystemMsg): the same seq, idempotency, push and
    /// event path as a user's message, without talk rules or the before-send hook, and with no row for the sender.
    /// </summary>
    public Task<Result<SentMessage>> SendSystemAsync(SendMessage request, CancellationToken ct) =>
        SendAsync(SystemSender, request with { Type = "system" }, fromSystem: true, ct);

    /// <summary>
    /// The operator's before-send hook, for a user's message to anyone (1:1 or group): it sees the message before
    /// anything is written and may refuse or rewrite it; a rewrite is checked like the original. Without a hook, as sent.
    /// </summary>
    public async Task<Result<SendMessage>> BeforeSendAsync(User me, SendMessage request, CancellationToken ct)
    {
        if (beforeSend is null) return request;
        var hooked = await beforeSend.CheckAsync(me, request, ct);
        if (hooked.Error is { } refused) return refused;
        var checkedRequest = hooked.Match(m => m, _ => request);
        if (MessageBodyRules.Validate(checkedRequest.Type, checkedRequest.Body, options.MaxBodyBytes) is { } badRewrite)
            return badRewrite with { Message = "the before-send hook's rewrite is invalid: " + badRewrite.Message };
        return checkedRequest;
    }

    async Task<Result<SentMessage>> SendAsync(User me, SendMessage request, bool fromSystem, CancellationToken ct)
    {
        if (request.GroupId is not null)
            return ImError.NotFound($"group_id: group '{request.GroupId}' does not exist");
        if (!fromSystem && MessageBodyRules.Validate(request.Type, request.Body, options.MaxBodyBytes) is { } invalid)
            return invalid;
        var toUid = request.ToUid!;
        if (toUid == me.Id) return ImError.InvalidParam("to_uid", "cannot be the sender");

        var conversationId = ConversationIds.Single(me.Id, toUid);
        // The system sender keeps no rows: the receiver's row gives the next seq instead.
        var senderRow = fromSystem ? null : await store.GetConversationAsync(me.Id, conversationId, ct);
        var receiverRow = fromSystem ? await store.GetConversationAsync(toUid, conversationId, ct) : null;
        var receiverRowBlocked = false;
        if (senderRow is null && receiverRow is null)
        {
            // A new conversation: the receiver must exist and the pair must be allowed to talk.
            // Replies inside an existing conversation skip both checks (and their reads).
            if (await users.GetAsync(toUid, ct) is not { Deletion: null } receiver) return ImError.NotFound($"to_uid: user '{toUid}' does not exist");
            if (!fromSystem)
            {
                if (await policy.CheckNewConversationAsync(me, receiver, request.ChatSourceGroupId, ct) is { } denied) return denied;
                receiverRowBlocked = await policy.IsBlockedAsync(blockerUid: me.Id, blockedUid: toUid, ct);
            }
        }
        else if (senderRow is { PeerBlocked: true })
        {
            return TalkPolicy.BlockedByReceiver;
        }
        if (!fromSystem)
        {
            var hooked = await BeforeSendAsync(me, request, ct);
            if (hooked.Error is { } refused) return refused;
            request = hooked.Match(m => m, _ => request);
        }
        var composed = new ComposedMessage(request.Body, null);
        if (!fromSystem)
        {
            var composing = await ComposeAsync(me, new ComposeTarget(conversationId, toUid, null, senderRow is not null), request, ct);
            if (composing.Error is not null) return composing.Error;
            composed = composing.Match(c => c, _ => null!);
        }

        // Once the send is allowed, the receiver's row is read too: it is written with the message.
        if (!fromSystem) receiverRow = await store.GetConversationAsync(toUid, conversationId, ct);
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var draft = Draft(me, request, composed, conversationId, Math.Max(senderRow?.LastSeq ?? 0, receiverRow?.LastSeq ?? 0) + 1, now);

        // The rows are brought up to the message in the append's own write (WritesFor is asked again for each seq tried).
        // Rows copy a small message whole as last_msg; a large one only as its note, so row writes stay cheap whatever
        // the body. from_ip stays in the message store: rows and pushes are seen by everyone, so they never carry it.
        ReadOnlyMemory<byte> payload = default;
        var changed = new bool[2];
        AppendWrites WritesFor(Message stored)
        {
            var shown = stored with { FromIp = null };
            payload = PushEvents.Msg(shown, out var isSmall);
            return new(fromSystem
                ? [Advancing(toUid, me.Id, receiverRow, shown, markRead: false, isSmall, changed, 0)]
                : [Advancing(me.Id, toUid, senderRow, shown, markRead: true, isSmall, changed, 0),
                   Advancing(toUid, me.Id, receiverRow, shown, markRead: false, isSmall, changed, 1, peerBlocked: receiverRowBlocked)]);
        }
        var appended = await AppendInTurnAsync(draft, WritesFor, ct);
        if (appended.Error is not null) return appended.Error;
        ct = AfterStored;
        var message = appended.Message! with { FromIp = null };
        if (!appended.IsRetry) Telemetry.ImDiagnostics.MessagesSent.Add(1);

        // A retry of a stored message pushes again only if its repair found something missing.
        if (!appended.IsRetry || changed.Any(c => c))
        {
            pushes.ToUser(toUid, payload);
            if (!fromSystem) pushes.ToUser(me.Id, payload);   // the sender's other devices
        }
        // Published on a retry too: the event id dedupes it, and a retry closes the window a crash between the
        // append and this write would otherwise leave (docs/legacy-backends.md, "Events").
        if (events is not null) await events.PublishAsync("message.sent", "message.sent:" + message.Id, message, ct);
        return new SentMessage(message.Id, conversationId, message.Seq, message.CreateTime);
    }

    /// <summary>
    /// The token for everything after the write that commits an operation (a message stored, a revoke or edit, a
    /// membership claim, an invite accepted): never cancelled. A caller that gives up then (a dropped connection aborts
    /// its request) must not leave a committed change that rows, pushes and events never show; a retry would repair
    /// most of it, but only if it comes. Reads and checks before that write still honour the request's token.
    /// </summary>
    internal static readonly CancellationToken AfterStored = CancellationToken.None;

    /// <summary>A user's message as it is first offered to the store: the sender's profile copied, sent and updated now.</summary>
    internal static Message Draft(User me, SendMessage request, ComposedMessage composed, string conversationId, long seq, long now) => new()
    {
        Id = request.ClientMsgId is null ? Ids.New() : Ids.ForClientMessage(conversationId, me.Id, request.ClientMsgId),
        ConversationId = conversationId,
        Seq = seq,
        ClientMsgId = request.ClientMsgId,
        FromUid = me.Id,
        ToUid = request.ToUid,
        GroupId = request.GroupId,
        Appid = request.AppId,
        Type = request.Type,
        Body = composed.Body.Clone(),
        CallUid = composed.CallUid,
        AboutMsgId = request.AboutMsgId,
        CreateTime = now,
        ClientCreateTime = request.ClientCreateTime,
        UpdateTime = now,
        Nickname = me.Nickname,
        AvatarFile = me.AvatarFile,
        FromIp = request.FromIp,
    };

    /// <summary>
    /// Appends a message to its conversation (1:1 or group) with the next free seq, gap-free and idempotent by id;
    /// <paramref name="draft"/>.Seq is the caller's best guess of the head + 1. Its <c>create_time</c> is raised to the
    /// message ahead's where that one took its time later but claimed first (<see cref="ConversationHead.Next"/>), so
    /// times follow seqs: always on a store that applies appends in call order, which refuses a time that would fall,
    /// and within this process on any other. Sends to one conversation claim their
    /// seq one at a time within this process: racing for the same next seq
    /// through the store costs each loser another round trip, so a hot conversation's retries grow with the square of
    /// its concurrent senders. Across processes the store's conditional append still decides. On a store that applies
    /// appends in call order a sender does not wait for the commit of the one ahead (<see cref="AppendInLineAsync"/>).
    /// </summary>
    /// <param name="writesFor">What to write with the message as it is tried (with each seq): a 1:1 send's rows, a group
    /// send's head and cursor. They go with the append (<see cref="IImStore.TryAppendMessageAsync(Message, AppendWrites,
    /// CancellationToken)"/>); on a retry of a stored message they are written after it, from the original, which
    /// repairs what a first attempt that crashed after its append left behind.</param>
    public async Task<(Message? Message, ImError? Error, bool IsRetry)> AppendInTurnAsync(Message draft,
        Func<Message, AppendWrites>? writesFor, CancellationToken ct)
    {
        var appended = store.AppendsInCallOrder ? await AppendInLineAsync(draft, writesFor, ct) : await AppendOutOfLineAsync(draft, writesFor, ct);
        if (appended.IsRetry && writesFor is not null) await store.UpdateAsync(writesFor(appended.Message!), AfterStored);
        return appended;
    }

    /// <summary><see cref="AppendInTurnAsync"/> on a store whose appends race (Cosmos DB): the conditional append decides.</summary>
    async Task<(Message? Message, ImError? Error, bool IsRetry)> AppendOutOfLineAsync(Message draft,
        Func<Message, AppendWrites>? writesFor, CancellationToken ct)
    {
        (Message? Message, ImError? Error, bool IsRetry) appended;
        var writesAfter = AppendWrites.None;
        using (var turn = await seqTurns.EnterAsync(draft.ConversationId, ct))
        {
            if (turn.Claimed is { } claimed && claimed.Seq >= draft.Seq) draft = claimed.Next(draft);
            // Rows go in the append's own write, unless other sends of this conversation wait for the turn (a hot
            // conversation): then the append goes alone, the next seq is claimed sooner, and the rows follow outside
            // the turn, where the sends' row writes overlap.
            var contended = turn.HasWaiters;
            appended = await AppendAsync(draft, contended ? null : writesFor, ct);
            if (appended.Message is { } stored)
            {
                if (turn.Claimed is not { } last || stored.Seq > last.Seq) turn.Claimed = ConversationHead.Of(stored);
                if (contended && writesFor is not null && !appended.IsRetry) writesAfter = writesFor(stored);
            }
        }
        await store.UpdateAsync(writesAfter, AfterStored);
        return appended;
    }

    /// <summary>
    /// <see cref="AppendInTurnAsync"/> on a store that applies appends in call order: a sender holds the turn only
    /// while it claims the seq after the last one claimed and hands its append (message and rows) to the store, so
    /// the sends of a hot conversation queue behind each other and share the writer's commits instead of taking one
    /// each. The store refuses a seq that would leave a gap, so when an append fails (a duplicate, a failed commit)
    /// every claim queued behind it is refused too: the first sender to learn of the break sets the line back to the
    /// store's head, and the others, whose claims were made before it, claim again.
    /// </summary>
    async Task<(Message? Message, ImError? Error, bool IsRetry)> AppendInLineAsync(Message draft,
        Func<Message, AppendWrites>? writesFor, CancellationToken ct)
    {
        using var turn = await seqTurns.EnterAsync(draft.ConversationId, ct);
        for (var attempt = 0; attempt < MaxAppendAttempts; attempt++)
        {
            // Holding the turn here. Before the first claim the draft's own seq is the guess of the head + 1.
            var head = turn.Claimed ?? new ConversationHead(draft.Seq - 1, 0);
            draft = head.Next(draft);
            var line = turn.Breaks;
            // Queued on the store when the call returns (a throw here queued nothing: no claim to take back).
            var pending = store.TryAppendMessageAsync(draft, writesFor?.Invoke(draft) ?? AppendWrites.None, ct);
            turn.Claimed = ConversationHead.Of(draft);
            turn.LetNextIn();

            AppendResult result;
            try
            {
                result = await pending;
            }
            catch
            {
                await turn.ReenterAsync(AfterStored);
                BreakLine(turn, line, head);
                throw;
            }
            switch (result.Status)
            {
                case AppendStatus.Appended:
                    return (draft, null, false);
                case AppendStatus.SeqTaken:
                    await turn.ReenterAsync(ct);
                    BreakLine(turn, line, result.Head);
                    break;
                case AppendStatus.IdTaken:
                    // Refused after the seq check: the head was right before this claim.
                    await turn.ReenterAsync(AfterStored);
                    BreakLine(turn, line, head);
                    turn.LetNextIn();
                    if (await OriginalOfAsync(draft, ct) is { } answer) return answer;
                    await turn.ReenterAsync(ct);
                    break;
            }
        }
        throw new DependencyUnavailableException("message store (seq contention)");
    }

    /// <summary>An append of the line claimed before <paramref name="line"/>'s break failed: the line restarts after <paramref name="head"/>, once.</summary>
    static void BreakLine(ConversationTurns.Turn turn, int line, ConversationHead head)
    {
        if (turn.Breaks != line) return;   // broken (and set back) already, by a claim ahead of this one
        turn.Claimed = head;
        turn.Breaks++;
    }

    async Task<(Message? Message, ImError? Error, bool IsRetry)> AppendAsync(Message draft,
        Func<Message, AppendWrites>? writesFor, CancellationToken ct)
    {
        for (var attempt = 0; attempt < MaxAppendAttempts; attempt++)
        {
            var result = writesFor is null
                ? await store.TryAppendMessageAsync(draft, ct)
                : await store.TryAppendMessageAsync(draft, writesFor(draft), ct);
            switch (result.Status)
            {
                case AppendStatus.Appended:
                    return (draft, null, false);
                case AppendStatus.SeqTaken:
                    // Lost a race for this seq: take the one after the conversation's head. The store only ever
                    // holds seqs 1..head, so claiming head + 1 keeps the sequence gap-free.
                    draft = (result.Head with { Seq = Math.Max(draft.Seq, result.Head.Seq) }).Next(draft);
                    break;
                case AppendStatus.IdTaken:
                    if (await OriginalOfAsync(draft, ct) is { } answer) return answer;
                    break;
            }
        }
        throw new DependencyUnavailableException("message store (seq contention)");
    }

    /// <summary>
    /// The answer to a draft whose id is taken: the stored original for a retry of the same message, a conflict for a
    /// different one; null when the original is gone again (the caller tries once more).
    /// </summary>
    async Task<(Message? Message, ImError? Error, bool IsRetry)?> OriginalOfAsync(Message draft, CancellationToken ct)
    {
        var original = await store.GetMessageAsync(draft.ConversationId, draft.Id, ct);
        if (original is null) return null;
        // A revoked original has no body left to compare: the retry gets it as it now is.
        return original.IsRevoke || original.SameContentAs(draft)
            ? (original, null, true)
            : (null, ImError.Conflict($"client_msg_id '{draft.ClientMsgId}' was already used for a different message"), false);
    }

    /// <summary>Moves one participant's row up to <paramref name="message"/>; <c>changed[index]</c> says whether it did.</summary>
    static RowUpdate Advancing(string ownerUid, string peerUid, ConversationRow? known, Message message, bool markRead,
        bool copyWhole, bool[] changed, int index, bool peerBlocked = false) =>
        new(ownerUid, message.ConversationId, known, row =>
        {
            var next = Advance(row ?? NewSingleRow(ownerUid, peerUid, message) with { PeerBlocked = peerBlocked }, message, markRead, copyWhole);
            changed[index] = next is not null;
            return next;
        });

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
                Hidden = false,   // a hidden conversation comes back with its next message
                RemindMsgIds = Mentions.Remember(row.RemindMsgIds, message, row.UserId),
            }
            : row with { ReadSeq = readSeq };
    }

    public async Task<Result<IReadOnlyList<ConversationView>>> ListConversationsAsync(User me, string? conversationId,
        ConversationPage page, CancellationToken ct)
    {
        if (conversationId is null)
            return Result<IReadOnlyList<ConversationView>>.Ok(await ListAsync(me.Id, new ConversationQuery(page.Limit, page.Skip, page.MaxUpdateTime),
                await GroupRowsAsync(me.Id, ConversationFilter.None, ct), ct));
        var (rows, groups) = await OneRowAsync(me.Id, conversationId, ct);
        return Result<IReadOnlyList<ConversationView>>.Ok(await ViewsAsync(rows, groups, ct));
    }

    /// <summary>
    /// Rows as getConversationList returns them: single rows with the peers' profiles (one batched read for cache
    /// misses), group rows, their unread already derived (<see cref="SettleAsync"/>), with their group.
    /// </summary>
    /// <summary>Rows as getConversationList shows them, group rows at their groups' activity (<see cref="GroupRowsAsync"/>).</summary>
    public async Task<IReadOnlyList<ConversationView>> ViewsAsync(IReadOnlyList<ConversationRow> rows, IReadOnlyDictionary<string, Group> groups,
        CancellationToken ct) =>
        await SettledViewsAsync(await SettleAsync(rows, groups, ct, reminders: true), groups, ConversationView.AllRows, ct);

    async Task<IReadOnlyList<ConversationView>> SettledViewsAsync(IReadOnlyList<ConversationRow> rows, IReadOnlyDictionary<string, Group> groups,
        char cursorPhase, CancellationToken ct)
    {
        var peers = await users.GetManyAsync(rows.Select(r => r.FriendUid).OfType<string>(), ct);
        return rows.Select(r => r.Type == ConversationTypes.Group
            ? GroupView(r, groups, cursorPhase)
            : ConversationView.From(r, r.FriendUid is { } f && peers.TryGetValue(f, out var u) ? u.ToPublicProfile() : null, cursorPhase)).ToList();
    }

    public async Task<Result<IReadOnlyList<Message>>> GetHistoryAsync(User me, string conversationId, SeqWindow window,
        int limit, CancellationToken ct)
    {
        var (isGroup, member) = await GroupMemberAsync(me, conversationId, ct);
        if (isGroup) return member is null
            ? ImError.NotFound($"conversation_id: '{conversationId}' is not one of your conversations")
            : Result<IReadOnlyList<Message>>.Ok(ShownTo(me, VisibleTo(member, await store.ReadMessagesAsync(conversationId, Visible(member, window), limit, ct))));
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
        var pages = await Task.WhenAll(rows.Select(async r => await VisibleUpdatesAsync(me, r!,
            await store.ReadMessagesUpdatedSinceAsync(r!.Id, minUpdateTime, limit, ct), ct)));
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
        if (conversationId is not null && GroupIds.FromConversation(conversationId) is { } groupId)
            return (await GroupReadAsync(me, groupId, readSeq, ct)).Match(c => Result<IReadOnlyList<ReadCursor>>.Ok([c]), e => e);
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
                return moved = upTo > row.ReadSeq || row.MarkedUnread ? row with { ReadSeq = Math.Max(upTo, row.ReadSeq), MarkedUnread = false } : null;
            }, ct);
            if (updated is null) continue;
            cursors.Add(new ReadCursor(updated.Id, updated.ReadSeq, updated.UnreadCount));
            if (moved is null) continue;

            var payload = PushEvents.Read(updated.Id, me.Id, updated.ReadSeq);
            pushes.ToUser(me.Id, payload);
            if (updated.Type == ConversationTypes.Single && updated.FriendUid is { } peer) pushes.ToUser(peer, payload);
        }
        if (conversationId is null) cursors.AddRange(await ReadAllGroupsAsync(me, ct));
        return Result<IReadOnlyList<ReadCursor>>.Ok(cursors);
    }

    async Task<List<ConversationRow>> UnreadRowsAsync(string userId, CancellationToken ct)
    {
        const int pageSize = 500, maxRows = 10_000;
        var unread = new List<ConversationRow>();
        for (var skip = 0; skip < maxRows; skip += pageSize)
        {
            var page = await store.ListConversationsAsync(userId, new ConversationPage(pageSize, skip), ct);
            unread.AddRange(page.Where(r => r.UnreadCount > 0 && r.Type != ConversationTypes.Group));   // groups: ReadAllGroupsAsync
            if (page.Count < pageSize) break;
        }
        return unread;
    }
}

/// <summary>A conversation row as getConversationList returns it: the row, its unread count and the peer's profile.</summary>
public sealed record ConversationView(
    string Id, int Type, string UserId, string? FriendUid, string? GroupId, long UnreadCount, string LastMsgNote,
    long LastMsgCreateTime, long UpdateTime, long CreateTime, long LastSeq, long ReadSeq, Message? LastMsg,
    PublicProfile? UserInfo, object? GroupInfo, string[]? RemindMsgIds = null)
{
    /// <summary>Whether a message mentioning the owner is still unseen (the has_remind_msg filter's field).</summary>
    public bool HasRemind => RemindMsgIds is { Length: > 0 };

    public const char AllRows = 'a', PinnedRows = 'p', UnpinnedRows = 'u';

    /// <summary>Group rows: the user left or was expelled; the row is read-only.</summary>
    public bool Leave { get; init; }
    public bool Pinned { get; init; }
    public bool Mute { get; init; }
    public bool Hidden { get; init; }
    public bool IsStar { get; init; }
    /// <summary>Keyset paging: pass the last row's cursor to getConversationList for the rows after it.</summary>
    public string Cursor { get; init; } = "";

    public static ConversationView From(ConversationRow row, PublicProfile? peer, char cursorPhase = AllRows) => new(
        row.Id, row.Type, row.UserId, row.FriendUid, row.GroupId, row.UnreadCount, row.LastMsgNote, row.LastMsgCreateTime,
        row.UpdateTime, row.CreateTime, row.LastSeq, row.ReadSeq, row.LastMsg, peer, null, row.RemindMsgIds ?? [])
    {
        Pinned = row.Pinned, Mute = row.Mute, Hidden = row.Hidden, IsStar = row.IsStar, Cursor = cursorPhase + row.ListKey,
    };
}
