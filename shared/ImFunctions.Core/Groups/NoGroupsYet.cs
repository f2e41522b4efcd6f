namespace ImFunctions.Core.Groups;

// Until the groups feature lands: no groups exist. Replaced at merge.
public sealed class NoGroupsYet : IGroupMembership { public Task<GroupMember?> GetMemberAsync(string groupId, string uid, CancellationToken ct) => Task.FromResult<GroupMember?>(null); public Task<bool> ShareAGroupAsync(string uidA, string uidB, CancellationToken ct) => Task.FromResult(false); }
