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
    IConversationListStore ListStore => (IConversationListStore)store;

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

    /// <summary>
    /// A group read moves the reader's own cursor (one write) and tells only the reader's devices. The caller's row
    /// mirrors the cursor, so lists need no member read for a group read up to its head, and drops a mark-as-unread.
    /// </summary>
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
        // Read: a retry would find the member's cursor moved and never tell the other devices.
        if (moved) ct = AfterStored;
        await store.UpdateConversationAsync(me.Id, conversationId, null, row =>
        {
            if (row is null || (row.ReadSeq >= read && !row.MarkedUnread)) return null;
            moved |= row.MarkedUnread;
            return row with { ReadSeq = Math.Max(row.ReadSeq, read), MarkedUnread = false };
        }, ct);
        if (moved) pushes.ToUser(me.Id, PushEvents.Read(conversationId, me.Id, read));
        return new ReadCursor(conversationId, read, Math.Max(0, head - read));
    }

    /// <summary>clearUnreadCount for all, group part: only the group rows with something unread (left ones too) are read.</summary>
    async Task<IReadOnlyList<ReadCursor>> ReadAllGroupsAsync(User me, CancellationToken ct)
    {
        var groupRows = await GroupRowsAsync(me.Id, ConversationFilter.None, ct);
        var cursors = new List<ReadCursor>();
        foreach (var row in (await SettleAsync(groupRows.Rows, groupRows.Groups, ct)).Where(r => r.UnreadCount > 0))
            if ((await GroupReadAsync(me, row.GroupId!, null, ct)).Match<ReadCursor?>(c => c, _ => null) is { } cursor) cursors.Add(cursor);
        return cursors;
    }

    /// <summary>
    /// The user's group rows (one query) at their groups' activity (one batched read of the groups), for one list or
    /// badge request. A group's messages never touch its members' rows, so these are the rows' only source of order.
    /// </summary>
    public async Task<GroupRows> GroupRowsAsync(string userId, ConversationFilter filter, CancellationToken ct)
    {
        if (filter.HasFlag(ConversationFilter.Single)) return GroupRows.None;
        var rows = await GroupStore.ListGroupRowsAsync(userId, GroupDirectory.MaxGroupsPerUser, ct);
        if (rows.Count == 0) return GroupRows.None;
        var groups = await GroupsOfAsync(rows, ct);
        return new GroupRows(rows.Select(r => WithGroupActivity(r, groups.GetValueOrDefault(r.GroupId!))).ToList(), groups);
    }

    /// <summary>
    /// One page of getConversationList in the list's order (<see cref="ConversationRow.ListKey"/> descending): single
    /// rows from the list store, which filters them, merged with <paramref name="groupRows"/>, filtered here the same
    /// way. With g matching group rows, a page needs at most g + limit single rows, whatever its skip; member records
    /// are read for the group rows on the page (for the unread filter: all matching ones) whose group moved past the
    /// row's mirrored read cursor. Cost grows with the page and the user's number of groups, never with group sizes.
    /// </summary>
    public async Task<IReadOnlyList<ConversationView>> ListAsync(string userId, ConversationQuery query, GroupRows groupRows,
        CancellationToken ct, char cursorPhase = ConversationView.AllRows)
    {
        var filter = query.Filter;
        IReadOnlyList<ConversationRow> candidates = groupRows.Rows.Where(query.Admits).ToList();
        if (filter.HasFlag(ConversationFilter.Unread))
            candidates = (await SettleAsync(candidates, groupRows.Groups, ct)).Where(r => r.UnreadCount > 0).ToList();
        // A group row's reminders live on its member record and group (GroupMentions), never on the row.
        if (filter.HasFlag(ConversationFilter.HasRemind))
            candidates = (await SettleAsync(candidates, groupRows.Groups, ct, reminders: true)).Where(r => r.RemindMsgIds is { Length: > 0 }).ToList();

        // Rows before position skip hold at least skip - g single rows: start the single rows' query there.
        var singleSkip = Math.Max(0, query.Skip - candidates.Count);
        var singles = filter.HasFlag(ConversationFilter.Group) ? [] : await ListStore.QueryConversationsAsync(userId,
            query with { Filter = filter | ConversationFilter.Single, Skip = singleSkip, Limit = query.Skip - singleSkip + query.Limit }, ct);
        if (singleSkip > 0 && singles.Count == 0) return [];   // fewer than skip rows in all
        // Group rows above the first single row fetched sit among the single rows skipped, before this page.
        var first = singleSkip > 0 ? singles[0].ListKey : null;
        var above = first is null ? 0 : candidates.Count(r => string.CompareOrdinal(r.ListKey, first) > 0);
        var page = singles.Concat(first is null ? candidates : candidates.Where(r => string.CompareOrdinal(r.ListKey, first) < 0))
            .OrderByDescending(r => r.ListKey, StringComparer.Ordinal)
            .Skip(query.Skip - singleSkip - above).Take(query.Limit).ToList();
        var settled = await SettleAsync(page, groupRows.Groups, ct, reminders: true);
        return await SettledViewsAsync(settled, groupRows.Groups, cursorPhase, ct);
    }

    /// <summary>
    /// The badge's group part: derived unread of the group rows that are current, not muted and not hidden. Member
    /// records are read only for groups that moved past the row's mirrored read cursor (what the user has not read).
    /// </summary>
    public async Task<IReadOnlyList<(string ConversationId, long Unread)>> GroupUnreadAsync(string userId, CancellationToken ct)
    {
        var groupRows = await GroupRowsAsync(userId, ConversationFilter.None, ct);
        var counted = groupRows.Rows.Where(r => !r.Leave && !r.Mute && !r.Hidden).ToList();
        return (await SettleAsync(counted, groupRows.Groups, ct)).Where(r => r.UnreadCount > 0).Select(r => (r.Id, r.UnreadCount)).ToList();
    }

    /// <summary>setConversation's hidden: a group row remembers its group's head then (null for other conversations).</summary>
    public async Task<long?> GroupHeadAsync(string conversationId, CancellationToken ct) =>
        GroupIds.FromConversation(conversationId) is { } groupId ? (await GroupStore.GetGroupAsync(groupId, ct))?.LastSeq ?? 0 : null;

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

    /// <summary>
    /// A current member's row moves with the group, and a row hidden at the group's head comes back once the head
    /// passes it (the group's next message); a left one stays where and as the member left it.
    /// </summary>
    internal static ConversationRow WithGroupActivity(ConversationRow row, Group? group) =>
        group is null || row.Leave ? row : row with
        {
            UpdateTime = Math.Max(row.UpdateTime, group.UpdateTime),
            LastSeq = group.LastSeq,
            LastMsg = group.LastMsg,
            LastMsgNote = group.LastMsgNote,
            LastMsgCreateTime = group.LastMsgCreateTime,
            Hidden = row.Hidden && group.LastSeq <= (row.HiddenSeq ?? 0),
        };

    /// <summary>
    /// Group rows with their unread derived: last_seq = the group's head capped at the member's leave, read_seq = the
    /// member's cursor. Without <paramref name="reminders"/>, a row whose mirrored cursor already reaches the head needs
    /// no read of the member record (the badge, the unread filter); rows shown on a page read it for the member's
    /// reminders (mentions by uid stay after reading, so the cursor cannot tell).
    /// </summary>
    async Task<IReadOnlyList<ConversationRow>> SettleAsync(IReadOnlyList<ConversationRow> rows, IReadOnlyDictionary<string, Group> groups,
        CancellationToken ct, bool reminders = false) =>
        await Task.WhenAll(rows.Select(async row =>
        {
            if (row.Type != ConversationTypes.Group) return row;
            var group = groups.GetValueOrDefault(row.GroupId!);
            var groupHead = group?.LastSeq ?? 0;
            if (!reminders && row.ReadSeq >= groupHead) return row with { LastSeq = groupHead, ReadSeq = groupHead };
            var member = await GroupStore.GetMemberAsync(row.GroupId!, row.UserId, ct);
            var head = Math.Min(groupHead, member?.LeaveSeq ?? long.MaxValue);
            return row with
            {
                LastSeq = head,
                ReadSeq = Math.Min(member?.ReadSeq ?? head, head),
                RemindMsgIds = reminders ? GroupMentions.RemindMsgIds(group, member) : row.RemindMsgIds,
            };
        }));

    static ConversationView GroupView(ConversationRow settled, IReadOnlyDictionary<string, Group> groups, char cursorPhase) =>
        ConversationView.From(settled, null, cursorPhase) with
        {
            GroupInfo = groups.GetValueOrDefault(settled.GroupId!) is { } group ? GroupInfo.From(group) : null,
            Leave = settled.Leave,
        };
}

/// <summary>The user's group rows at their groups' activity, and those groups: read once per list or badge request.</summary>
public sealed record GroupRows(IReadOnlyList<ConversationRow> Rows, IReadOnlyDictionary<string, Group> Groups)
{
    public static readonly GroupRows None = new([], new Dictionary<string, Group>());
}
