using ImFunctions.Core.Groups;
using ImFunctions.Core.Push;
using ImFunctions.Core.Storage;

namespace ImFunctions.Core.Domain;

/// <summary>
/// Group conversations inside the message machinery: the same seq turns and conditional append, history limited to
/// what a member may see, reads on the member's own cursor, and list rows that take their activity from the group.
/// </summary>
public sealed partial class Messenger
{
    // Both stores implement the groups port beside the message port (one adapter per store).
    IGroupStore GroupStore => (IGroupStore)store;

    /// <summary>
    /// Appends a message to its conversation with the next free seq (gap-free, idempotent by id), exactly as a 1:1 send
    /// does. <paramref name="draft"/>.Seq is the caller's best guess of the head + 1.
    /// </summary>
    public async Task<(Message? Message, ImError? Error, bool IsRetry)> AppendInTurnAsync(Message draft, CancellationToken ct)
    {
        using var turn = await seqTurns.EnterAsync(draft.ConversationId, ct);
        if (turn.HeadSeq >= draft.Seq) draft = draft with { Seq = turn.HeadSeq + 1 };
        var appended = await AppendAsync(draft, ct);
        if (appended.Message is { } stored) turn.HeadSeq = Math.Max(turn.HeadSeq, stored.Seq);
        return appended;
    }

    /// <summary>The window clamped to what a member may read: up to their leave, and after their hidden history.</summary>
    static SeqWindow Visible(MemberRecord member, SeqWindow window)
    {
        var before = member.LeaveSeq is { } left ? Math.Min(window.BeforeSeq ?? long.MaxValue, left + 1) : window.BeforeSeq;
        var after = window.AfterSeq is { } a ? Math.Max(a, member.VisibleAfterSeq) : (long?)null;
        return new SeqWindow(after is null ? before : null, after);
    }

    static IReadOnlyList<Message> VisibleTo(MemberRecord member, IEnumerable<Message> messages) =>
        messages.Where(m => m.Seq > member.VisibleAfterSeq && (member.LeaveSeq is not { } left || m.Seq <= left)).ToList();

    async Task<(bool IsGroup, MemberRecord? Member)> GroupMemberAsync(User me, string conversationId, CancellationToken ct) =>
        GroupIds.FromConversation(conversationId) is { } groupId
            ? (true, await GroupStore.GetMemberAsync(groupId, me.Id, ct))
            : (false, null);

    async Task<IReadOnlyList<Message>> VisibleUpdatesAsync(User me, ConversationRow row, IReadOnlyList<Message> messages, CancellationToken ct) =>
        row.Type == ConversationTypes.Group && await GroupStore.GetMemberAsync(row.GroupId!, me.Id, ct) is { } member
            ? VisibleTo(member, messages)
            : messages;

    /// <summary>A group read moves the reader's own cursor (one write) and tells only the reader's devices.</summary>
    async Task<Result<ReadCursor>> GroupReadAsync(User me, string groupId, long? readSeq, CancellationToken ct)
    {
        var (memberTask, groupTask) = (GroupStore.GetMemberAsync(groupId, me.Id, ct), GroupStore.GetGroupAsync(groupId, ct));
        var (member, group) = (await memberTask, await groupTask);
        var conversationId = GroupIds.Conversation(groupId);
        if (member is null || group is null) return ImError.NotFound($"conversation_id: '{conversationId}' is not one of your conversations");
        var head = Math.Min(group.LastSeq, member.LeaveSeq ?? long.MaxValue);
        var upTo = Math.Min(readSeq ?? head, head);
        var moved = false;
        var updated = await GroupStore.UpdateMemberAsync(groupId, me.Id, member, m =>
        {
            if (m is null || upTo <= m.ReadSeq) return null;
            moved = true;
            return m with { ReadSeq = upTo };
        }, ct);
        var read = updated?.ReadSeq ?? member.ReadSeq;
        if (moved) pushes.ToUser(me.Id, PushEvents.Read(conversationId, me.Id, read));
        return new ReadCursor(conversationId, read, Math.Max(0, head - read));
    }

    async Task<IReadOnlyList<ReadCursor>> ReadAllGroupsAsync(User me, CancellationToken ct)
    {
        var rows = await GroupStore.ListGroupRowsAsync(me.Id, GroupDirectory.MaxGroupsPerUser, ct);
        var cursors = new List<ReadCursor>();
        foreach (var row in rows.Where(r => !r.Leave))
            if ((await GroupReadAsync(me, row.GroupId!, null, ct)).Match<ReadCursor?>(c => c, _ => null) is { } cursor) cursors.Add(cursor);
        return cursors;
    }

    /// <summary>
    /// One page of the list, group rows merged with single rows by activity. A group row's activity is its group's
    /// (one record per group, written by each send), never a per-member write: the user's group rows (one query) and
    /// their groups (one batched read) are merged with the single rows' page (one query); cost grows with the page
    /// and the user's number of groups, never with the groups' sizes.
    /// </summary>
    async Task<(IReadOnlyList<ConversationRow> Rows, IReadOnlyDictionary<string, Group> Groups)> ListWithGroupsAsync(string userId,
        ConversationPage page, CancellationToken ct)
    {
        var groupRows = await GroupStore.ListGroupRowsAsync(userId, GroupDirectory.MaxGroupsPerUser, ct);
        if (groupRows.Count == 0) return (await store.ListConversationsAsync(userId, page, ct), new Dictionary<string, Group>());

        var groups = (await GroupStore.GetGroupsAsync(groupRows.Select(r => r.GroupId!).ToList(), ct)).ToDictionary(g => g.Id);
        // Enough single rows to fill the page whatever the groups' places in it (group rows come back in this query
        // too, with stale times, and are replaced by their refreshed selves).
        var singles = await store.ListConversationsAsync(userId,
            new ConversationPage(page.Skip + page.Limit + groupRows.Count, 0, page.MaxUpdateTime), ct);
        var merged = singles.Where(r => r.Type != ConversationTypes.Group)
            .Concat(groupRows.Select(r => WithGroupActivity(r, groups.GetValueOrDefault(r.GroupId!)))
                .Where(r => r.UpdateTime < (page.MaxUpdateTime ?? long.MaxValue)))
            .OrderByDescending(r => r.UpdateTime).ThenBy(r => r.Id, StringComparer.Ordinal)
            .Skip(page.Skip).Take(page.Limit).ToList();
        return (merged, groups);
    }

    async Task<(IReadOnlyList<ConversationRow> Rows, IReadOnlyDictionary<string, Group> Groups)> OneRowAsync(string userId,
        string conversationId, CancellationToken ct)
    {
        var row = await store.GetConversationAsync(userId, conversationId, ct);
        if (row is null) return ([], new Dictionary<string, Group>());
        if (row.Type != ConversationTypes.Group) return ([row], new Dictionary<string, Group>());
        var group = await GroupStore.GetGroupAsync(row.GroupId!, ct);
        return ([WithGroupActivity(row, group)], group is null ? new Dictionary<string, Group>() : new() { [group.Id] = group });
    }

    async Task<IReadOnlyDictionary<string, Group>> GroupsOfAsync(IReadOnlyList<ConversationRow> rows, CancellationToken ct)
    {
        var ids = rows.Where(r => r.Type == ConversationTypes.Group).Select(r => r.GroupId!).Distinct().ToList();
        return ids.Count == 0 ? new Dictionary<string, Group>() : (await GroupStore.GetGroupsAsync(ids, ct)).ToDictionary(g => g.Id);
    }

    /// <summary>A current member's row moves with the group; a left one stays where the member left it.</summary>
    internal static ConversationRow WithGroupActivity(ConversationRow row, Group? group) =>
        group is null || row.Leave ? row : row with
        {
            UpdateTime = Math.Max(row.UpdateTime, group.UpdateTime),
            LastSeq = group.LastSeq,
            LastMsg = group.LastMsg,
            LastMsgNote = group.LastMsgNote,
            LastMsgCreateTime = group.LastMsgCreateTime,
        };

    /// <summary>A group row as listed: unread from the member's cursor (one point read per group row on the page).</summary>
    async Task<ConversationView> GroupViewAsync(ConversationRow row, IReadOnlyDictionary<string, Group> groups, char cursorPhase,
        CancellationToken ct)
    {
        var member = await GroupStore.GetMemberAsync(row.GroupId!, row.UserId, ct);
        var group = groups.GetValueOrDefault(row.GroupId!);
        var head = Math.Min(group?.LastSeq ?? 0, member?.LeaveSeq ?? long.MaxValue);
        var readSeq = Math.Min(member?.ReadSeq ?? head, head);
        return ConversationView.From(row with { LastSeq = head, ReadSeq = readSeq }, null, cursorPhase) with
        {
            GroupInfo = group is null ? null : GroupInfo.From(group),
            Leave = row.Leave,
            RemindMsgIds = GroupMentions.RemindMsgIds(group, member),
        };
    }
}
