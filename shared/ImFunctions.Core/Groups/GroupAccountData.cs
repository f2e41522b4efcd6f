using System.Text.Json;
using ImFunctions.Core.Accounts;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Storage;

namespace ImFunctions.Core.Groups;

/// <summary>
/// deleteAccount's groups step: the user leaves every group they are in as <c>quitGroup</c> would (push group left,
/// <c>group-exit</c> announced, <c>group.member_left</c> published). A group they own is first handed over to its
/// longest-standing admin, else its longest-standing member (earliest join seq, then uid); when nobody
/// else is left it is dissolved, so no group is ever without an owner. Their join requests are closed and their text
/// blanked. Every part looks at the store as it is now, so a retry after a crash finishes what is left.
/// </summary>
public sealed class GroupAccountDeletion(IGroupStore store, GroupDirectory directory, GroupManager manager, TimeProvider clock)
    : IAccountDeletionStep
{
    const int PageSize = 100;
    const int MemberPageSize = 500;

    public async Task RunAsync(User user, CancellationToken ct)
    {
        foreach (var row in await store.ListGroupRowsAsync(user.Id, GroupDirectory.MaxGroupsPerUser, ct))
            await LeaveAsync(user, row.GroupId!, ct);
        await CloseJoinRequestsAsync(user.Id, ct);
    }

    async Task LeaveAsync(User user, string groupId, CancellationToken ct)
    {
        var group = await store.GetGroupAsync(groupId, ct);
        if (group is null) return;
        await EraseHeadAsync(group, user.Id, ct);
        // A dissolved group's membership is frozen (history stays readable); there is nothing to leave.
        if (group.Dissolved) return;
        var member = await store.GetMemberAsync(groupId, user.Id, ct);
        if (member is not { IsCurrent: true }) return;
        if ((member.Role == GroupRole.Owner || group.UserId == user.Id) && !await HandOverAsync(user, group, ct)) return;

        var quit = await manager.QuitAsync(user, groupId, ct);
        if (quit.Error is { Status: not 404 } refused && (await store.GetGroupAsync(groupId, ct))?.Dissolved != true)
            throw new InvalidOperationException($"could not leave group {groupId}: {refused.Message}");
    }

    /// <summary>Gives the group a new owner before the user quits; false when nobody is left and it was dissolved.</summary>
    async Task<bool> HandOverAsync(User user, Group group, CancellationToken ct)
    {
        var successor = await SuccessorAsync(group, user.Id, ct);
        if (successor is null)
        {
            await manager.DissolveAsync(user, group.Id, ct);
            return false;
        }
        if (successor.Role != GroupRole.Owner)
        {
            var transferred = await manager.TransferOwnerAsync(user, group.Id, successor.UserId, ct);
            if (transferred.Error is { } refused) throw new InvalidOperationException($"could not hand group {group.Id} over: {refused.Message}");
            return true;
        }
        // A transfer that stopped half-way made the successor an owner already: finish it (group record, then the user).
        await directory.UpdateGroupAsync(group.Id, g => g.UserId == user.Id ? g with { UserId = successor.UserId } : g, ct);
        await store.UpdateMemberAsync(group.Id, user.Id, null, m => m is { IsCurrent: true, Role: GroupRole.Owner } ? m with { Role = GroupRole.Admin } : null, ct);
        return true;
    }

    /// <summary>Another owner (a half-finished transfer's), else the longest-standing admin, else member; null when alone.</summary>
    async Task<MemberRecord?> SuccessorAsync(Group group, string uid, CancellationToken ct)
    {
        var leaving = group.Pending.Where(p => !p.Join).Select(p => p.UserId).ToHashSet();
        MemberRecord? best = null;
        for (string? after = null; ;)
        {
            var page = await store.ListMembersAsync(group.Id, after, MemberPageSize, ct);
            foreach (var m in page.Where(m => m.UserId != uid && !leaving.Contains(m.UserId)))
                if (best is null || Outranks(m, best)) best = m;
            if (page.Count < MemberPageSize) return best;
            after = page[^1].UserId;
        }
    }

    // Seniority is the join seq of the current membership: every join is announced, so separate joins never share one.
    // Members added together tie, and the uid decides (their create_time is whichever write came first, and a
    // rejoin keeps the first one's).
    static bool Outranks(MemberRecord a, MemberRecord b) =>
        a.Role != b.Role ? a.Role > b.Role
        : a.JoinSeq != b.JoinSeq ? a.JoinSeq < b.JoinSeq
        : string.CompareOrdinal(a.UserId, b.UserId) < 0;

    /// <summary>The group's own copy of its last message, when it is the user's (the group record is not a row step 2 erases).</summary>
    async Task EraseHeadAsync(Group group, string uid, CancellationToken ct)
    {
        for (var attempt = 0; attempt < 10 && group is { LastMsg: { } last } && last.FromUid == uid && !AccountDeletion.IsErased(last); attempt++)
        {
            var erased = AccountDeletion.Erase(last, clock.GetUtcNow().ToUnixTimeMilliseconds());
            if (await store.ReplaceGroupAsync(group with { LastMsg = erased, LastMsgNote = AccountDeletion.ErasedNote }, ct) is not null) return;
            group = (await store.GetGroupAsync(group.Id, ct))!;
        }
    }

    /// <summary>Pending requests are closed (rejected by "system"), so nobody can accept a deleted user; all lose their text.</summary>
    async Task CloseJoinRequestsAsync(string uid, CancellationToken ct)
    {
        for (string? after = null; ;)
        {
            var page = await store.ListJoinRequestsOfUserAsync(uid, after, PageSize, ct);
            foreach (var request in page)
                for (var current = request; current is not null && (current.State == JoinRequestStates.Pending || current.Message.Length > 0);)
                {
                    var closed = current with
                    {
                        State = current.State == JoinRequestStates.Pending ? JoinRequestStates.Rejected : current.State,
                        HandledBy = current.State == JoinRequestStates.Pending ? GroupChat.SystemUid : current.HandledBy,
                        Message = "",
                        UpdateTime = clock.GetUtcNow().ToUnixTimeMilliseconds(),
                    };
                    if (await store.SaveJoinRequestAsync(closed, ct) is not null) break;
                    current = await store.GetJoinRequestAsync(current.GroupId, current.Id, ct);   // handled meanwhile: look again
                }
            if (page.Count < PageSize) return;
            after = page[^1].GroupId;
        }
    }
}

/// <summary>
/// exportMyData's <c>groups</c>: every group the user is or was in (their role, join and leave seq), and the join
/// requests they made. Memberships follow the user's group rows, which the groups feature bounds per user
/// (<see cref="GroupDirectory.MaxGroupsPerUser"/>); both lists are read and written a page at a time.
/// </summary>
public sealed class GroupAccountExport(IGroupStore store) : IAccountExportSection
{
    const int PageSize = 100;

    public string Name => "groups";

    public async Task WriteAsync(Utf8JsonWriter json, User user, CancellationToken ct)
    {
        json.WriteStartObject();
        json.WriteStartArray("memberships");
        var rows = await store.ListGroupRowsAsync(user.Id, GroupDirectory.MaxGroupsPerUser, ct);
        foreach (var chunk in rows.Select(r => r.GroupId!).Chunk(PageSize))
        {
            var groups = (await store.GetGroupsAsync(chunk, ct)).ToDictionary(g => g.Id);
            var members = await Task.WhenAll(chunk.Select(g => store.GetMemberAsync(g, user.Id, ct)));
            foreach (var member in members.OfType<MemberRecord>())
            {
                var group = groups.GetValueOrDefault(member.GroupId);
                JsonSerializer.Serialize(json, new
                {
                    group_id = member.GroupId, name = group?.Name, role = GroupRoles.Wire(member.Role), join_seq = member.JoinSeq,
                    leave_seq = member.LeaveSeq, mute_until = member.MuteUntil, create_time = member.CreateTime,
                    update_time = member.UpdateTime, dissolved = group?.Dissolved ?? false,
                }, ImJson.Options);
            }
            await json.FlushAsync(ct);
        }
        json.WriteEndArray();

        json.WriteStartArray("join_requests");
        for (string? after = null; ;)
        {
            var page = await store.ListJoinRequestsOfUserAsync(user.Id, after, PageSize, ct);
            foreach (var r in page)
                JsonSerializer.Serialize(json, new
                {
                    _id = r.Id, group_id = r.GroupId, message = r.Message, state = r.State, create_time = r.CreateTime, update_time = r.UpdateTime,
                }, ImJson.Options);
            await json.FlushAsync(ct);
            if (page.Count < PageSize) break;
            after = page[^1].GroupId;
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }
}
