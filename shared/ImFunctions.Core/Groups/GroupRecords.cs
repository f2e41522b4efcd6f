using System.Text.Json.Serialization;
using ImFunctions.Core.Domain;

namespace ImFunctions.Core.Groups;

public static class JoinOptions
{
    public const string NeedPermission = "needPermission", FreeAccess = "freeAccess", DisableApply = "disableApply";
    public static readonly string[] All = [NeedPermission, FreeAccess, DisableApply];
}

/// <summary>
/// A chat group (uni-im's uni-im-group) plus the head of its one message stream. The record is also where
/// membership changes are serialized: every change goes through an ETag-guarded replace of it, which is what keeps
/// <see cref="MemberCount"/> exact and the size cap held under concurrency (see <see cref="Pending"/>).
/// </summary>
public sealed record Group
{
    [JsonPropertyName("_id")] public required string Id { get; init; }
    /// <summary>The owner (uni-im's user_id on the group).</summary>
    public required string UserId { get; init; }
    public string Name { get; init; } = "";
    public string Introduction { get; init; } = "";
    public string Notification { get; init; } = "";
    public AvatarFile? AvatarFile { get; init; }
    public string JoinOption { get; init; } = JoinOptions.NeedPermission;
    public bool MuteAllMembers { get; init; }
    public bool HistoryVisible { get; init; } = true;
    public bool Dissolved { get; init; }
    public int MemberCount { get; init; }
    public long CreateTime { get; init; }
    /// <summary>The group's last activity (message or change): what orders its rows in members' lists.</summary>
    public long UpdateTime { get; init; }
    /// <summary>The highest seq known to be stored in <c>group_&lt;id&gt;</c>; max-merged after each append.</summary>
    public long LastSeq { get; init; }
    public string LastMsgNote { get; init; } = "";
    public long LastMsgCreateTime { get; init; }
    public Message? LastMsg { get; init; }
    /// <summary>
    /// Membership changes counted in <see cref="MemberCount"/> whose member records may not be written yet. A change
    /// is claimed here first (with the count), then applied to the member record, then cleared; a crash in between
    /// leaves the claim, and the next change of this group finishes it (the steps are idempotent).
    /// </summary>
    public IReadOnlyList<PendingChange> Pending { get; init; } = [];
    /// <summary>
    /// The newest messages that mention everyone (<c>__ALL</c>), oldest first, at most <see cref="GroupMentions.MaxAllMentions"/>:
    /// kept once here instead of on every member's record, and shown to each member above their read_seq.
    /// </summary>
    public IReadOnlyList<GroupMention> AllMentions { get; init; } = [];

    [JsonIgnore] public string? ETag { get; init; }

    public string ConversationId => GroupIds.Conversation(Id);
}

/// <summary>A message that mentions someone in a group, by its place in the stream.</summary>
public sealed record GroupMention(long Seq, string MsgId);

/// <param name="Join">true: becoming a member with <paramref name="Role"/>; false: leaving.</param>
public sealed record PendingChange(string UserId, bool Join, GroupRole Role, long Seq, long At);

/// <summary>One membership (uni-im-group-member), kept after leaving (LeaveSeq set) so the leaver can still read.</summary>
public sealed record MemberRecord
{
    public required string GroupId { get; init; }
    public required string UserId { get; init; }
    public GroupRole Role { get; init; } = GroupRole.Member;
    /// <summary>The group's seq when the member joined; with history hidden they read only what comes after it.</summary>
    public long JoinSeq { get; init; }
    public long? LeaveSeq { get; init; }
    public long? MuteUntil { get; init; }
    /// <summary>Everything up to this seq counts as read; unread = the group's last_seq minus this.</summary>
    public long ReadSeq { get; init; }
    /// <summary>Seqs at or below this are hidden from the member (0 when the group's history was visible on joining).</summary>
    public long VisibleAfterSeq { get; init; }
    /// <summary>Unseen messages that mention this member by uid (oldest first, bounded); written by the send that mentions.</summary>
    public IReadOnlyList<GroupMention> Mentions { get; init; } = [];
    /// <summary>The member cleared the group's all-mentions up to this seq (removeRemindMsgId), besides reading past them.</summary>
    public long AllMentionsSeenSeq { get; init; }
    public long CreateTime { get; init; }
    public long UpdateTime { get; init; }

    [JsonIgnore] public string? ETag { get; init; }
    [JsonIgnore] public bool IsCurrent => LeaveSeq is null;

    public GroupMember ToMember() => new(GroupId, UserId, Role, JoinSeq, LeaveSeq, MuteUntil, VisibleAfterSeq);
}

public static class JoinRequestStates
{
    public const int Pending = 0, Accepted = 100, Rejected = -100;
}

/// <summary>A join request (uni-im-group-join): one per user and group, re-opened when the user applies again.</summary>
public sealed record JoinRequest
{
    [JsonPropertyName("_id")] public required string Id { get; init; }
    public required string GroupId { get; init; }
    public required string UserId { get; init; }
    public string Message { get; init; } = "";
    public int State { get; init; }
    public string? HandledBy { get; init; }
    public long CreateTime { get; init; }
    public long UpdateTime { get; init; }

    [JsonIgnore] public string? ETag { get; init; }
}

public static class GroupIds
{
    public const string ConversationPrefix = "group_";
    public static string Conversation(string groupId) => ConversationPrefix + groupId;

    public static string? FromConversation(string conversationId) =>
        conversationId.StartsWith(ConversationPrefix, StringComparison.Ordinal) ? conversationId[ConversationPrefix.Length..] : null;

    /// <summary>A request's id names its group, so it can be found with a point read: "&lt;group_id&gt;.&lt;user_id&gt;".</summary>
    public static string JoinRequest(string groupId, string userId) => groupId + "." + userId;

    public static string? GroupOfRequest(string requestId) =>
        requestId.IndexOf('.') is > 0 and var dot ? requestId[..dot] : null;

    /// <summary>The Web PubSub group that carries a chat group's pushes.</summary>
    public static string PushGroup(string groupId) => Conversation(groupId);
}
