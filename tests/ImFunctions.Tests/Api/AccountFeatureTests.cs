using System.Collections.Concurrent;
using System.Text.Json;
using ImFunctions.Core.Accounts;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Groups;
using ImFunctions.Core.Storage;
using ImFunctions.Tests.Groups;
using ImFunctions.Tests.Push;
using ImFunctions.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace ImFunctions.Tests.Api;

/// <summary>
/// How accounts work with the features merged beside them: deleteAccount's friends and groups steps, their export
/// sections, sendSystemMsg to a group, upsertUser beside the accounts' fields, and erasure in the search index.
/// </summary>
public sealed class AccountFeatureTests
{
    TestApp app = null!;
    readonly CrashOnce crash = new();

    [OneTimeSetUp]
    public async Task Start() =>
        app = await TestApp.StartAsync(S2SSigner.Settings, builder => builder.Services.AddSingleton<IAccountDeletionStep>(crash));

    [OneTimeTearDown]
    public async Task Stop() => await app.DisposeAsync();

    /// <summary>A deletion step that fails once for the users a test names: deleteAccount stops with its marker set.</summary>
    sealed class CrashOnce : IAccountDeletionStep
    {
        public readonly ConcurrentDictionary<string, bool> Armed = new();

        public Task RunAsync(User user, CancellationToken ct) =>
            Armed.TryRemove(user.Id, out _) ? throw new InvalidOperationException("simulated crash") : Task.CompletedTask;
    }

    static async Task<string> InviteAsync(TestUser from, TestUser to, string? message = null) =>
        (await from.PostAsync("addFriendInvite", new { to_uid = to.Uid, message })).AssertOk().Data.GetProperty("_id").GetString()!;

    static async Task BefriendAsync(TestUser a, TestUser b) =>
        (await b.PostAsync("acceptFriendInvite", new { invite_id = await InviteAsync(a, b) })).AssertOk();

    static async Task<string[]> FriendsOf(TestUser user) =>
        (await user.PostAsync("getFriendList", new { limit = 100 })).AssertOk().Data.GetProperty("list").EnumerateArray()
        .Select(f => f.GetProperty("friend_uid").GetString()!).ToArray();

    static async Task<JsonElement[]> InvitesOf(TestUser user, string box) =>
        (await user.PostAsync("getFriendInvites", new { box })).AssertOk().Data.GetProperty("list").EnumerateArray().ToArray();

    static async Task<string[]> BlocksOf(TestUser user) =>
        (await user.PostAsync("getBlockList", new { limit = 100 })).AssertOk().Data.GetProperty("list").EnumerateArray()
        .Select(b => b.GetProperty("user_id").GetString()!).ToArray();

    Task<Group?> GroupAsync(string groupId) => app.Service<IGroupStore>().GetGroupAsync(groupId, default);

    // ---- 1. deletion steps ----

    [Test]
    public async Task DeleteAccount_ends_friendships_removes_invites_both_ways_and_lifts_blocks_by_and_of_the_user()
    {
        var (alice, bob, carol, dave, erin) = (await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync());
        await BefriendAsync(alice, bob);
        await InviteAsync(alice, carol, "alice's invite words");
        await InviteAsync(dave, alice, "dave asks");
        (await alice.PostAsync("blockUser", new { user_id = erin.Uid })).AssertOk();
        (await erin.PostAsync("blockUser", new { user_id = alice.Uid })).AssertOk();
        (await erin.PostAsync("blockUser", new { user_id = dave.Uid })).AssertOk();

        (await alice.PostAsync("deleteAccount")).AssertOk();

        Assert.That(await FriendsOf(bob), Is.Empty);
        Assert.That(await InvitesOf(carol, "received"), Is.Empty, "an invite from a deleted user cannot be accepted");
        Assert.That(await InvitesOf(dave, "sent"), Is.Empty);
        Assert.That(await BlocksOf(erin), Is.EqualTo(new[] { dave.Uid }), "only the block of the deleted user goes");
        (await bob.PostAsync("addFriendInvite", new { to_uid = alice.Uid })).AssertError(404, ErrorCodes.NotFound);
        (await bob.PostAsync("chooseUserIntoGroup", new { user_ids = new[] { alice.Uid } })).AssertError(400, "2000");
    }

    [Test]
    public async Task DeleteAccount_quits_every_group_and_hands_an_owned_one_to_the_longest_standing_admin()
    {
        var (alice, bob, carol, dave, root) = (await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync(),
            await app.LoginAsync(role: [GroupManager.AppAdminRole]));
        // Owned by alice: bob and carol from the start, dave added later as admin, bob made admin afterwards.
        var owned = await alice.CreateGroupAsync(bob, carol);
        (await alice.PostAsync("chooseUserIntoGroup", new { group_id = owned, user_ids = Array.Empty<string>(), admin_uids = new[] { dave.Uid } })).AssertOk();
        (await alice.PostAsync("setGroupAdmin", new { group_id = owned, user_id = bob.Uid, admin = true })).AssertOk();
        var membersOnly = await alice.CreateGroupAsync(carol, dave);
        var alone = await alice.CreateGroupAsync();
        var bobs = await bob.CreateGroupAsync(alice, carol);
        (await alice.SayAsync(bobs, "alice's group words")).AssertOk();

        (await alice.PostAsync("deleteAccount")).AssertOk();

        Assert.That((await GroupAsync(owned))!.UserId, Is.EqualTo(bob.Uid), "the admin who joined first, not the later admin or a member");
        Assert.That(await bob.MemberIdsAsync(owned), Is.EqualTo(GroupTestKit.Sorted(bob, carol, dave)));
        var roles = (await bob.PostAsync("getGroupMembers", new { group_id = owned })).AssertOk().Data.EnumerateArray()
            .ToDictionary(m => m.GetProperty("user_id").GetString()!, m => m.GetProperty("role").ToString());
        Assert.That(roles.Values.Count(r => r.Contains("owner")), Is.EqualTo(1));
        Assert.That((await bob.HistoryAsync(owned)).Actions()[^2..], Is.EqualTo(new[] { "transfer-group-owner", "group-exit" }));

        Assert.That((await GroupAsync(membersOnly))!.UserId, Is.EqualTo(GroupTestKit.Sorted(carol, dave)[0]),
            "no admin: the longest-standing member (same join, then by uid)");
        Assert.That(await carol.MemberIdsAsync(membersOnly), Is.EqualTo(GroupTestKit.Sorted(carol, dave)));

        var dissolved = await root.InfoAsync(alone);
        Assert.That(dissolved.GetProperty("dissolved").GetBoolean(), Is.True, "nobody to hand it to: dissolved, never ownerless");

        Assert.That(await bob.MemberIdsAsync(bobs), Is.EqualTo(GroupTestKit.Sorted(bob, carol)));
        var history = await carol.HistoryAsync(bobs);
        Assert.That(history.Actions()[^1], Is.EqualTo("group-exit"));
        Assert.That(history.Texts(), Does.Not.Contain("alice's group words"));
        Assert.That((await GroupAsync(bobs))!.LastMsg?.Body.ToString(), Does.Not.Contain("alice's"));
    }

    [Test]
    public async Task A_transfer_cut_short_by_a_crash_is_finished_by_the_deletion_and_running_the_steps_again_changes_nothing()
    {
        var (alice, bob, carol) = (await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync());
        var group = await alice.CreateGroupAsync(bob, carol);
        // transferGroupOwner's first step only (carol made owner), as a crash right after it would leave it.
        var store = app.Service<IGroupStore>();
        await store.UpdateMemberAsync(group, carol.Uid, null, m => m! with { Role = GroupRole.Owner }, default);

        (await alice.PostAsync("deleteAccount")).AssertOk();

        Assert.That((await GroupAsync(group))!.UserId, Is.EqualTo(carol.Uid), "the half-made owner, not another member");
        Assert.That(await carol.MemberIdsAsync(group), Is.EqualTo(GroupTestKit.Sorted(bob, carol)));
        var before = (await carol.HistoryAsync(group)).Length;

        var deleted = await app.Service<IImStore>().GetUserAsync(alice.Uid, default);
        foreach (var step in app.Service<IEnumerable<IAccountDeletionStep>>().Where(s => s is not CrashOnce)) await step.RunAsync(deleted!, default);

        Assert.That((await carol.HistoryAsync(group)).Length, Is.EqualTo(before));
        Assert.That((await GroupAsync(group))!.UserId, Is.EqualTo(carol.Uid));
    }

    [Test]
    public async Task DeleteAccount_closes_the_users_pending_join_requests()
    {
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        var group = await bob.CreateGroupAsync(new { name = "asks", join_option = JoinOptions.NeedPermission });
        var requestId = (await alice.PostAsync("applyJoinGroup", new { group_id = group, message = "alice's plea" })).AssertOk()
            .Data.GetProperty("request_id").GetString();

        (await alice.PostAsync("deleteAccount")).AssertOk();

        Assert.That((await bob.PostAsync("getJoinGroupRequests", new { group_id = group })).AssertOk().Data.GetArrayLength(), Is.Zero);
        (await bob.PostAsync("handleJoinGroupRequest", new { request_id = requestId, accept = true })).AssertError(409, ErrorCodes.Conflict);
        Assert.That(await bob.MemberIdsAsync(group), Is.EqualTo(new[] { bob.Uid }));
    }

    // ---- 2. export sections ----

    [Test]
    public async Task The_export_holds_friends_with_remarks_invites_blocks_and_groups_with_roles_seqs_and_join_requests()
    {
        var (alice, bob, carol, dave) = (await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync());
        await BefriendAsync(alice, bob);
        (await alice.PostAsync("setFriendRemark", new { friend_uid = bob.Uid, remark = "Bobby" })).AssertOk();
        await InviteAsync(alice, carol, "hi carol");
        await InviteAsync(dave, alice, "hi alice");
        var blocked = new List<string>();
        for (var i = 0; i < 101; i++)   // more than one store page
        {
            var other = await app.LoginAsync();
            (await alice.PostAsync("blockUser", new { user_id = other.Uid })).AssertOk();
            blocked.Add(other.Uid);
        }
        var owned = await alice.CreateGroupAsync(bob);
        var left = await bob.CreateGroupAsync(alice);
        (await bob.SayAsync(left, "before alice leaves")).AssertOk();
        (await alice.PostAsync("quitGroup", new { group_id = left })).AssertOk();
        var asked = await carol.CreateGroupAsync(new { name = "closed", join_option = JoinOptions.NeedPermission });
        (await alice.PostAsync("applyJoinGroup", new { group_id = asked, message = "let me in" })).AssertOk();

        var data = (await alice.PostAsync("exportMyData")).AssertOk().Data;

        var friends = data.GetProperty("friends");
        var friend = friends.GetProperty("friends").EnumerateArray().Single();
        Assert.That((friend.GetProperty("friend_uid").GetString(), friend.GetProperty("remark").GetString()), Is.EqualTo((bob.Uid, "Bobby")));
        var sent = friends.GetProperty("invites_sent").EnumerateArray().ToDictionary(i => i.GetProperty("to_uid").GetString()!);
        Assert.That(sent.Keys, Is.EquivalentTo(new[] { bob.Uid, carol.Uid }), "the accepted invite stays in the sent box");
        Assert.That((sent[carol.Uid].GetProperty("message").GetString(), sent[carol.Uid].GetProperty("state").GetInt32()), Is.EqualTo(("hi carol", 0)));
        var received = friends.GetProperty("invites_received").EnumerateArray().Single();
        Assert.That(received.GetProperty("from_uid").GetString(), Is.EqualTo(dave.Uid));
        Assert.That(friends.GetProperty("blocks").EnumerateArray().Select(b => b.GetProperty("user_id").GetString()), Is.EquivalentTo(blocked));

        var memberships = data.GetProperty("groups").GetProperty("memberships").EnumerateArray()
            .ToDictionary(m => m.GetProperty("group_id").GetString()!);
        Assert.That(memberships.Keys, Is.EquivalentTo(new[] { owned, left }));
        Assert.That(memberships[owned].GetProperty("role").ToString(), Does.Contain("owner"));
        Assert.That(memberships[owned].GetProperty("leave_seq").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(memberships[left].GetProperty("leave_seq").GetInt64(), Is.GreaterThan(memberships[left].GetProperty("join_seq").GetInt64()));
        var request = data.GetProperty("groups").GetProperty("join_requests").EnumerateArray().Single();
        Assert.That((request.GetProperty("group_id").GetString(), request.GetProperty("message").GetString()), Is.EqualTo((asked, "let me in")));
    }

    // ---- 3. sendSystemMsg to a group ----

    [Test]
    public async Task SendSystemMsg_to_a_group_gets_its_own_seq_reaches_the_members_sockets_and_a_retry_sends_nothing_new()
    {
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        var group = await alice.CreateGroupAsync(bob);
        await using var socket = await FriendsApiTests.SocketOf(bob);
        var headBefore = (await GroupAsync(group))!.LastSeq;
        var call = new { group_id = group, body = new { text = "maintenance at noon" }, action = "notice", client_msg_id = "ops-1" };

        var sent = (await app.SignedAsync("sendSystemMsg", call)).AssertOk().Data;
        var retry = (await app.SignedAsync("sendSystemMsg", call)).AssertOk().Data;

        Assert.That(sent.GetProperty("conversation_id").GetString(), Is.EqualTo("group_" + group));
        Assert.That(sent.GetProperty("seq").GetInt64(), Is.EqualTo(headBefore + 1));
        Assert.That(retry.ToString(), Is.EqualTo(sent.ToString()));
        JsonElement pushed;
        do pushed = (await socket.NextOfTypeAsync("message")).GetProperty("data");
        while (pushed.GetProperty("event").GetString() != "msg");
        Assert.That(pushed.GetProperty("data").GetProperty("_id").GetString(), Is.EqualTo(sent.GetProperty("_id").GetString()));
        var history = await bob.HistoryAsync(group);
        var notices = history.Where(m => m.GetProperty("from_uid").GetString() == "system" && m.GetProperty("body").GetProperty("action").GetString() == "notice").ToList();
        Assert.That(notices.Select(m => m.GetProperty("body").GetProperty("text").GetString()), Is.EqualTo(new[] { "maintenance at noon" }));
        var head = (await GroupAsync(group))!;
        Assert.That((head.LastSeq, head.LastMsg?.Id), Is.EqualTo((headBefore + 1, sent.GetProperty("_id").GetString())));

        (await app.SignedAsync("sendSystemMsg", call with { body = new { text = "something else" } })).AssertError(409, ErrorCodes.Conflict);
        (await alice.PostAsync("dissolveGroup", new { group_id = group })).AssertOk();
        (await app.SignedAsync("sendSystemMsg", new { group_id = group, body = "too late" })).AssertError(403, ErrorCodes.NoPermission);
    }

    // ---- 4. upsertUser beside the accounts' fields ----

    [Test]
    public async Task UpsertUser_keeps_a_logged_out_session_logged_out_and_the_users_contacts()
    {
        var alice = await app.LoginAsync(extraUserInfo: new { mobile = "13800138000" });
        var otherDevice = await app.LoginAsync(alice.Openid);
        (await alice.PostAsync("logout")).AssertOk();

        (await app.SignedAsync("upsertUser", new { ext_uid = alice.Openid, nickname = "Renamed" })).AssertOk();

        (await alice.PostAsync("getConversationList")).AssertError(401, "uni-id-check-token-failed");
        var profile = (await otherDevice.PostAsync("exportMyData")).AssertOk().Data.GetProperty("profile");
        Assert.That((profile.GetProperty("nickname").GetString(), profile.GetProperty("mobile").GetString()), Is.EqualTo(("Renamed", "13800138000")));
    }

    [Test]
    public async Task UpsertUser_for_an_account_being_deleted_finishes_the_deletion_and_makes_a_new_user()
    {
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        await BefriendAsync(alice, bob);
        crash.Armed[alice.Uid] = true;
        Assert.That((await alice.PostAsync("deleteAccount")).Status, Is.EqualTo(500));

        var uid = (await app.SignedAsync("upsertUser", new { ext_uid = alice.Openid, nickname = "Back again" })).AssertOk().Data.GetProperty("uid").GetString();

        Assert.That(uid, Is.Not.EqualTo(alice.Uid), "the deleted account is not brought back");
        (await alice.PostAsync("deleteAccount")).AssertError(401, "uni-id-check-token-failed");
        var old = (await bob.PostAsync("getUserInfo", new { user_ids = new[] { alice.Uid } })).AssertOk().Data.EnumerateArray().Single();
        Assert.That(old.GetProperty("nickname").GetString(), Is.EqualTo(AccountDeletion.DeletedNickname));
        Assert.That(await FriendsOf(bob), Is.Empty, "the deletion was finished, feature steps included");
        Assert.That((await app.LoginAsync(alice.Openid)).Uid, Is.EqualTo(uid));
    }

    // ---- 5. erasure reaches the search index ----

    [Test]
    public async Task A_deleted_users_messages_are_no_longer_found_by_searchMessages()
    {
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        var group = await bob.CreateGroupAsync(alice);
        (await alice.SendTextAsync(bob.Uid, "the unicorn plan")).AssertOk();
        (await alice.SayAsync(group, "unicorn in the group")).AssertOk();
        (await bob.SendTextAsync(alice.Uid, "bob's own zebra")).AssertOk();
        Assert.That((await bob.PostAsync("searchMessages", new { keyword = "unicorn" })).AssertOk().Data.GetProperty("list").GetArrayLength(), Is.EqualTo(2));

        (await alice.PostAsync("deleteAccount")).AssertOk();

        foreach (var keyword in new[] { "unicorn", "un", "plan" })
            Assert.That((await bob.PostAsync("searchMessages", new { keyword })).AssertOk().Data.GetProperty("list").GetArrayLength(), Is.Zero, keyword);
        Assert.That((await bob.PostAsync("searchMessages", new { keyword = "zebra" })).AssertOk().Data.GetProperty("list").GetArrayLength(), Is.EqualTo(1));
    }
}

/// <summary>from_ip (UniIm:RecordIp) stays out of search hits and webhook events, whoever asks.</summary>
public sealed class FromIpExposureTests
{
    [Test]
    public async Task From_ip_is_recorded_but_never_in_search_hits_or_event_payloads()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var settings = new Dictionary<string, string?>(S2SSigner.Settings)
        {
            ["UniIm:RecordIp"] = "true",
            ["Webhooks:Secret"] = WebhookReceiver.Secret,
            ["Webhooks:EventsUrl"] = receiver.Url.ToString(),
            ["Webhooks:EventsPollInterval"] = "00:00:00.2",
        };
        await using var app = await TestApp.StartAsync(settings);
        var (alice, admin) = (await app.LoginAsync(), await app.LoginAsync(role: ["uni-im-admin"]));
        var sent = (await alice.SendTextAsync(admin.Uid, "where am I")).AssertOk().Data;
        var conversationId = sent.GetProperty("conversation_id").GetString();
        var history = (await admin.PostAsync("getMsgList", new { conversation_id = conversationId })).AssertOk().Data.EnumerateArray().Single();
        Assert.That(history.GetProperty("from_ip").GetString(), Is.EqualTo("127.0.0.1"), "recorded, and shown to uni-im-admin in history");
        (await alice.PostAsync("editMsg", new { conversation_id = conversationId, msg_id = sent.GetProperty("_id").GetString(), body = "where am I now" })).AssertOk();

        var hits = (await admin.PostAsync("searchMessages", new { keyword = "where" })).AssertOk().Data.GetProperty("list");
        Assert.That(hits.GetArrayLength(), Is.EqualTo(1));
        Assert.That(hits.ToString(), Does.Not.Contain("from_ip").And.Not.Contain("127.0.0.1"));

        var sentEvent = "message.sent:" + sent.GetProperty("_id").GetString();
        await receiver.WaitForAsync(sentEvent);
        Assert.That(string.Join("\n", receiver.Events), Does.Not.Contain("from_ip").And.Not.Contain("127.0.0.1"));
    }
}
