using ImFunctions.Core.Domain;
using ImFunctions.Core.Messages;

namespace ImFunctions.Core.Groups;

/// <summary>
/// Mentions in a group without an O(members) write: an <c>__ALL</c> is kept once on the group record, a mention by uid
/// on the mentioned member's record (at most <see cref="MessageComposer.MaxMentions"/> writes). A member's
/// remind_msg_ids are derived from both when their row is read.
/// </summary>
public static class GroupMentions
{
    /// <summary>All-mentions the group keeps: a member who has not read for a while is reminded of the newest few.</summary>
    public const int MaxAllMentions = 5;

    public static bool MentionsAll(Message message) => message.CallUid?.Contains(MessageComposer.MentionAll) == true;

    /// <summary>The uids a send writes a reminder for: everyone it names, except <c>__ALL</c> (kept on the group).</summary>
    public static IReadOnlyList<string> NamedUids(Message message) =>
        message.CallUid is { } called ? called.Where(u => u != MessageComposer.MentionAll && u != message.FromUid).ToList() : [];

    /// <summary>The group's all-mentions once <paramref name="message"/> is stored; the same list when it changes nothing.</summary>
    public static IReadOnlyList<GroupMention> RememberAll(IReadOnlyList<GroupMention> all, Message message)
    {
        if (!MentionsAll(message) || message.IsRevoke || all.Any(m => m.MsgId == message.Id)) return all;
        return Bounded(all.Append(new GroupMention(message.Seq, message.Id)), MaxAllMentions);
    }

    /// <summary>A member's reminders once <paramref name="message"/> mentions them; the same list when already there.</summary>
    public static IReadOnlyList<GroupMention> Remember(IReadOnlyList<GroupMention> mine, Message message) =>
        mine.Any(m => m.MsgId == message.Id) ? mine
            : Bounded(mine.Append(new GroupMention(message.Seq, message.Id)), Mentions.MaxRemindMsgIds);

    public static IReadOnlyList<GroupMention> Forget(IReadOnlyList<GroupMention> list, string messageId) =>
        list.Any(m => m.MsgId == messageId) ? list.Where(m => m.MsgId != messageId).ToList() : list;

    /// <summary>
    /// What a member's row shows as remind_msg_ids: their own mentions, and the group's all-mentions above what they
    /// have read or cleared, within what they may see; oldest first, the newest <see cref="Mentions.MaxRemindMsgIds"/>.
    /// </summary>
    public static string[] RemindMsgIds(Group? group, MemberRecord? member)
    {
        if (member is null) return [];
        var seen = Math.Max(Math.Max(member.ReadSeq, member.AllMentionsSeenSeq), member.VisibleAfterSeq);
        var upTo = member.LeaveSeq ?? long.MaxValue;
        var all = (group?.AllMentions ?? []).Where(m => m.Seq > seen && m.Seq <= upTo);
        return Bounded(member.Mentions.Concat(all).DistinctBy(m => m.MsgId), Mentions.MaxRemindMsgIds).Select(m => m.MsgId).ToArray();
    }

    /// <summary>
    /// A member's record once they cleared <paramref name="messageId"/>: dropped from their own mentions, or, for one of
    /// the group's all-mentions, their cleared-up-to seq moved past it. Null when nothing changes.
    /// </summary>
    public static MemberRecord? Cleared(MemberRecord member, Group? group, string messageId)
    {
        var mine = Forget(member.Mentions, messageId);
        var seen = group?.AllMentions.FirstOrDefault(m => m.MsgId == messageId) is { } all && all.Seq > member.AllMentionsSeenSeq
            && all.Seq > member.ReadSeq
            ? all.Seq : member.AllMentionsSeenSeq;
        return ReferenceEquals(mine, member.Mentions) && seen == member.AllMentionsSeenSeq
            ? null
            : member with { Mentions = mine, AllMentionsSeenSeq = seen };
    }

    static List<GroupMention> Bounded(IEnumerable<GroupMention> mentions, int max)
    {
        var ordered = mentions.OrderBy(m => m.Seq).ToList();
        return ordered.Count <= max ? ordered : ordered[^max..];
    }
}
