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

    public Task<IReadOnlyList<GroupMember>> GetMembersAsync(string groupId, IReadOnlyCollection<string> uids, CancellationToken ct) =>
        Task.FromResult<IReadOnlyList<GroupMember>>(members.Where(m => m.GroupId == groupId && uids.Contains(m.UserId)).ToList());

    /// <summary>The fake keeps no reminders and no group record: single chats do not need them.</summary>
    public Task<int> ForgetMentionAsync(string groupId, IReadOnlyCollection<string> uids, string messageId, CancellationToken ct) => Task.FromResult(0);

    public Task<bool> ReflectMessageChangeAsync(ImFunctions.Core.Domain.Message changed, CancellationToken ct) => Task.FromResult(false);

    public Task<bool> ShareAGroupAsync(string uidA, string uidB, CancellationToken ct) =>
        Task.FromResult(members.Where(m => m.UserId == uidA && m.IsCurrent)
            .Any(a => members.Any(b => b.GroupId == a.GroupId && b.UserId == uidB && b.IsCurrent)));
}
