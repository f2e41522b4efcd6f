namespace ImFunctions.Core.Groups;

public enum GroupRole { Member = 1, Admin = 2, Owner = 3 }

/// <summary>A user's place in a group: their role, when they joined and left (by the group's seq), and any mute.</summary>
public sealed record GroupMember(string GroupId, string UserId, GroupRole Role, long JoinSeq, long? LeaveSeq, long? MuteUntil)
{
    public bool IsCurrent => LeaveSeq is null;
}

/// <summary>
/// What other features (talk rules, mentions, revoke, read receipts) need to know about groups, answered by the
/// groups feature. Costs: one point read per call; <see cref="ShareAGroupAsync"/> is bounded by the users' group counts.
/// </summary>
public interface IGroupMembership
{
    /// <summary>The user's membership record, current or past (LeaveSeq set); null when never a member.</summary>
    Task<GroupMember?> GetMemberAsync(string groupId, string uid, CancellationToken ct);

    /// <summary>Whether both users are current members of at least one group that is not dissolved.</summary>
    Task<bool> ShareAGroupAsync(string uidA, string uidB, CancellationToken ct);
}
