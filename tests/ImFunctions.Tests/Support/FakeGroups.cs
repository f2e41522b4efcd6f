using ImFunctions.Core.Groups;

namespace ImFunctions.Tests.Support;

/// <summary>Group membership as a test declares it, for rules that ask about groups before the groups feature is merged.</summary>
public sealed class FakeGroups : IGroupMembership
{
    readonly List<GroupMember> members = [];

    public FakeGroups With(string groupId, string uid, GroupRole role = GroupRole.Member, bool left = false)
    {
        members.Add(new GroupMember(groupId, uid, role, JoinSeq: 1, LeaveSeq: left ? 2 : null, MuteUntil: null));
        return this;
    }

    public Task<GroupMember?> GetMemberAsync(string groupId, string uid, CancellationToken ct) =>
        Task.FromResult(members.LastOrDefault(m => m.GroupId == groupId && m.UserId == uid));

    public Task<bool> ShareAGroupAsync(string uidA, string uidB, CancellationToken ct) =>
        Task.FromResult(members.Where(m => m.UserId == uidA && m.IsCurrent)
            .Any(a => members.Any(b => b.GroupId == a.GroupId && b.UserId == uidB && b.IsCurrent)));
}
