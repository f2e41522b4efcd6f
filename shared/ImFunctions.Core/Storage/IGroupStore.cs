using ImFunctions.Core.Domain;
using ImFunctions.Core.Groups;

namespace ImFunctions.Core.Storage;

/// <summary>
/// The groups port: a group record (ETag-guarded), its member records, join requests and blacklist, all keyed by
/// group (one Cosmos partition per group), plus the user's group rows in the conversations store. Primitives only:
/// the membership protocol that makes them consistent lives in <see cref="GroupDirectory"/>, so both stores run it.
/// </summary>
public interface IGroupStore
{
    /// <summary>Creates the group record; false when the id is taken.</summary>
    Task<bool> CreateGroupAsync(Group group, CancellationToken ct);
    Task<Group?> GetGroupAsync(string groupId, CancellationToken ct);
    /// <summary>The groups that exist among <paramref name="groupIds"/>, in one round trip.</summary>
    Task<IReadOnlyList<Group>> GetGroupsAsync(IReadOnlyCollection<string> groupIds, CancellationToken ct);
    /// <summary>Replaces the group if its ETag is still <paramref name="group"/>.ETag; null when someone changed it first.</summary>
    Task<Group?> ReplaceGroupAsync(Group group, CancellationToken ct);
    /// <summary>
    /// Optimistic read-modify-write of the group record, like the member records' (apply may run again; it returns null
    /// to leave the record as it is). Null when the group does not exist.
    /// </summary>
    Task<Group?> UpdateGroupAsync(string groupId, Group? known, Func<Group, Group?> apply, CancellationToken ct);

    Task<MemberRecord?> GetMemberAsync(string groupId, string userId, CancellationToken ct);
    /// <summary>The member records that exist among <paramref name="userIds"/> (current or past), in one round trip.</summary>
    Task<IReadOnlyList<MemberRecord>> GetMembersAsync(string groupId, IReadOnlyCollection<string> userIds, CancellationToken ct);
    /// <summary>Optimistic read-modify-write of one member record, like the conversation rows' (apply may run again).</summary>
    Task<MemberRecord?> UpdateMemberAsync(string groupId, string userId, MemberRecord? known,
        Func<MemberRecord?, MemberRecord?> apply, CancellationToken ct);
    /// <summary>Current members with user_id &gt; <paramref name="afterUserId"/>, by user_id (a keyset that concurrent joins cannot shift).</summary>
    Task<IReadOnlyList<MemberRecord>> ListMembersAsync(string groupId, string? afterUserId, int limit, CancellationToken ct);
    /// <summary>How many current members have read up to <paramref name="seq"/>, and up to <paramref name="listLimit"/> of them.</summary>
    Task<(int ReadCount, IReadOnlyList<string> Readers)> CountReadersAsync(string groupId, long seq, int listLimit, CancellationToken ct);

    Task<JoinRequest?> GetJoinRequestAsync(string groupId, string requestId, CancellationToken ct);
    /// <summary>Creates or ETag-replaces a request (ETag null = create); null when the precondition failed.</summary>
    Task<JoinRequest?> SaveJoinRequestAsync(JoinRequest request, CancellationToken ct);
    Task<IReadOnlyList<JoinRequest>> ListPendingJoinRequestsAsync(string groupId, int limit, CancellationToken ct);
    /// <summary>
    /// The join requests a user made, in any state and any group, by group id after <paramref name="afterGroupId"/>. It
    /// crosses groups (partitions on Cosmos): for rare jobs (export, account deletion), never a request's hot path.
    /// </summary>
    Task<IReadOnlyList<JoinRequest>> ListJoinRequestsOfUserAsync(string userId, string? afterGroupId, int limit, CancellationToken ct);

    Task SetBlacklistedAsync(string groupId, string userId, bool blacklisted, CancellationToken ct);
    Task<bool> IsBlacklistedAsync(string groupId, string userId, CancellationToken ct);

    /// <summary>The user's group conversation rows (type 2), current and left, up to <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<ConversationRow>> ListGroupRowsAsync(string userId, int limit, CancellationToken ct);
}
