namespace ImFunctions.Core.Groups;

/// <summary>
/// TEMPORARY, until the groups feature is merged: it implements <see cref="IGroupMembership"/> and replaces this class
/// (delete this file and its registration in ImFunctionsServices at merge). Nobody is a member of any group.
/// </summary>
public sealed class NoGroupsYet : IGroupMembership
{
    public Task<GroupMember?> GetMemberAsync(string groupId, string uid, CancellationToken ct) => Task.FromResult<GroupMember?>(null);
    public Task<bool> ShareAGroupAsync(string uidA, string uidB, CancellationToken ct) => Task.FromResult(false);
}
