using ImFunctions.Core.Domain;
using ImFunctions.Core.Storage;

namespace ImFunctions.Core.Groups;

public enum MembershipRefusal { NoGroup, Dissolved, AlreadyMember, NotMember, OverCap }

/// <summary>
/// Who is in which group, kept consistent on a store without transactions. A membership change is three idempotent
/// steps: (1) claim it on the group record with one ETag-guarded replace that also moves member_count and checks
/// the cap, (2) write the member records and the members' conversation rows, (3) clear the claim. Concurrent
/// changes serialize on step 1, so the cap holds and the count is exact; a crash after step 1 leaves a claim that
/// the next change of the group finishes. Both stores run this code.
/// </summary>
public sealed partial class GroupDirectory(IGroupStore store, IImStore rows, TimeProvider clock) : IGroupMembership
{
    /// <summary>A claim older than this is taken for a crashed change and finished by whoever comes next.</summary>
    public static readonly TimeSpan StaleClaim = TimeSpan.FromSeconds(30);
    const int MaxAttempts = 200;
    /// <summary>How many groups one user's lists and checks look at (getMyGroups pages, conversation list merge).</summary>
    public const int MaxGroupsPerUser = 1000;

    /// <summary>How many push groups a client token names (webpubsub.group claims): the URL stays a few KB.</summary>
    public const int MaxTokenGroups = 100;

    long Now => clock.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>The push groups a new connection of this user joins at once: their current groups, up to <see cref="MaxTokenGroups"/>.</summary>
    public async Task<IReadOnlyList<string>> PushGroupsAsync(string userId, CancellationToken ct) =>
        (await store.ListGroupRowsAsync(userId, MaxGroupsPerUser, ct)).Where(r => !r.Leave)
        .OrderByDescending(r => r.UpdateTime).Take(MaxTokenGroups).Select(r => GroupIds.PushGroup(r.GroupId!)).ToList();

    public async Task<GroupMember?> GetMemberAsync(string groupId, string uid, CancellationToken ct) =>
        (await store.GetMemberAsync(groupId, uid, ct))?.ToMember();

    public async Task<IReadOnlyList<GroupMember>> GetMembersAsync(string groupId, IReadOnlyCollection<string> uids, CancellationToken ct) =>
        uids.Count == 0 ? [] : (await store.GetMembersAsync(groupId, uids, ct)).Select(m => m.ToMember()).ToList();

    public async Task<bool> ShareAGroupAsync(string uidA, string uidB, CancellationToken ct)
    {
        var (a, b) = (await store.ListGroupRowsAsync(uidA, MaxGroupsPerUser, ct), await store.ListGroupRowsAsync(uidB, MaxGroupsPerUser, ct));
        var shared = a.Where(r => !r.Leave).Select(r => r.GroupId!).Intersect(b.Where(r => !r.Leave).Select(r => r.GroupId!)).ToList();
        if (shared.Count == 0) return false;
        return (await store.GetGroupsAsync(shared, ct)).Any(g => !g.Dissolved);
    }

    /// <summary>
    /// Adds users with the given roles, all or none: refused when one of them is a member already (or being added
    /// right now), when the group would pass <paramref name="cap"/>, or when it is dissolved.
    /// </summary>
    public Task<(Group? Group, MembershipRefusal? Refusal, IReadOnlyList<string> Culprits)> AddAsync(string groupId,
        IReadOnlyList<(string UserId, GroupRole Role)> joiners, int cap, CancellationToken ct) =>
        ChangeAsync(groupId, joiners.Select(j => j.UserId).ToList(), (group, members) =>
        {
            var current = members.Where(m => m.IsCurrent).Select(m => m.UserId).ToList();
            if (current.Count > 0) return (MembershipRefusal.AlreadyMember, current);
            if (group.MemberCount + joiners.Count > cap) return (MembershipRefusal.OverCap, []);
            return null;
        }, group => joiners.Select(j => new PendingChange(j.UserId, true, j.Role, group.LastSeq, Now)).ToList(), ct);

    /// <summary>Ends a user's membership (quit or expel); refused when they are not a current member.</summary>
    public Task<(Group? Group, MembershipRefusal? Refusal, IReadOnlyList<string> Culprits)> RemoveAsync(string groupId, string userId,
        CancellationToken ct) =>
        ChangeAsync(groupId, [userId], (_, members) =>
            members.Any(m => m.IsCurrent) ? null : (MembershipRefusal.NotMember, [userId]),
            group => [new PendingChange(userId, false, GroupRole.Member, group.LastSeq, Now)], ct);

    async Task<(Group? Group, MembershipRefusal? Refusal, IReadOnlyList<string> Culprits)> ChangeAsync(string groupId,
        IReadOnlyList<string> userIds, Func<Group, IReadOnlyList<MemberRecord>, (MembershipRefusal, IReadOnlyList<string>)?> check,
        Func<Group, IReadOnlyList<PendingChange>> claims, CancellationToken ct)
    {
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var group = await store.GetGroupAsync(groupId, ct);
            if (group is null) return (null, MembershipRefusal.NoGroup, []);
            if (group.Dissolved) return (null, MembershipRefusal.Dissolved, []);
            group = await FinishStaleClaimsAsync(group, ct);

            // A user whose change is in flight counts as already changed: the second of two racing adders hears
            // "already a member", the second of quit and expel "not a member".
            var inFlight = group.Pending.Where(p => userIds.Contains(p.UserId)).ToList();
            if (inFlight.Count > 0)
                return (null, inFlight[0].Join ? MembershipRefusal.AlreadyMember : MembershipRefusal.NotMember,
                    inFlight.Select(p => p.UserId).ToList());
            var members = await store.GetMembersAsync(groupId, userIds, ct);
            if (check(group, members) is { } refused) return (null, refused.Item1, refused.Item2);

            var changes = claims(group);
            var claimed = await store.ReplaceGroupAsync(group with
            {
                MemberCount = group.MemberCount + changes.Sum(c => c.Join ? 1 : -1),
                Pending = [.. group.Pending, .. changes],
                UpdateTime = Math.Max(group.UpdateTime, Now),
            }, ct);
            if (claimed is null) continue;   // another change came first: look again
            // Claimed, so decided: a retry would hear "already changed" and leave the records to the next change.
            ct = Messenger.AfterStored;

            await Task.WhenAll(changes.Select(c => ApplyAsync(claimed, c, ct)));
            return (await ClearClaimsAsync(claimed, changes, ct), null, []);
        }
        throw new DependencyUnavailableException("group store (membership contention)");
    }

    /// <summary>Step 2: the member record and the member's conversation row. Idempotent, so a repair may run it again.</summary>
    async Task ApplyAsync(Group group, PendingChange change, CancellationToken ct)
    {
        var now = Now;
        await store.UpdateMemberAsync(group.Id, change.UserId, null, m => change.Join
            ? m is { IsCurrent: true } ? null : new MemberRecord
            {
                GroupId = group.Id,
                UserId = change.UserId,
                Role = change.Role,
                JoinSeq = change.Seq,
                ReadSeq = change.Seq,
                VisibleAfterSeq = group.HistoryVisible ? 0 : change.Seq,
                CreateTime = m?.CreateTime ?? now,
                UpdateTime = now,
                ETag = m?.ETag,
            }
            : m is { IsCurrent: true } ? m with { LeaveSeq = Math.Max(change.Seq, m.JoinSeq), UpdateTime = now } : null, ct);

        await rows.UpdateConversationAsync(change.UserId, group.ConversationId, null, row =>
        {
            if (row is not null && row.Leave == !change.Join) return null;
            return (row ?? new ConversationRow
            {
                Id = group.ConversationId,
                Type = ConversationTypes.Group,
                UserId = change.UserId,
                GroupId = group.Id,
                CreateTime = now,
            }) with { Leave = !change.Join, UpdateTime = Math.Max(row?.UpdateTime ?? 0, now) };
        }, ct);
    }

    /// <summary>Step 3: drops the given claims from the group record, however often it changed meanwhile.</summary>
    async Task<Group> ClearClaimsAsync(Group group, IReadOnlyList<PendingChange> done, CancellationToken ct)
    {
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var remaining = group.Pending.Where(p => !done.Contains(p)).ToList();
            if (remaining.Count == group.Pending.Count) return group;
            if (await store.ReplaceGroupAsync(group with { Pending = remaining }, ct) is { } cleared) return cleared;
            group = await store.GetGroupAsync(group.Id, ct) ?? throw new InvalidOperationException($"group {group.Id} vanished");
        }
        throw new DependencyUnavailableException("group store (membership contention)");
    }

    async Task<Group> FinishStaleClaimsAsync(Group group, CancellationToken ct)
    {
        var stale = group.Pending.Where(p => Now - p.At > StaleClaim.TotalMilliseconds).ToList();
        if (stale.Count == 0) return group;
        foreach (var change in stale) await ApplyAsync(group, change, ct);
        return await ClearClaimsAsync(group, stale, ct);
    }

    /// <summary>Changes the group's own fields (info, owner, dissolved) with an ETag-guarded replace; null when it does not exist.</summary>
    public async Task<Group?> UpdateGroupAsync(string groupId, Func<Group, Group> change, CancellationToken ct)
    {
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var group = await store.GetGroupAsync(groupId, ct);
            if (group is null) return null;
            if (await store.ReplaceGroupAsync(change(group) with { UpdateTime = Math.Max(group.UpdateTime, Now) }, ct) is { } next)
                return next;
        }
        throw new DependencyUnavailableException("group store (contention)");
    }
}
