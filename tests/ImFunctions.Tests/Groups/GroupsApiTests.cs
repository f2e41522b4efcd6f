using System.Text.Json;
using ImFunctions.Core.Domain;
using ImFunctions.Tests.Support;

namespace ImFunctions.Tests.Groups;

/// <summary>The group methods through the real app: happy paths and every rights rule, refusals writing nothing.</summary>
public sealed class GroupsApiTests
{
    TestApp app = null!;

    [OneTimeSetUp]
    public async Task Start() => app = await TestApp.StartAsync(new Dictionary<string, string?> { ["UniIm:MaxGroupMembers"] = "10" });

    [OneTimeTearDown]
    public async Task Stop() => await app.DisposeAsync();

    async Task<TestUser[]> UsersAsync(int n) => await Task.WhenAll(Enumerable.Range(0, n).Select(_ => app.LoginAsync()));

    [Test]
    public async Task Creating_a_group_makes_the_caller_owner_and_announces_the_members_in_history()
    {
        var (owner, a, b) = (await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync());
        var groupId = await owner.CreateGroupAsync(a, b);

        var info = await a.InfoAsync(groupId);
        Assert.That(info.GetProperty("user_id").GetString(), Is.EqualTo(owner.Uid));
        Assert.That(info.GetProperty("member_count").GetInt32(), Is.EqualTo(3));
        Assert.That(info.GetProperty("join_option").GetString(), Is.EqualTo("needPermission"));
        Assert.That(info.GetProperty("history_visible").GetBoolean(), Is.True);
        Assert.That(info.GetProperty("name").GetString()!.Length, Is.InRange(1, 30));
        Assert.That(await b.MemberIdsAsync(groupId), Is.EqualTo(GroupTestKit.Sorted(owner, a, b)));

        var history = await a.HistoryAsync(groupId);
        Assert.That(history.Actions(), Is.EqualTo(new[] { "join-group" }));
        var join = history[0];
        Assert.That((join.GetProperty("from_uid").GetString(), join.GetProperty("seq").GetInt64()), Is.EqualTo(("system", 1L)));
        Assert.That(join.GetProperty("body").GetProperty("user_id_list").EnumerateArray().Select(u => u.GetString()).Order(StringComparer.Ordinal),
            Is.EqualTo(GroupTestKit.Sorted(owner, a, b)));

        var roles = (await owner.PostAsync("getGroupMembers", new { group_id = groupId })).AssertOk().Data.EnumerateArray()
            .ToDictionary(m => m.GetProperty("user_id").GetString()!, m => m.GetProperty("role").GetString());
        Assert.That((roles[owner.Uid], roles[a.Uid]), Is.EqualTo(("owner", "member")));
        var mine = (await a.PostAsync("getMyGroups")).AssertOk().Data.EnumerateArray().Select(g => g.GetProperty("_id").GetString());
        Assert.That(mine, Does.Contain(groupId));
    }

    [Test]
    public async Task An_outsider_or_a_plain_member_cannot_add_people_and_nothing_is_written()
    {
        var (owner, member, outsider, victim) = (await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync());
        var groupId = await owner.CreateGroupAsync(member);

        (await outsider.PostAsync("chooseUserIntoGroup", new { group_id = groupId, user_ids = new[] { victim.Uid } })).AssertError(403, ErrorCodes.NoPermission);
        (await member.PostAsync("chooseUserIntoGroup", new { group_id = groupId, user_ids = new[] { victim.Uid } })).AssertError(403, ErrorCodes.NoPermission);

        Assert.That(await owner.MemberIdsAsync(groupId), Is.EqualTo(GroupTestKit.Sorted(owner, member)));
        Assert.That((await owner.HistoryAsync(groupId)).Length, Is.EqualTo(1));
        (await victim.PostAsync("getGroupMembers", new { group_id = groupId })).AssertError(403, ErrorCodes.NoPermission);
    }

    [Test]
    public async Task Adding_a_member_twice_an_unknown_user_or_past_the_cap_answers_2000_and_adds_nobody()
    {
        var users = await UsersAsync(4);
        var (owner, member, fresh, another) = (users[0], users[1], users[2], users[3]);
        var groupId = await owner.CreateGroupAsync(member);
        var history = await owner.HistoryAsync(groupId);

        (await owner.PostAsync("chooseUserIntoGroup", new { group_id = groupId, user_ids = Array.Empty<string>() })).AssertError(400, "2000");
        (await owner.PostAsync("chooseUserIntoGroup", new { group_id = groupId, user_ids = new[] { fresh.Uid, member.Uid } })).AssertError(400, "2000");
        (await owner.PostAsync("chooseUserIntoGroup", new { group_id = groupId, user_ids = new[] { fresh.Uid, "0123456789abcdef01234567" } })).AssertError(400, "2000");
        (await owner.PostAsync("chooseUserIntoGroup", new { group_id = groupId, user_ids = Enumerable.Range(0, 500).Select(i => $"u{i}").ToArray() }))
            .AssertError(400, "2000");
        var nine = await UsersAsync(9);   // 2 + 9 > the cap of 10
        (await owner.PostAsync("chooseUserIntoGroup", new { group_id = groupId, user_ids = nine.Select(u => u.Uid).ToArray() })).AssertError(400, "2000");

        Assert.That(await owner.MemberIdsAsync(groupId), Is.EqualTo(GroupTestKit.Sorted(owner, member)));
        Assert.That((await owner.InfoAsync(groupId)).GetProperty("member_count").GetInt32(), Is.EqualTo(2));
        Assert.That(await owner.HistoryAsync(groupId), Has.Length.EqualTo(history.Length), "no join-group announced");
        (await owner.PostAsync("chooseUserIntoGroup", new { group_id = groupId, user_ids = new[] { fresh.Uid, another.Uid } })).AssertOk();
        Assert.That((await owner.InfoAsync(groupId)).GetProperty("member_count").GetInt32(), Is.EqualTo(4));
    }

    [Test]
    public async Task An_admin_acts_on_members_only_never_on_another_admin_or_the_owner()
    {
        var users = await UsersAsync(4);
        var (owner, admin, otherAdmin, member) = (users[0], users[1], users[2], users[3]);
        var groupId = await owner.CreateGroupAsync(admin, otherAdmin, member);
        (await owner.PostAsync("setGroupAdmin", new { group_id = groupId, user_id = admin.Uid, admin = true })).AssertOk();
        (await owner.PostAsync("setGroupAdmin", new { group_id = groupId, user_id = otherAdmin.Uid, admin = true })).AssertOk();
        var before = (await owner.HistoryAsync(groupId)).Length;

        foreach (var target in new[] { otherAdmin, owner })
        {
            (await admin.PostAsync("expelGroupMember", new { group_id = groupId, user_id = target.Uid })).AssertError(403, ErrorCodes.NoPermission);
            (await admin.PostAsync("muteGroupMember", new { group_id = groupId, user_id = target.Uid, until = 4102444800000 })).AssertError(403, ErrorCodes.NoPermission);
            (await admin.PostAsync("addToGroupMenberBlackList", new { group_id = groupId, user_id = target.Uid })).AssertError(403, ErrorCodes.NoPermission);
        }
        (await admin.PostAsync("setGroupAdmin", new { group_id = groupId, user_id = otherAdmin.Uid, admin = false })).AssertError(403, ErrorCodes.NoPermission);
        (await admin.PostAsync("setGroupAdmin", new { group_id = groupId, user_id = member.Uid, admin = true })).AssertError(403, ErrorCodes.NoPermission);
        (await member.PostAsync("expelGroupMember", new { group_id = groupId, user_id = admin.Uid })).AssertError(403, ErrorCodes.NoPermission);
        (await admin.PostAsync("transferGroupOwner", new { group_id = groupId, user_id = admin.Uid })).AssertError(403, ErrorCodes.NoPermission);
        (await admin.PostAsync("dissolveGroup", new { group_id = groupId })).AssertError(403, ErrorCodes.NoPermission);

        Assert.That(await owner.MemberIdsAsync(groupId), Is.EqualTo(GroupTestKit.Sorted(owner, admin, otherAdmin, member)));
        Assert.That((await owner.HistoryAsync(groupId)).Length, Is.EqualTo(before), "no system message for a refused change");
        (await otherAdmin.SayAsync(groupId, "not muted")).AssertOk();

        // On a member the admin may act.
        (await admin.PostAsync("muteGroupMember", new { group_id = groupId, user_id = member.Uid, until = 4102444800000 })).AssertOk();
        (await member.SayAsync(groupId, "muted")).AssertError(403, ErrorCodes.NoPermission);
        (await admin.PostAsync("expelGroupMember", new { group_id = groupId, user_id = member.Uid })).AssertOk();
        Assert.That(await owner.MemberIdsAsync(groupId), Is.EqualTo(GroupTestKit.Sorted(owner, admin, otherAdmin)));
        Assert.That((await owner.HistoryAsync(groupId)).Actions()[^2..], Is.EqualTo(new[] { "mute-group-member", "group-expel" }));
    }

    [Test]
    public async Task The_owner_transfers_the_group_and_then_may_quit_while_the_new_owner_may_dissolve()
    {
        var (owner, heir, member) = (await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync());
        var groupId = await owner.CreateGroupAsync(heir, member);
        (await owner.PostAsync("quitGroup", new { group_id = groupId })).AssertError(403, ErrorCodes.NoPermission);

        (await owner.PostAsync("transferGroupOwner", new { group_id = groupId, user_id = heir.Uid })).AssertOk();
        Assert.That((await member.InfoAsync(groupId)).GetProperty("user_id").GetString(), Is.EqualTo(heir.Uid));
        (await owner.PostAsync("dissolveGroup", new { group_id = groupId })).AssertError(403, ErrorCodes.NoPermission);
        (await owner.PostAsync("quitGroup", new { group_id = groupId })).AssertOk();

        (await heir.PostAsync("dissolveGroup", new { group_id = groupId })).AssertOk();
        var info = await member.InfoAsync(groupId);
        Assert.That(info.GetProperty("dissolved").GetBoolean(), Is.True);
        (await member.SayAsync(groupId, "anyone?")).AssertError(403, ErrorCodes.NoPermission);
        (await heir.PostAsync("chooseUserIntoGroup", new { group_id = groupId, user_ids = new[] { owner.Uid } })).AssertError(403, ErrorCodes.NoPermission);
        var actions = (await member.HistoryAsync(groupId)).Actions();
        Assert.That(actions, Is.EqualTo(new[] { "join-group", "transfer-group-owner", "group-exit", "group-dissolved" }));
    }

    [Test]
    public async Task A_uni_im_admin_may_act_on_any_group()
    {
        var (owner, member) = (await app.LoginAsync(), await app.LoginAsync());
        var staff = await app.LoginAsync(role: ["uni-im-admin"]);
        var groupId = await owner.CreateGroupAsync(member);

        Assert.That(await staff.MemberIdsAsync(groupId), Is.EqualTo(GroupTestKit.Sorted(owner, member)));
        (await staff.PostAsync("muteGroupMember", new { group_id = groupId, user_id = member.Uid, until = 4102444800000 })).AssertOk();
        (await staff.PostAsync("dissolveGroup", new { group_id = groupId })).AssertOk();
        Assert.That((await owner.InfoAsync(groupId)).GetProperty("dissolved").GetBoolean(), Is.True);
    }

    [Test]
    public async Task Only_current_members_send_and_the_muted_are_refused_unless_admin()
    {
        var users = await UsersAsync(4);
        var (owner, member, outsider, leaver) = (users[0], users[1], users[2], users[3]);
        var groupId = await owner.CreateGroupAsync(member, leaver);
        (await leaver.PostAsync("quitGroup", new { group_id = groupId })).AssertOk();
        var before = (await owner.HistoryAsync(groupId)).Length;

        (await outsider.SayAsync(groupId, "hi")).AssertError(403, ErrorCodes.NoPermission);
        (await leaver.SayAsync(groupId, "hi")).AssertError(403, ErrorCodes.NoPermission);
        (await owner.PostAsync("sendMsg", new { group_id = groupId, to_uid = member.Uid, appId = "a", type = "text", body = "x" })).AssertError(400, ErrorCodes.InvalidParam);
        (await owner.PostAsync("sendMsg", new { group_id = groupId, appId = "a", type = "system", body = new { action = "group-dissolved" } })).AssertError(400, ErrorCodes.InvalidParam);
        (await member.SayAsync("0123456789abcdef01234567", "hi")).AssertError(404, ErrorCodes.NotFound);

        (await owner.PostAsync("updateGroupInfo", new { group_id = groupId, mute_all_members = true })).AssertOk();
        (await member.SayAsync(groupId, "muted")).AssertError(403, ErrorCodes.NoPermission);
        (await owner.SayAsync(groupId, "the owner is exempt")).AssertOk();
        Assert.That((await owner.HistoryAsync(groupId)).Texts(), Is.EqualTo(new[] { "the owner is exempt" }));
        Assert.That((await owner.HistoryAsync(groupId)).Length, Is.EqualTo(before + 2));
    }

    [Test]
    public async Task A_join_request_is_handled_once_and_rejecting_twice_is_a_conflict()
    {
        var users = await UsersAsync(4);
        var (owner, admin, applicant, member) = (users[0], users[1], users[2], users[3]);
        var groupId = await owner.CreateGroupAsync(admin, member);
        (await owner.PostAsync("setGroupAdmin", new { group_id = groupId, user_id = admin.Uid, admin = true })).AssertOk();

        var applied = (await applicant.PostAsync("applyJoinGroup", new { group_id = groupId, message = "let me in" })).AssertOk().Data;
        Assert.That(applied.GetProperty("is_pass").GetBoolean(), Is.False);
        var requestId = applied.GetProperty("request_id").GetString()!;
        (await applicant.PostAsync("applyJoinGroup", new { group_id = groupId })).AssertOk();   // still one request

        (await member.PostAsync("getJoinGroupRequests", new { group_id = groupId })).AssertError(403, ErrorCodes.NoPermission);
        (await member.PostAsync("handleJoinGroupRequest", new { request_id = requestId, accept = false })).AssertError(403, ErrorCodes.NoPermission);
        var listed = (await admin.PostAsync("getJoinGroupRequests")).AssertOk().Data.EnumerateArray().ToArray();
        Assert.That(listed.Select(r => r.GetProperty("_id").GetString()), Is.EqualTo(new[] { requestId }));

        (await admin.PostAsync("handleJoinGroupRequest", new { request_id = requestId, accept = false })).AssertOk();
        (await owner.PostAsync("handleJoinGroupRequest", new { request_id = requestId, accept = false })).AssertError(409, ErrorCodes.Conflict);
        (await owner.PostAsync("handleJoinGroupRequest", new { request_id = requestId, accept = true })).AssertError(409, ErrorCodes.Conflict);
        Assert.That(await owner.MemberIdsAsync(groupId), Does.Not.Contain(applicant.Uid));

        (await applicant.PostAsync("applyJoinGroup", new { group_id = groupId })).AssertOk();   // applying again re-opens it
        (await owner.PostAsync("handleJoinGroupRequest", new { request_id = requestId, accept = true })).AssertOk();
        Assert.That(await owner.MemberIdsAsync(groupId), Does.Contain(applicant.Uid));
        (await applicant.PostAsync("applyJoinGroup", new { group_id = groupId })).AssertError(400, "2000");
    }

    [Test]
    public async Task Free_access_joins_at_once_disable_apply_refuses_and_the_blacklist_keeps_people_out()
    {
        var users = await UsersAsync(4);
        var (owner, joiner, banned, other) = (users[0], users[1], users[2], users[3]);
        var open = await owner.CreateGroupAsync(new { name = "open", join_option = "freeAccess" });
        var closed = await owner.CreateGroupAsync(new { name = "closed", join_option = "disableApply" });

        var joined = (await joiner.PostAsync("applyJoinGroup", new { group_id = open })).AssertOk().Data;
        Assert.That(joined.GetProperty("is_pass").GetBoolean(), Is.True);
        (await joiner.PostAsync("chooseUserIntoGroup", new { group_id = open, user_ids = new[] { other.Uid } })).AssertOk();   // freeAccess: members add

        (await joiner.PostAsync("applyJoinGroup", new { group_id = closed })).AssertError(403, ErrorCodes.NoPermission);
        (await joiner.PostAsync("getGroupInfo", new { group_id = closed })).AssertError(403, ErrorCodes.NoPermission);

        (await owner.PostAsync("addToGroupMenberBlackList", new { group_id = open, user_id = banned.Uid })).AssertOk();
        (await banned.PostAsync("applyJoinGroup", new { group_id = open })).AssertError(403, ErrorCodes.NoPermission);
        (await owner.PostAsync("chooseUserIntoGroup", new { group_id = open, user_ids = new[] { banned.Uid } })).AssertError(403, ErrorCodes.NoPermission);
        Assert.That(await owner.MemberIdsAsync(open), Is.EqualTo(GroupTestKit.Sorted(owner, joiner, other)));

        (await owner.PostAsync("removeFromGroupBlackList", new { group_id = open, user_id = banned.Uid })).AssertOk();
        (await banned.PostAsync("applyJoinGroup", new { group_id = open })).AssertOk();

        (await owner.PostAsync("expelGroupMember", new { group_id = open, user_id = other.Uid, block = true })).AssertOk();
        (await other.PostAsync("applyJoinGroup", new { group_id = open })).AssertError(403, ErrorCodes.NoPermission);
    }

    [Test]
    public async Task A_leaver_reads_up_to_their_leave_and_a_newcomer_sees_history_only_when_it_is_visible()
    {
        var users = await UsersAsync(4);
        var (owner, leaver, early, late) = (users[0], users[1], users[2], users[3]);
        var groupId = await owner.CreateGroupAsync(leaver);
        (await owner.SayAsync(groupId, "before")).AssertOk();
        (await leaver.PostAsync("quitGroup", new { group_id = groupId })).AssertOk();
        (await owner.SayAsync(groupId, "after")).AssertOk();

        Assert.That((await leaver.HistoryAsync(groupId)).Texts(), Is.EqualTo(new[] { "before" }));
        var newestFirst = (await leaver.PostAsync("getMsgList", new { conversation_id = "group_" + groupId })).AssertOk().Data;
        Assert.That(newestFirst.EnumerateArray().Texts(), Is.EqualTo(new[] { "before" }));
        var row = (await leaver.PostAsync("getConversationList")).AssertOk().Data.EnumerateArray().Single();
        Assert.That(row.GetProperty("leave").GetBoolean(), Is.True);

        (await owner.PostAsync("chooseUserIntoGroup", new { group_id = groupId, user_ids = new[] { early.Uid } })).AssertOk();
        Assert.That((await early.HistoryAsync(groupId)).Texts(), Is.EqualTo(new[] { "before", "after" }), "history_visible defaults to true");

        (await owner.PostAsync("updateGroupInfo", new { group_id = groupId, history_visible = false })).AssertOk();
        (await owner.PostAsync("chooseUserIntoGroup", new { group_id = groupId, user_ids = new[] { late.Uid } })).AssertOk();
        (await owner.SayAsync(groupId, "welcome")).AssertOk();
        var seen = await late.HistoryAsync(groupId);
        Assert.That(seen.Texts(), Is.EqualTo(new[] { "welcome" }));
        Assert.That(seen.Actions(), Is.EqualTo(new[] { "join-group" }));
        var olderPage = (await late.PostAsync("getMsgList", new { conversation_id = "group_" + groupId, before_seq = seen[0].GetProperty("seq").GetInt64() })).AssertOk().Data;
        Assert.That(olderPage.GetArrayLength(), Is.EqualTo(0));
    }

    [Test]
    public async Task Unread_follows_the_group_head_and_group_rows_merge_with_single_rows_by_activity()
    {
        var (owner, reader, friend) = (await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync());
        var groupId = await owner.CreateGroupAsync(reader);
        (await friend.SendTextAsync(reader.Uid, "1:1 first")).AssertOk();
        (await owner.SayAsync(groupId, "g1")).AssertOk();
        (await owner.SayAsync(groupId, "g2")).AssertOk();

        var rows = (await reader.PostAsync("getConversationList")).AssertOk().Data.EnumerateArray().ToArray();
        Assert.That(rows.Select(r => r.GetProperty("id").GetString()), Is.EqualTo(new[] { "group_" + groupId, ConversationIds.Single(friend.Uid, reader.Uid) }));
        var group = rows[0];
        Assert.That(group.GetProperty("type").GetInt32(), Is.EqualTo(2));
        Assert.That(group.GetProperty("unread_count").GetInt64(), Is.EqualTo(3), "join-group, g1, g2");
        Assert.That(group.GetProperty("last_msg_note").GetString(), Is.EqualTo("g2"));
        Assert.That(group.GetProperty("group_info").GetProperty("_id").GetString(), Is.EqualTo(groupId));
        Assert.That(rows[0].GetProperty("update_time").GetInt64(), Is.GreaterThanOrEqualTo(rows[1].GetProperty("update_time").GetInt64()));

        (await friend.SendTextAsync(reader.Uid, "1:1 later")).AssertOk();
        rows = (await reader.PostAsync("getConversationList", new { limit = 1 })).AssertOk().Data.EnumerateArray().ToArray();
        Assert.That(rows.Single().GetProperty("id").GetString(), Is.EqualTo(ConversationIds.Single(friend.Uid, reader.Uid)));
        var second = (await reader.PostAsync("getConversationList", new { limit = 1, page = 1 })).AssertOk().Data.EnumerateArray().Single();
        Assert.That(second.GetProperty("id").GetString(), Is.EqualTo("group_" + groupId));

        (await reader.PostAsync("clearUnreadCount", new { conversation_id = "group_" + groupId, read_seq = 2 })).AssertOk();
        var one = (await reader.PostAsync("getConversationList", new { conversation_id = "group_" + groupId })).AssertOk().Data.EnumerateArray().Single();
        Assert.That(one.GetProperty("unread_count").GetInt64(), Is.EqualTo(1));
        (await reader.PostAsync("clearUnreadCount")).AssertOk();
        one = (await reader.PostAsync("getConversationList", new { conversation_id = "group_" + groupId })).AssertOk().Data.EnumerateArray().Single();
        Assert.That(one.GetProperty("unread_count").GetInt64(), Is.EqualTo(0));
        var ownerRow = (await owner.PostAsync("getConversationList", new { conversation_id = "group_" + groupId })).AssertOk().Data.EnumerateArray().Single();
        Assert.That(ownerRow.GetProperty("unread_count").GetInt64(), Is.EqualTo(0), "a sender has read what they sent");
    }

    [Test]
    public async Task Read_info_counts_the_members_who_read_a_message_and_is_for_members_only()
    {
        var (owner, a, b, outsider) = (await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync());
        var groupId = await owner.CreateGroupAsync(a, b);
        var seq = (await owner.SayAsync(groupId, "did you read this?")).AssertOk().Data.GetProperty("seq").GetInt64();
        (await a.PostAsync("clearUnreadCount", new { conversation_id = "group_" + groupId })).AssertOk();

        var info = (await b.PostAsync("getMsgReadInfo", new { conversation_id = "group_" + groupId, seq })).AssertOk().Data;
        Assert.That((info.GetProperty("read_count").GetInt64(), info.GetProperty("unread_count").GetInt64()), Is.EqualTo((2L, 1L)));
        Assert.That(info.GetProperty("readers").EnumerateArray().Select(r => r.GetString()).Order(StringComparer.Ordinal), Is.EqualTo(GroupTestKit.Sorted(owner, a)));
        (await outsider.PostAsync("getMsgReadInfo", new { conversation_id = "group_" + groupId, seq })).AssertError(404, ErrorCodes.NotFound);
    }

    [Test]
    public async Task Members_page_by_keyset_without_gaps_or_repeats()
    {
        var owner = await app.LoginAsync();
        var others = await UsersAsync(6);
        var groupId = await owner.CreateGroupAsync(others);
        var seen = new List<string>();
        string? cursor = null;
        while (true)
        {
            var page = (await owner.PostAsync("getGroupMembers", new { group_id = groupId, cursor, limit = 3 })).AssertOk().Data.EnumerateArray()
                .Select(m => m.GetProperty("user_id").GetString()!).ToArray();
            seen.AddRange(page);
            if (page.Length < 3) break;
            cursor = page[^1];
        }
        Assert.That(seen, Is.EqualTo(GroupTestKit.Sorted([owner, .. others])));
    }

    [Test]
    public async Task Twenty_concurrent_senders_get_seqs_without_gaps_or_duplicates()
    {
        var owner = await app.LoginAsync();
        var members = await UsersAsync(9);
        var groupId = await owner.CreateGroupAsync(members);
        var senders = Enumerable.Range(0, 20).Select(i => (i % 2 == 0 ? owner : members[i % 9]).SayAsync(groupId, "m" + i));
        var seqs = (await Task.WhenAll(senders)).Select(r => r.AssertOk().Data.GetProperty("seq").GetInt64()).Order().ToArray();
        Assert.That(seqs, Is.EqualTo(Enumerable.Range(2, 20).Select(i => (long)i).ToArray()), "seq 1 is the join announcement");
        Assert.That((await owner.HistoryAsync(groupId)).Select(m => m.GetProperty("seq").GetInt64()), Is.EqualTo(Enumerable.Range(1, 21).Select(i => (long)i)));
    }

    [Test]
    public async Task A_retried_group_send_stores_one_message()
    {
        var (owner, member) = (await app.LoginAsync(), await app.LoginAsync());
        var groupId = await owner.CreateGroupAsync(member);
        var first = (await member.SayAsync(groupId, "once", "cm-1")).AssertOk().Data;
        var retry = (await member.SayAsync(groupId, "once", "cm-1")).AssertOk().Data;
        Assert.That(retry.GetProperty("_id").GetString(), Is.EqualTo(first.GetProperty("_id").GetString()));
        Assert.That((await owner.HistoryAsync(groupId)).Texts(), Is.EqualTo(new[] { "once" }));
    }

    public static IEnumerable<TestCaseData> BadInputs()
    {
        const string g = "0123456789abcdef01234567";
        TestCaseData Case(string method, object body, string field) => new TestCaseData(method, body, field).SetArgDisplayNames(method, field);
        yield return Case("chooseUserIntoGroup", new { group_id = g }, "user_ids");
        yield return Case("chooseUserIntoGroup", new { user_ids = "abc" }, "user_ids");
        yield return Case("chooseUserIntoGroup", new { user_ids = new[] { "" } }, "user_ids");
        yield return Case("chooseUserIntoGroup", new { groupInfo = new { name = new string('n', 31) }, user_ids = Array.Empty<string>() }, "groupInfo.name");
        yield return Case("chooseUserIntoGroup", new { groupInfo = new { introduction = new string('i', 241) } }, "groupInfo.introduction");
        yield return Case("chooseUserIntoGroup", new { groupInfo = new { join_option = "everyone" } }, "groupInfo.join_option");
        yield return Case("getGroupInfo", new { }, "group_id");
        yield return Case("getGroupInfo", new { group_id = 5 }, "group_id");
        yield return Case("getGroupMembers", new { group_id = g, limit = 0 }, "limit");
        yield return Case("getGroupMembers", new { group_id = g, limit = 501 }, "limit");
        yield return Case("getMyGroups", new { limit = -1 }, "limit");
        yield return Case("updateGroupInfo", new { group_id = g }, "body");
        yield return Case("updateGroupInfo", new { group_id = g, name = new string('n', 31) }, "name");
        yield return Case("updateGroupInfo", new { group_id = g, name = "" }, "name");
        yield return Case("updateGroupInfo", new { group_id = g, introduction = new string('i', 241) }, "introduction");
        yield return Case("updateGroupInfo", new { group_id = g, notification = new string('n', 2001) }, "notification");
        yield return Case("updateGroupInfo", new { group_id = g, join_option = "x" }, "join_option");
        yield return Case("updateGroupInfo", new { group_id = g, mute_all_members = "yes" }, "mute_all_members");
        yield return Case("applyJoinGroup", new { group_id = g, message = new string('m', 201) }, "message");
        yield return Case("handleJoinGroupRequest", new { request_id = "r" }, "accept");
        yield return Case("handleJoinGroupRequest", new { accept = true }, "request_id");
        yield return Case("expelGroupMember", new { group_id = g }, "user_id");
        yield return Case("expelGroupMember", new { group_id = g, user_id = "u", block = "yes" }, "block");
        yield return Case("setGroupAdmin", new { group_id = g, user_id = "u" }, "admin");
        yield return Case("muteGroupMember", new { group_id = g, user_id = "u", until = -5 }, "until");
        yield return Case("transferGroupOwner", new { group_id = g }, "user_id");
        yield return Case("addToGroupMenberBlackList", new { user_id = "u" }, "group_id");
        yield return Case("removeFromGroupBlackList", new { group_id = g }, "user_id");
        yield return Case("quitGroup", new { group_id = new string('g', 65) }, "group_id");
        yield return Case("dissolveGroup", new { }, "group_id");
        yield return Case("getMsgReadInfo", new { conversation_id = "group_" + g }, "seq");
        yield return Case("getMsgReadInfo", new { seq = 1 }, "conversation_id");
    }

    [TestCaseSource(nameof(BadInputs))]
    public async Task Bad_input_is_a_400_naming_the_field(string method, object body, string field)
    {
        var user = await app.LoginAsync();
        var reply = await user.PostAsync(method, body);
        reply.AssertError(400, ErrorCodes.InvalidParam);
        Assert.That(reply.Body.GetProperty("errMsg").GetString(), Does.StartWith(field));
        Assert.That((await user.PostAsync("getMyGroups")).AssertOk().Data.GetArrayLength(), Is.EqualTo(0), "nothing written");
    }
}
