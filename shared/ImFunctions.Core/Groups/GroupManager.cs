using ImFunctions.Core.Domain;
using ImFunctions.Core.Integrations;
using ImFunctions.Core.Push;
using ImFunctions.Core.Storage;
using Microsoft.Extensions.Logging;

namespace ImFunctions.Core.Groups;

public sealed record GroupProfile(string? Name, string? Introduction, AvatarFile? AvatarFile, string? JoinOption);

public sealed record GroupChanges(string? Name, AvatarFile? AvatarFile, string? Introduction, string? Notification, string? JoinOption,
    bool? MuteAllMembers, bool? HistoryVisible);

public sealed record CreatedOrAdded(string GroupId, IReadOnlyList<string> Added);

/// <summary>
/// uni-im's group methods with rights that hold: every call checks the caller's role on the server (owner &gt; admin
/// &gt; member; the app role <c>uni-im-admin</c> acts on any group), changes the store through the directory, mirrors
/// membership to the push service before answering, then announces the change as a system message.
/// </summary>
public sealed class GroupManager(IGroupStore store, GroupDirectory directory, GroupChat chat, UserDirectory users,
    IPushGateway push, PushDispatcher pushes, IImEvents events, GroupOptions options, TimeProvider clock, ILogger<GroupManager> logger,
    IFriendStore friends)
{
    public const int MaxAddPerCall = 499;
    public const string AppAdminRole = "uni-im-admin";
    const string AddErrorCode = "2000";

    long Now => clock.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>The caller's standing in a group: their current membership (if any) and whether they are an app admin.</summary>
    sealed record Actor(User User, MemberRecord? Member)
    {
        public bool IsAppAdmin => User.Role.Contains(AppAdminRole);
        public bool IsMember => Member is { IsCurrent: true };
        /// <summary>An app admin ranks above any owner.</summary>
        public int Rank => IsAppAdmin ? 4 : IsMember ? (int)Member!.Role : 0;
        public bool AtLeast(GroupRole role) => Rank >= (int)role;
    }

    async Task<(Group? Group, Actor Actor, ImError? Error)> LoadAsync(User me, string groupId, CancellationToken ct)
    {
        var (groupTask, memberTask) = (store.GetGroupAsync(groupId, ct), store.GetMemberAsync(groupId, me.Id, ct));
        var (group, member) = (await groupTask, await memberTask);
        var actor = new Actor(me, member);
        if (group is null) return (null, actor, ImError.NotFound($"group_id: group '{groupId}' does not exist"));
        return (group, actor, null);
    }

    static ImError AddError(string why) => new(400, AddErrorCode, why);
    static ImError Dissolved => ImError.NoPermission("this group was dissolved");

    // ---- create and add ----

    public async Task<Result<CreatedOrAdded>> ChooseUserIntoGroupAsync(User me, string? groupId, GroupProfile? profile,
        IReadOnlyList<string> userIds, IReadOnlyList<string> adminUids, CancellationToken ct)
    {
        var wanted = userIds.Concat(adminUids).Where(u => u != me.Id || groupId is not null).Distinct().ToList();
        // An add that names nobody would only announce an empty join-group.
        if (groupId is not null && wanted.Count == 0) return AddError("user_ids: name at least one user to add");
        if (wanted.Count > MaxAddPerCall) return AddError($"at most {MaxAddPerCall} users per call");
        if (userIds.Intersect(adminUids).Any()) return AddError("user_ids and admin_uids must not share ids");
        var found = await users.GetManyAsync(wanted, ct);
        // A deleted account's tombstone stays for history, but it is nobody who can join a group.
        if (wanted.Where(u => found.GetValueOrDefault(u) is not { Deletion: null }).ToList() is { Count: > 0 } unknown)
            return AddError($"user_ids or admin_uids: users do not exist: {string.Join(",", unknown)}");

        if (groupId is null && await BlockedByAmongAsync(me, wanted, ct) is { } blockedBy) return blockedBy;
        if (groupId is null) return await CreateAsync(me, profile, userIds.Where(u => u != me.Id).Distinct().ToList(),
            adminUids.Where(u => u != me.Id).Distinct().ToList(), found, ct);

        var (group, actor, error) = await LoadAsync(me, groupId, ct);
        if (error is not null) return error;
        if (group!.Dissolved) return Dissolved;
        if (!actor.AtLeast(GroupRole.Admin) && !(actor.IsMember && group.JoinOption == JoinOptions.FreeAccess))
            return ImError.NoPermission("only the group's owner and admins may add members");
        if (adminUids.Count > 0 && !actor.AtLeast(GroupRole.Owner))
            return ImError.NoPermission("only the owner may add admins");
        if (await BlacklistedAmongAsync(groupId, wanted, ct) is { } blocked)
            return ImError.NoPermission($"user {blocked} is on this group's blacklist");
        if (await BlockedByAmongAsync(me, wanted, ct) is { } refused) return refused;
        var joiners = userIds.Distinct().Select(u => (u, GroupRole.Member)).Concat(adminUids.Distinct().Select(u => (u, GroupRole.Admin))).ToList();
        return await JoinAsync(group.Id, me.Id, joiners, ct) is { } notJoined ? notJoined : new CreatedOrAdded(group.Id, wanted);
    }

    async Task<Result<CreatedOrAdded>> CreateAsync(User me, GroupProfile? profile, List<string> userIds, List<string> adminUids,
        IReadOnlyDictionary<string, User> found, CancellationToken ct)
    {
        if (1 + userIds.Count + adminUids.Count > options.MaxGroupMembers)
            return AddError($"a group holds at most {options.MaxGroupMembers} members");
        var now = Now;
        var name = profile?.Name is { Length: > 0 } given ? given : DefaultName(me, userIds.Concat(adminUids).Select(u => found[u]));
        var group = new Group
        {
            Id = Ids.New(),
            UserId = me.Id,
            Name = name,
            Introduction = profile?.Introduction ?? "",
            AvatarFile = profile?.AvatarFile,
            JoinOption = profile?.JoinOption ?? JoinOptions.NeedPermission,
            CreateTime = now,
            UpdateTime = now,
        };
        await store.CreateGroupAsync(group, ct);
        var joiners = new List<(string, GroupRole)> { (me.Id, GroupRole.Owner) };
        joiners.AddRange(adminUids.Select(u => (u, GroupRole.Admin)));
        joiners.AddRange(userIds.Select(u => (u, GroupRole.Member)));
        if (await JoinAsync(group.Id, me.Id, joiners, ct) is { } refused) return refused;
        ct = Messenger.AfterStored;   // the members are in: the group exists for them
        await events.PublishAsync("group.created", "group.created:" + group.Id, GroupInfo.From(group), ct);
        return new CreatedOrAdded(group.Id, joiners.Select(j => j.Item1).ToList());
    }

    static string DefaultName(User owner, IEnumerable<User> members)
    {
        var names = string.Join(" ", new[] { owner }.Concat(members).Take(10).Select(u => u.Nickname).Where(n => !string.IsNullOrEmpty(n)));
        return TextElements.Truncate(names.Length == 0 ? "group chat" : names, 30);
    }

    /// <summary>Adds members, mirrors them into the push group, then announces join-group. Null on success.</summary>
    async Task<ImError?> JoinAsync(string groupId, string operatorUid, IReadOnlyList<(string UserId, GroupRole Role)> joiners, CancellationToken ct)
    {
        var (group, refusal, culprits) = await directory.AddAsync(groupId, joiners, options.MaxGroupMembers, ct);
        switch (refusal)
        {
            case MembershipRefusal.NoGroup: return ImError.NotFound($"group_id: group '{groupId}' does not exist");
            case MembershipRefusal.Dissolved: return Dissolved;
            case MembershipRefusal.AlreadyMember: return AddError($"users {string.Join(",", culprits)} are already in the group");
            case MembershipRefusal.OverCap: return AddError($"a group holds at most {options.MaxGroupMembers} members");
        }
        ct = Messenger.AfterStored;   // they are members: the push group, the announcement and the event follow regardless
        var uids = joiners.Select(j => j.UserId).ToList();
        // Before the announcement, so the new members' open connections receive it and everything after.
        await Task.WhenAll(uids.Select(u => MirrorAsync(() => push.AddUserToGroupAsync(u, GroupIds.PushGroup(groupId), ct), ct)));
        var eventId = $"join-group:{string.Join(",", uids)}:{group!.LastSeq}";
        await chat.PostSystemAsync(groupId, eventId, new
        {
            action = "join-group",
            user_id_list = uids,
            new_member_list = joiners.Select(j => new { group_id = groupId, user_id = j.UserId, role = GroupRoles.Wire(j.Role) }),
            operator_uid = operatorUid,
        }, ct);
        await events.PublishAsync("group.member_joined", "group.member_joined:" + eventId, new { group_id = groupId, user_ids = uids }, ct);
        return null;
    }

    async Task<ImError?> LeaveAsync(string groupId, string userId, string action, string operatorUid, CancellationToken ct)
    {
        var (group, refusal, _) = await directory.RemoveAsync(groupId, userId, ct);
        if (refusal is null) ct = Messenger.AfterStored;   // they are out: the rest follows even if the caller gives up
        // The push group is left before answering, even when the store says they left already (a retry after a
        // failed removal): from the moment the call returns, nothing more reaches them.
        await MirrorAsync(() => push.RemoveUserFromGroupAsync(userId, GroupIds.PushGroup(groupId), ct), ct, mustSucceed: true);
        switch (refusal)
        {
            case MembershipRefusal.NoGroup: return ImError.NotFound($"group_id: group '{groupId}' does not exist");
            case MembershipRefusal.Dissolved: return Dissolved;
            case MembershipRefusal.NotMember: return ImError.NotFound($"user_id: '{userId}' is not a member of this group");
        }
        var eventId = $"{action}:{userId}:{group!.LastSeq}";
        var notice = await chat.PostSystemAsync(groupId, eventId, new { action, user_id_list = new[] { userId }, operator_uid = operatorUid }, ct);
        if (notice is not null && action == "group-expel") pushes.ToUser(userId, PushEvents.Msg(notice));   // the expelled hear why
        await events.PublishAsync("group.member_left", "group.member_left:" + eventId, new { group_id = groupId, user_id = userId, action }, ct);
        return null;
    }

    /// <summary>
    /// Membership changes reach the push service as they happen. Adds may fail soft (the member catches up by seq);
    /// a removal must not, or a leaver would keep receiving: it fails the call as unavailable.
    /// </summary>
    async Task MirrorAsync(Func<Task> operation, CancellationToken ct, bool mustSucceed = false)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await operation();
                return;
            }
            catch (Exception e) when (e is Azure.RequestFailedException or HttpRequestException && !ct.IsCancellationRequested)
            {
                if (attempt < 3) continue;
                if (mustSucceed) throw new DependencyUnavailableException("push service (group membership)", e);
                logger.LogWarning("Could not add a user to a push group: {Error}", e.Message);
                return;
            }
        }
    }

    /// <summary>
    /// A user who blocked the caller is not put in a group by them (SPEC §10): one point read per user added, in
    /// parallel. The app's admins (<c>uni-im-admin</c>) moderate groups regardless.
    /// </summary>
    async Task<ImError?> BlockedByAmongAsync(User me, IReadOnlyList<string> userIds, CancellationToken ct)
    {
        if (me.Role.Contains(AppAdminRole)) return null;
        var others = userIds.Where(u => u != me.Id).ToList();
        var blocked = await Task.WhenAll(others.Select(u => friends.IsBlockedAsync(blockerUid: u, blockedUid: me.Id, ct)));
        return others.Where((_, i) => blocked[i]).FirstOrDefault() is { } blocker
            ? ImError.NoPermission($"user_ids: user '{blocker}' does not accept being added by you")
            : null;
    }

    async Task<string?> BlacklistedAmongAsync(string groupId, IReadOnlyList<string> userIds, CancellationToken ct)
    {
        foreach (var uid in userIds)
            if (await store.IsBlacklistedAsync(groupId, uid, ct)) return uid;
        return null;
    }

    // ---- reading ----

    public async Task<Result<GroupInfo>> GetGroupInfoAsync(User me, string groupId, CancellationToken ct)
    {
        var (group, actor, error) = await LoadAsync(me, groupId, ct);
        if (error is not null) return error;
        // Members (past ones too, read-only) see the group; others only when it takes applications (the join page).
        if (actor.Member is null && !actor.IsAppAdmin && group!.JoinOption == JoinOptions.DisableApply)
            return ImError.NoPermission("you are not a member of this group");
        return GroupInfo.From(group!);
    }

    public async Task<Result<IReadOnlyList<GroupMemberView>>> GetMembersAsync(User me, string groupId, string? cursor, int limit,
        CancellationToken ct)
    {
        var (_, actor, error) = await LoadAsync(me, groupId, ct);
        if (error is not null) return error;
        if (!actor.IsMember && !actor.IsAppAdmin) return ImError.NoPermission("you are not a member of this group");
        var page = await store.ListMembersAsync(groupId, cursor, limit, ct);
        var profiles = await users.GetManyAsync(page.Select(m => m.UserId), ct);
        return Result<IReadOnlyList<GroupMemberView>>.Ok(page.Select(m => new GroupMemberView(m.GroupId, m.UserId, GroupRoles.Wire(m.Role),
            m.JoinSeq, m.MuteUntil, m.CreateTime, profiles.GetValueOrDefault(m.UserId)?.ToPublicProfile())).ToList());
    }

    /// <summary>The caller's current groups, by group id after <paramref name="cursor"/>.</summary>
    public async Task<Result<IReadOnlyList<GroupInfo>>> GetMyGroupsAsync(User me, string? cursor, int limit, CancellationToken ct)
    {
        var rows = await store.ListGroupRowsAsync(me.Id, GroupDirectory.MaxGroupsPerUser, ct);
        var ids = rows.Where(r => !r.Leave && string.CompareOrdinal(r.GroupId, cursor ?? "") > 0).Select(r => r.GroupId!)
            .Order(StringComparer.Ordinal).Take(limit).ToList();
        var groups = await store.GetGroupsAsync(ids, ct);
        return Result<IReadOnlyList<GroupInfo>>.Ok(groups.Where(g => !g.Dissolved).OrderBy(g => g.Id, StringComparer.Ordinal)
            .Select(GroupInfo.From).ToList());
    }

    // ---- changing the group ----

    public async Task<Result<GroupInfo>> UpdateGroupInfoAsync(User me, string groupId, GroupChanges changes, CancellationToken ct)
    {
        var (group, actor, error) = await LoadAsync(me, groupId, ct);
        if (error is not null) return error;
        if (group!.Dissolved) return Dissolved;
        if (!actor.AtLeast(GroupRole.Admin)) return ImError.NoPermission("only the group's owner and admins may change it");
        var updated = await directory.UpdateGroupAsync(groupId, g => g with
        {
            Name = changes.Name ?? g.Name,
            AvatarFile = changes.AvatarFile ?? g.AvatarFile,
            Introduction = changes.Introduction ?? g.Introduction,
            Notification = changes.Notification ?? g.Notification,
            JoinOption = changes.JoinOption ?? g.JoinOption,
            MuteAllMembers = changes.MuteAllMembers ?? g.MuteAllMembers,
            HistoryVisible = changes.HistoryVisible ?? g.HistoryVisible,
        }, ct);
        ct = Messenger.AfterStored;   // changed: each announcement and the event follow regardless
        // One system message per changed field (uni-im announces only the first), after the change.
        var fields = new (string Name, object? Value)[]
        {
            ("name", changes.Name), ("avatar_file", changes.AvatarFile), ("introduction", changes.Introduction),
            ("notification", changes.Notification), ("mute_all_members", changes.MuteAllMembers), ("join_option", changes.JoinOption),
            ("history_visible", changes.HistoryVisible),
        };
        foreach (var (name, value) in fields.Where(f => f.Value is not null))
            await chat.PostSystemAsync(groupId, $"update-group-info-{name}:{updated!.ETag}", new
            {
                action = "update-group-info-" + name,
                updateData = new Dictionary<string, object?> { [name] = value },
                operator_uid = me.Id,
            }, ct);
        await events.PublishAsync("group.updated", $"group.updated:{groupId}:{updated!.ETag}", GroupInfo.From(updated), ct);
        return GroupInfo.From(updated);
    }

    public async Task<Result<object>> DissolveAsync(User me, string groupId, CancellationToken ct)
    {
        var (group, actor, error) = await LoadAsync(me, groupId, ct);
        if (error is not null) return error;
        if (group!.Dissolved) return Dissolved;
        if (!actor.AtLeast(GroupRole.Owner)) return ImError.NoPermission("only the owner may dissolve the group");
        // Members' rows and records stay, readable; sends check the flag, so nobody can send any more. Only the
        // server's announcement still lands in the stream, after the change as always.
        await directory.UpdateGroupAsync(groupId, g => g with { Dissolved = true }, ct);
        ct = Messenger.AfterStored;   // a retry would hear "dissolved" and never announce it
        await chat.PostSystemAsync(groupId, "group-dissolved", new { action = "group-dissolved", groupName = group.Name, operator_uid = me.Id }, ct);
        await events.PublishAsync("group.dissolved", "group.dissolved:" + groupId, new { group_id = groupId }, ct);
        return new { group_id = groupId };
    }

    public async Task<Result<object>> TransferOwnerAsync(User me, string groupId, string userId, CancellationToken ct)
    {
        var (group, actor, error) = await LoadAsync(me, groupId, ct);
        if (error is not null) return error;
        if (group!.Dissolved) return Dissolved;
        if (!actor.AtLeast(GroupRole.Owner)) return ImError.NoPermission("only the owner may transfer the group");
        var target = await store.GetMemberAsync(groupId, userId, ct);
        if (target is not { IsCurrent: true }) return ImError.NotFound($"user_id: '{userId}' is not a member of this group");
        if (target.Role == GroupRole.Owner) return ImError.InvalidParam("user_id", "is the owner already");
        var oldOwner = group.UserId;
        // New owner first, then the group record, then the old owner down to admin: a crash between steps leaves
        // two owners at worst, never none, and a retry finishes it.
        await store.UpdateMemberAsync(groupId, userId, target, m => m is { IsCurrent: true } ? m with { Role = GroupRole.Owner, MuteUntil = null } : null, ct);
        ct = Messenger.AfterStored;   // a retry would hear "is the owner already" and leave two owners
        await directory.UpdateGroupAsync(groupId, g => g with { UserId = userId }, ct);
        await store.UpdateMemberAsync(groupId, oldOwner, null, m => m is { IsCurrent: true, Role: GroupRole.Owner } ? m with { Role = GroupRole.Admin } : null, ct);
        await chat.PostSystemAsync(groupId, $"transfer-group-owner:{oldOwner}:{userId}:{group.ETag}",
            new { action = "transfer-group-owner", old_owner_uid = oldOwner, new_owner_uid = userId, operator_uid = me.Id }, ct);
        await events.PublishAsync("group.owner_transferred", $"group.owner_transferred:{groupId}:{group.ETag}",
            new { group_id = groupId, old_owner_uid = oldOwner, new_owner_uid = userId }, ct);
        return new { group_id = groupId, user_id = userId };
    }

    public async Task<Result<object>> SetAdminAsync(User me, string groupId, string userId, bool admin, CancellationToken ct)
    {
        var (group, actor, error) = await LoadAsync(me, groupId, ct);
        if (error is not null) return error;
        if (group!.Dissolved) return Dissolved;
        if (!actor.AtLeast(GroupRole.Owner)) return ImError.NoPermission("only the owner may appoint or remove admins");
        var target = await store.GetMemberAsync(groupId, userId, ct);
        if (target is not { IsCurrent: true }) return ImError.NotFound($"user_id: '{userId}' is not a member of this group");
        if (target.Role == GroupRole.Owner) return ImError.NoPermission("the owner's role cannot be changed");
        var role = admin ? GroupRole.Admin : GroupRole.Member;
        if (target.Role == role) return new { group_id = groupId, user_id = userId, role = GroupRoles.Wire(role) };
        var updated = await store.UpdateMemberAsync(groupId, userId, target,
            m => m is { IsCurrent: true } && m.Role != GroupRole.Owner && m.Role != role ? m with { Role = role } : null, ct);
        ct = Messenger.AfterStored;
        await chat.PostSystemAsync(groupId, $"set-group-admin:{userId}:{updated?.ETag}", new
        {
            action = "set-group-admin",
            user_id = userId,
            addRole = admin ? new[] { "admin" } : [],
            delRole = admin ? Array.Empty<string>() : ["admin"],
            operator_uid = me.Id,
        }, ct);
        return new { group_id = groupId, user_id = userId, role = GroupRoles.Wire(role) };
    }

    /// <summary>Owner and admins act on members ranked below them (an admin never on another admin or the owner).</summary>
    async Task<(Group? Group, MemberRecord? Target, ImError? Error)> OutrankAsync(User me, string groupId, string userId, CancellationToken ct)
    {
        var (group, actor, error) = await LoadAsync(me, groupId, ct);
        if (error is not null) return (null, null, error);
        if (group!.Dissolved) return (null, null, Dissolved);
        if (!actor.AtLeast(GroupRole.Admin)) return (null, null, ImError.NoPermission("only the group's owner and admins may do this"));
        var target = userId == me.Id ? actor.Member : await store.GetMemberAsync(groupId, userId, ct);
        if (target is { IsCurrent: true } && (target.Role == GroupRole.Owner || (int)target.Role >= actor.Rank))
            return (null, null, ImError.NoPermission("you may act only on members ranked below you"));
        return (group, target, null);
    }

    public async Task<Result<object>> ExpelAsync(User me, string groupId, string userId, bool block, CancellationToken ct)
    {
        if (userId == me.Id) return ImError.InvalidParam("user_id", "use quitGroup to leave");
        var (_, target, error) = await OutrankAsync(me, groupId, userId, ct);
        if (error is not null) return error;
        if (target is not { IsCurrent: true }) return ImError.NotFound($"user_id: '{userId}' is not a member of this group");
        if (block) await store.SetBlacklistedAsync(groupId, userId, true, ct);
        return await LeaveAsync(groupId, userId, "group-expel", me.Id, ct) is { } refused ? refused : new { group_id = groupId, user_id = userId };
    }

    public async Task<Result<object>> QuitAsync(User me, string groupId, CancellationToken ct)
    {
        var (group, actor, error) = await LoadAsync(me, groupId, ct);
        if (error is not null) return error;
        if (actor.Member is { IsCurrent: true, Role: GroupRole.Owner } && !group!.Dissolved)
            return ImError.NoPermission("the owner cannot quit: transfer the group or dissolve it first");
        if (group!.Dissolved) return Dissolved;
        return await LeaveAsync(groupId, me.Id, "group-exit", me.Id, ct) is { } refused ? refused : new { group_id = groupId };
    }

    public async Task<Result<object>> MuteAsync(User me, string groupId, string userId, long? until, CancellationToken ct)
    {
        var (_, target, error) = await OutrankAsync(me, groupId, userId, ct);
        if (error is not null) return error;
        if (target is not { IsCurrent: true }) return ImError.NotFound($"user_id: '{userId}' is not a member of this group");
        var updated = await store.UpdateMemberAsync(groupId, userId, target,
            m => m is { IsCurrent: true } && m.MuteUntil != until ? m with { MuteUntil = until } : null, ct);
        ct = Messenger.AfterStored;
        await chat.PostSystemAsync(groupId, $"mute-group-member:{userId}:{updated?.ETag}",
            new { action = "mute-group-member", user_id = userId, mute_until = until, operator_uid = me.Id }, ct);
        return new { group_id = groupId, user_id = userId, mute_until = until };
    }

    public async Task<Result<object>> SetBlacklistAsync(User me, string groupId, string userId, bool blacklisted, CancellationToken ct)
    {
        if (userId == me.Id) return ImError.InvalidParam("user_id", "cannot be yourself");
        var (_, _, error) = await OutrankAsync(me, groupId, userId, ct);
        if (error is not null) return error;
        if (await users.GetAsync(userId, ct) is null) return ImError.NotFound($"user_id: user '{userId}' does not exist");
        await store.SetBlacklistedAsync(groupId, userId, blacklisted, ct);
        return new { group_id = groupId, user_id = userId, blacklisted };
    }

    // ---- join requests ----

    public async Task<Result<object>> ApplyAsync(User me, string groupId, string? message, CancellationToken ct)
    {
        var (group, actor, error) = await LoadAsync(me, groupId, ct);
        if (error is not null) return error;
        if (group!.Dissolved) return Dissolved;
        if (actor.IsMember) return AddError("you are already in the group");
        if (group.JoinOption == JoinOptions.DisableApply) return ImError.NoPermission("this group takes no applications");
        if (await store.IsBlacklistedAsync(groupId, me.Id, ct)) return ImError.NoPermission("you are on this group's blacklist");
        if (group.JoinOption == JoinOptions.FreeAccess)
            return await JoinAsync(groupId, me.Id, [(me.Id, GroupRole.Member)], ct) is { } refused ? refused : new { is_pass = true };

        // One request per user and group: applying again re-opens it (a handled one) or refreshes it (a pending one).
        var id = GroupIds.JoinRequest(groupId, me.Id);
        var now = Now;
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var existing = await store.GetJoinRequestAsync(groupId, id, ct);
            var saved = await store.SaveJoinRequestAsync(new JoinRequest
            {
                Id = id, GroupId = groupId, UserId = me.Id, Message = message ?? "", State = JoinRequestStates.Pending,
                CreateTime = now, UpdateTime = now, ETag = existing?.ETag,
            }, ct);
            if (saved is null) continue;
            ct = Messenger.AfterStored;   // the request stands: its admins hear of it
            var admins = await AdminsAsync(group, ct);
            var notice = PushEvents.Group("join_request", new { request_id = id, group_id = groupId, user_id = me.Id, message = saved.Message });
            foreach (var admin in admins) pushes.ToUser(admin, notice);
            return new { is_pass = false, request_id = id };
        }
        throw new DependencyUnavailableException("group store (join request contention)");
    }

    /// <summary>The owner and admins among the first page of members: who hears of a new request.</summary>
    async Task<IReadOnlyList<string>> AdminsAsync(Group group, CancellationToken ct)
    {
        var admins = new List<string> { group.UserId };
        string? cursor = null;
        for (var page = 0; page < 3; page++)
        {
            var members = await store.ListMembersAsync(group.Id, cursor, 1000, ct);
            admins.AddRange(members.Where(m => m.Role == GroupRole.Admin).Select(m => m.UserId));
            if (members.Count < 1000) break;
            cursor = members[^1].UserId;
        }
        return admins.Distinct().ToList();
    }

    public async Task<Result<IReadOnlyList<JoinRequest>>> GetJoinRequestsAsync(User me, string? groupId, CancellationToken ct)
    {
        IEnumerable<string> groupIds;
        if (groupId is not null)
        {
            var (_, actor, error) = await LoadAsync(me, groupId, ct);
            if (error is not null) return error;
            if (!actor.AtLeast(GroupRole.Admin)) return ImError.NoPermission("only the group's owner and admins see its requests");
            groupIds = [groupId];
        }
        else
        {
            var rows = await store.ListGroupRowsAsync(me.Id, GroupDirectory.MaxGroupsPerUser, ct);
            var mine = await Task.WhenAll(rows.Where(r => !r.Leave).Select(r => store.GetMemberAsync(r.GroupId!, me.Id, ct)));
            groupIds = mine.Where(m => m is { IsCurrent: true, Role: >= GroupRole.Admin }).Select(m => m!.GroupId);
        }
        var pages = await Task.WhenAll(groupIds.Select(g => store.ListPendingJoinRequestsAsync(g, 500, ct)));
        return Result<IReadOnlyList<JoinRequest>>.Ok(pages.SelectMany(p => p).OrderBy(r => r.CreateTime).ToList());
    }

    public async Task<Result<object>> HandleJoinRequestAsync(User me, string requestId, bool accept, CancellationToken ct)
    {
        var groupId = GroupIds.GroupOfRequest(requestId);
        var request = groupId is null ? null : await store.GetJoinRequestAsync(groupId, requestId, ct);
        if (request is null) return ImError.NotFound($"request_id: '{requestId}' does not exist");
        var (group, actor, error) = await LoadAsync(me, groupId!, ct);
        if (error is not null) return error;
        if (!actor.AtLeast(GroupRole.Admin)) return ImError.NoPermission("only the group's owner and admins handle its requests");
        if (request.State != JoinRequestStates.Pending) return ImError.Conflict("this request was handled already");
        if (accept && group!.Dissolved) return Dissolved;
        if (accept && await store.IsBlacklistedAsync(groupId!, request.UserId, ct))
            return ImError.NoPermission("the applicant is on this group's blacklist");

        // The state change is the once-only step: of two handlers racing, the ETag lets one through.
        var handled = await store.SaveJoinRequestAsync(request with
        {
            State = accept ? JoinRequestStates.Accepted : JoinRequestStates.Rejected, HandledBy = me.Id, UpdateTime = Now,
        }, ct);
        if (handled is null) return ImError.Conflict("this request was handled already");
        ct = Messenger.AfterStored;   // a retry would hear "handled already": the join must follow now
        if (accept && await JoinAsync(groupId!, me.Id, [(request.UserId, GroupRole.Member)], ct) is { Code: not AddErrorCode } refused)
            return refused;   // "already a member" (someone added them meanwhile) is what accepting wanted anyway
        pushes.ToUser(request.UserId, PushEvents.Group("join_request_handled",
            new { request_id = requestId, group_id = groupId, accept, handled_by = me.Id }));
        return new { request_id = requestId, state = handled.State };
    }
}

public sealed class GroupOptions
{
    /// <summary>UniIm__MaxGroupMembers: the size cap, checked atomically with every join.</summary>
    public int MaxGroupMembers { get; set; } = 2000;
}
