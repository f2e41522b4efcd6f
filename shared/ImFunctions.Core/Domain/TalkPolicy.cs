using ImFunctions.Core.Friends;
using ImFunctions.Core.Groups;
using ImFunctions.Core.Storage;

namespace ImFunctions.Core.Domain;

/// <summary>
/// Who may start a conversation with whom: blocks, uni-im's admin_uid and conversation_grade (SPEC §5, §10).
/// Replies inside an existing conversation never come here: they are always allowed (a block excepted, which the
/// sender's own row carries).
/// </summary>
public sealed class TalkPolicy(UniImOptions options, IFriendStore friends, IGroupMembership groups)
{
    public const string StaffRole = "staff";

    /// <summary>What a blocked user hears: no more than that they may not send here.</summary>
    public static readonly ImError BlockedByReceiver = ImError.NoPermission("to_uid: this user does not accept your messages.");

    public async Task<ImError?> CheckNewConversationAsync(User from, User to, string? chatSourceGroupId, CancellationToken ct)
    {
        if (await friends.IsBlockedAsync(blockerUid: to.Id, blockedUid: from.Id, ct)) return BlockedByReceiver;
        if (from.IsSuperAdmin) return null;
        var admins = options.AdminUids;
        var involvesAdmin = admins.Contains(from.Id) || admins.Contains(to.Id);

        switch (options.ConversationGrade)
        {
            case null when admins.Count > 0 && !involvesAdmin:
                return AdminOnly;
            case null or 0:
                return null;
            case 100:
                // Customer service, else friends or fellow group members (uni-im ≥ 1.4: admin_uid applies only here).
                if (involvesAdmin || await AreFriendsAsync(from, to, ct) || await groups.ShareAGroupAsync(from.Id, to.Id, ct)) return null;
                return admins.Count > 0 ? AdminOnly : ImError.NoPermission("conversation_grade 100: only customer service, friends or fellow group members may start a conversation.");
            case 200:
                if (await AreFriendsAsync(from, to, ct) || await groups.ShareAGroupAsync(from.Id, to.Id, ct)) return null;
                return ImError.NoPermission("conversation_grade 200: only friends or fellow group members may start a conversation.");
            case 300:
                if (from.Role.Contains(StaffRole) || to.Role.Contains(StaffRole) || await AreFriendsAsync(from, to, ct)) return null;
                if (chatSourceGroupId is not null && await IsMemberAdminPairAsync(chatSourceGroupId, from.Id, to.Id, ct)) return null;
                return ImError.NoPermission("conversation_grade 300: only friends, staff, or a group member and an admin of that group (chat_source.group_id) may start a conversation.");
            default:
                // UniImOptions refuses other grades at start; this only guards options built in code.
                return ImError.NoPermission($"conversation_grade {options.ConversationGrade} is not a known grade.");
        }
    }

    /// <summary>Whether <paramref name="blockerUid"/> has blocked <paramref name="blockedUid"/> (one point read).</summary>
    public Task<bool> IsBlockedAsync(string blockerUid, string blockedUid, CancellationToken ct) =>
        friends.IsBlockedAsync(blockerUid, blockedUid, ct);

    static readonly ImError AdminOnly = new(403, ErrorCodes.AdminOnly, "Only conversations with customer service (admin_uid) are allowed.");

    Task<bool> AreFriendsAsync(User from, User to, CancellationToken ct) => friends.AreFriendsAsync(from.Id, to.Id, ct);

    /// <summary>
    /// Grade 300's group rule, checked on the server (uni-im trusts any group where the target is an admin): both are
    /// current members of the group the chat was opened from, and one of them is its admin or owner.
    /// </summary>
    async Task<bool> IsMemberAdminPairAsync(string groupId, string fromUid, string toUid, CancellationToken ct)
    {
        var members = await Task.WhenAll(groups.GetMemberAsync(groupId, fromUid, ct), groups.GetMemberAsync(groupId, toUid, ct));
        if (members.Any(m => m is not { IsCurrent: true })) return false;
        return members.Any(m => m!.Role is GroupRole.Admin or GroupRole.Owner);
    }
}
