using System.Text.Json.Serialization;
using ImFunctions.Core.Domain;

namespace ImFunctions.Core.Groups;

/// <summary>A group as clients see it (getGroupInfo, group_info in the conversation list): no claims, no ETag.</summary>
public sealed record GroupInfo(
    [property: JsonPropertyName("_id")] string Id, string UserId, string Name, string Introduction, string Notification,
    AvatarFile? AvatarFile, string JoinOption, bool MuteAllMembers, bool HistoryVisible, bool Dissolved, int MemberCount,
    long CreateTime, long UpdateTime)
{
    public static GroupInfo From(Group g) => new(g.Id, g.UserId, g.Name, g.Introduction, g.Notification, g.AvatarFile,
        g.JoinOption, g.MuteAllMembers, g.HistoryVisible, g.Dissolved, g.MemberCount, g.CreateTime, g.UpdateTime);
}

/// <summary>A member as getGroupMembers returns it: the membership and the user's public profile.</summary>
public sealed record GroupMemberView(string GroupId, string UserId, string Role, long JoinSeq, long? MuteUntil, long CreateTime,
    PublicProfile? UserInfo);

public static class GroupRoles
{
    public static string Wire(GroupRole role) => role switch
    {
        GroupRole.Owner => "owner",
        GroupRole.Admin => "admin",
        _ => "member",
    };
}
