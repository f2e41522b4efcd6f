using ImFunctions.Core.Domain;

namespace ImFunctions.Core.Groups;

public enum GroupRole { Member = 1, Admin = 2, Owner = 3 }

/// <summary>A user's place in a group: their role, when they joined and left (by the group's seq), and any mute.</summary>
/// <param name="VisibleAfterSeq">Seqs at or below it are hidden from the member (history was not visible when they joined).</param>
public sealed record GroupMember(string GroupId, string UserId, GroupRole Role, long JoinSeq, long? LeaveSeq, long? MuteUntil,
    long VisibleAfterSeq = 0)
{
    public bool IsCurrent => LeaveSeq is null;

    /// <summary>Whether the member may read the message at <paramref name="seq"/>: after their hidden history, up to their leave.</summary>
    public bool CanSee(long seq) => seq > VisibleAfterSeq && seq <= (LeaveSeq ?? long.MaxValue);
}

/// <summary>
/// What other features (talk rules, mentions, revoke, read receipts) need to know about groups, answered by the
/// groups feature. Costs: one point read per call unless said otherwise; <see cref="ShareAGroupAsync"/> is bounded
/// by the users' group counts.
/// </summary>
public interface IGroupMembership
{
    /// <summary>The user's membership record, current or past (LeaveSeq set); null when never a member.</summary>
    Task<GroupMember?> GetMemberAsync(string groupId, string uid, CancellationToken ct);

    /// <summary>The membership records that exist among <paramref name="uids"/>, current or past: one round trip.</summary>
    Task<IReadOnlyList<GroupMember>> GetMembersAsync(string groupId, IReadOnlyCollection<string> uids, CancellationToken ct);

    /// <summary>Whether both users are current members of at least one group that is not dissolved.</summary>
    Task<bool> ShareAGroupAsync(string uidA, string uidB, CancellationToken ct);

    /// <summary>
    /// Drops a message from these members' reminders (the ones a send wrote, and the group's all-mentions as far as each
    /// of them is concerned). Answers how many members' reminders changed. One group read and one write per uid.
    /// </summary>
    Task<int> ForgetMentionAsync(string groupId, IReadOnlyCollection<string> uids, string messageId, CancellationToken ct);

    /// <summary>
    /// A revoked or edited message reaches what the group record keeps of it: last_msg and last_msg_note when it is the
    /// group's last message, and a revoked all-mention is dropped. True when the record changed. One read, at most one write.
    /// </summary>
    Task<bool> ReflectMessageChangeAsync(Message changed, CancellationToken ct);
}
