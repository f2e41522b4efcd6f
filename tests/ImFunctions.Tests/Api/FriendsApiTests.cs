using System.Text.Json;
using ImFunctions.Core.Domain;
using ImFunctions.Tests.Push;
using ImFunctions.Tests.Support;

namespace ImFunctions.Tests.Api;

/// <summary>Friends, invites and blocks through the real app: real tokens, real HTTP, real sockets.</summary>
public sealed class FriendsApiTests
{
    TestApp app = null!;

    [OneTimeSetUp]
    public async Task Start() => app = await TestApp.StartAsync();

    [OneTimeTearDown]
    public async Task Stop() => await app.DisposeAsync();

    static async Task<JsonElement> InviteAsync(TestUser from, TestUser to, string? message = null) =>
        (await from.PostAsync("addFriendInvite", new { to_uid = to.Uid, message })).AssertOk().Data;

    static async Task BefriendAsync(TestUser a, TestUser b)
    {
        var invite = await InviteAsync(a, b);
        (await b.PostAsync("acceptFriendInvite", new { invite_id = invite.GetProperty("_id").GetString() })).AssertOk();
    }

    static async Task<string[]> FriendsOf(TestUser user) =>
        (await user.PostAsync("getFriendList", new { limit = 100 })).AssertOk().Data.GetProperty("list").EnumerateArray()
        .Select(f => f.GetProperty("friend_uid").GetString()!).ToArray();

    static async Task<JsonElement[]> InvitesOf(TestUser user, string box) =>
        (await user.PostAsync("getFriendInvites", new { box })).AssertOk().Data.GetProperty("list").EnumerateArray().ToArray();

    internal static async Task<HubSocket> SocketOf(TestUser user)
    {
        var url = (await user.PostAsync("negotiate")).AssertOk().Data.GetProperty("url").GetString()!;
        var socket = await HubSocket.ConnectAsync(new Uri(url), HubSocket.Json);
        await socket.NextAsync();   // connected
        return socket;
    }

    /// <summary>The data of the next push of this event, skipping others.</summary>
    internal static async Task<JsonElement> NextEventAsync(HubSocket socket, string eventName)
    {
        while (true)
        {
            var data = (await socket.NextOfTypeAsync("message")).GetProperty("data");
            if (data.GetProperty("event").GetString() == eventName) return data.GetProperty("data");
        }
    }

    [Test]
    public async Task An_accepted_invite_makes_both_users_friends_and_both_hear_of_it()
    {
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        await using var bobSocket = await SocketOf(bob);
        await using var aliceSocket = await SocketOf(alice);

        var invite = await InviteAsync(alice, bob, "hi, it's alice");
        var pushed = await NextEventAsync(bobSocket, "friend");
        Assert.That(pushed.GetProperty("action").GetString(), Is.EqualTo("invite"));
        Assert.That(pushed.GetProperty("invite").GetProperty("_id").GetString(), Is.EqualTo(invite.GetProperty("_id").GetString()));
        Assert.That(pushed.GetProperty("invite").GetProperty("user_info").GetProperty("_id").GetString(), Is.EqualTo(alice.Uid));

        var received = (await InvitesOf(bob, "received")).Single();
        Assert.That((received.GetProperty("from_uid").GetString(), received.GetProperty("message").GetString(), received.GetProperty("state").GetInt32()),
            Is.EqualTo((alice.Uid, "hi, it's alice", 0)));
        Assert.That((await InvitesOf(alice, "sent")).Single().GetProperty("to_uid").GetString(), Is.EqualTo(bob.Uid));
        Assert.That(await InvitesOf(alice, "received"), Is.Empty);

        var accepted = (await bob.PostAsync("acceptFriendInvite", new { invite_id = received.GetProperty("_id").GetString() })).AssertOk().Data;
        Assert.That(accepted.GetProperty("state").GetInt32(), Is.EqualTo(100));
        Assert.That((await NextEventAsync(aliceSocket, "friend")).GetProperty("action").GetString(), Is.EqualTo("invite"), "the inviter's devices");
        Assert.That((await NextEventAsync(aliceSocket, "friend")).GetProperty("action").GetString(), Is.EqualTo("accepted"));
        Assert.That(await FriendsOf(alice), Is.EqualTo(new[] { bob.Uid }));
        Assert.That(await FriendsOf(bob), Is.EqualTo(new[] { alice.Uid }));
        Assert.That((await InvitesOf(alice, "sent")).Single().GetProperty("state").GetInt32(), Is.EqualTo(100), "the sent box follows");
    }

    [Test]
    public async Task An_invite_handled_once_cannot_be_handled_again()
    {
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        var id = (await InviteAsync(alice, bob)).GetProperty("_id").GetString();
        (await bob.PostAsync("acceptFriendInvite", new { invite_id = id })).AssertOk();

        (await bob.PostAsync("acceptFriendInvite", new { invite_id = id })).AssertError(409, ErrorCodes.Conflict);
        (await bob.PostAsync("rejectFriendInvite", new { invite_id = id })).AssertError(409, ErrorCodes.Conflict);
        Assert.That((await InvitesOf(bob, "received")).Single().GetProperty("state").GetInt32(), Is.EqualTo(100));
        Assert.That(await FriendsOf(bob), Is.EqualTo(new[] { alice.Uid }));
    }

    [Test]
    public async Task Inviting_a_friend_again_answers_1000_and_writes_nothing()
    {
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        await BefriendAsync(alice, bob);
        var before = (await InvitesOf(bob, "received")).Single().ToString();

        (await alice.PostAsync("addFriendInvite", new { to_uid = bob.Uid })).AssertError(409, "1000");
        (await bob.PostAsync("addFriendInvite", new { to_uid = alice.Uid })).AssertError(409, "1000");

        Assert.That((await InvitesOf(bob, "received")).Single().ToString(), Is.EqualTo(before));
        Assert.That(await InvitesOf(alice, "received"), Is.Empty);
    }

    [Test]
    public async Task Inviting_yourself_or_an_unknown_user_is_refused_and_writes_nothing()
    {
        var alice = await app.LoginAsync();
        (await alice.PostAsync("addFriendInvite", new { to_uid = alice.Uid })).AssertError(400, ErrorCodes.InvalidParam);
        (await alice.PostAsync("addFriendInvite", new { to_uid = "000000000000000000000000" })).AssertError(404, ErrorCodes.NotFound);
        Assert.That(await InvitesOf(alice, "sent"), Is.Empty);
        Assert.That(await InvitesOf(alice, "received"), Is.Empty);
    }

    [Test]
    public async Task A_pending_invite_is_not_duplicated()
    {
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        var first = await InviteAsync(alice, bob, "one");
        var again = await InviteAsync(alice, bob, "two");

        Assert.That(again.GetProperty("_id").GetString(), Is.EqualTo(first.GetProperty("_id").GetString()));
        Assert.That((await InvitesOf(bob, "received")).Select(i => i.GetProperty("message").GetString()), Is.EqualTo(new[] { "one" }));
        Assert.That(await InvitesOf(alice, "sent"), Has.Length.EqualTo(1));
    }

    [Test]
    public async Task A_rejected_invite_is_told_to_the_inviter_and_can_be_renewed()
    {
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        await using var aliceSocket = await SocketOf(alice);
        var id = (await InviteAsync(alice, bob)).GetProperty("_id").GetString();

        var rejected = (await bob.PostAsync("rejectFriendInvite", new { invite_id = id })).AssertOk().Data;
        Assert.That(rejected.GetProperty("state").GetInt32(), Is.EqualTo(-100));
        Assert.That((await NextEventAsync(aliceSocket, "friend")).GetProperty("action").GetString(), Is.EqualTo("invite"));
        Assert.That((await NextEventAsync(aliceSocket, "friend")).GetProperty("action").GetString(), Is.EqualTo("rejected"));
        (await bob.PostAsync("rejectFriendInvite", new { invite_id = id })).AssertError(409, ErrorCodes.Conflict);
        Assert.That(await FriendsOf(alice), Is.Empty);

        var renewed = await InviteAsync(alice, bob, "please?");
        Assert.That((renewed.GetProperty("_id").GetString(), renewed.GetProperty("state").GetInt32()), Is.EqualTo((id, 0)));
        (await bob.PostAsync("acceptFriendInvite", new { invite_id = id })).AssertOk();
        Assert.That(await FriendsOf(alice), Is.EqualTo(new[] { bob.Uid }));
    }

    [Test]
    public async Task Only_the_invitee_may_accept_or_reject()
    {
        var (alice, bob, carol) = (await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync());
        var id = (await InviteAsync(alice, bob)).GetProperty("_id").GetString();

        (await alice.PostAsync("acceptFriendInvite", new { invite_id = id })).AssertError(403, ErrorCodes.NoPermission);
        (await alice.PostAsync("rejectFriendInvite", new { invite_id = id })).AssertError(403, ErrorCodes.NoPermission);
        (await carol.PostAsync("acceptFriendInvite", new { invite_id = id })).AssertError(404, ErrorCodes.NotFound);
        (await carol.PostAsync("rejectFriendInvite", new { invite_id = id })).AssertError(404, ErrorCodes.NotFound);

        Assert.That((await InvitesOf(bob, "received")).Single().GetProperty("state").GetInt32(), Is.EqualTo(0));
        Assert.That(await FriendsOf(alice), Is.Empty);
        Assert.That(await FriendsOf(carol), Is.Empty);
    }

    [Test]
    public async Task A_mutual_invite_is_an_acceptance()
    {
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        await InviteAsync(alice, bob);
        var second = await InviteAsync(bob, alice);

        Assert.That(second.GetProperty("state").GetInt32(), Is.EqualTo(100));
        Assert.That(await FriendsOf(alice), Is.EqualTo(new[] { bob.Uid }));
        Assert.That(await FriendsOf(bob), Is.EqualTo(new[] { alice.Uid }));
        Assert.That((await InvitesOf(bob, "received")).Concat(await InvitesOf(alice, "received")).Select(i => i.GetProperty("state").GetInt32()),
            Is.All.EqualTo(100));
    }

    [Test]
    public async Task Concurrent_crossing_invites_and_concurrent_accepts_make_exactly_one_friendship()
    {
        for (var round = 0; round < 5; round++)
        {
            var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
            await Task.WhenAll(InviteAsync(alice, bob), InviteAsync(bob, alice));
            Assert.That(await FriendsOf(alice), Is.EqualTo(new[] { bob.Uid }), $"round {round}");
            Assert.That(await FriendsOf(bob), Is.EqualTo(new[] { alice.Uid }), $"round {round}");
        }

        var (carol, dave) = (await app.LoginAsync(), await app.LoginAsync());
        var id = (await InviteAsync(carol, dave)).GetProperty("_id").GetString();
        var replies = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => dave.PostAsync("acceptFriendInvite", new { invite_id = id })));
        Assert.That(replies.Count(r => r.Status == 200), Is.EqualTo(1));
        Assert.That(replies.Where(r => r.Status != 200).Select(r => (r.Status, r.ErrCode)), Is.All.EqualTo((409, ErrorCodes.Conflict)));
        Assert.That(await FriendsOf(carol), Is.EqualTo(new[] { dave.Uid }));
        Assert.That(await FriendsOf(dave), Is.EqualTo(new[] { carol.Uid }));
    }

    [Test]
    public async Task Deleting_a_friend_ends_it_on_both_sides_and_keeps_the_history()
    {
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        await BefriendAsync(alice, bob);
        var conversation = (await alice.SendTextAsync(bob.Uid, "before")).AssertOk().Data.GetProperty("conversation_id").GetString();
        await using var bobSocket = await SocketOf(bob);

        (await alice.PostAsync("deleteFriend", new { friend_uid = bob.Uid })).AssertOk();
        var pushed = await NextEventAsync(bobSocket, "friend");
        Assert.That((pushed.GetProperty("action").GetString(), pushed.GetProperty("user_id").GetString()), Is.EqualTo(("deleted", alice.Uid)));

        Assert.That(await FriendsOf(alice), Is.Empty);
        Assert.That(await FriendsOf(bob), Is.Empty);
        var history = (await bob.PostAsync("getMsgList", new { conversation_id = conversation })).AssertOk().Data;
        Assert.That(history.EnumerateArray().Select(m => m.GetProperty("body").GetString()), Is.EqualTo(new[] { "before" }));
        (await alice.PostAsync("deleteFriend", new { friend_uid = bob.Uid })).AssertError(404, ErrorCodes.NotFound);
        (await bob.PostAsync("deleteFriend", new { friend_uid = alice.Uid })).AssertError(404, ErrorCodes.NotFound);
        await BefriendAsync(bob, alice);   // and they may become friends again
        Assert.That(await FriendsOf(alice), Is.EqualTo(new[] { bob.Uid }));
    }

    [Test]
    public async Task A_remark_is_the_callers_own_and_only_for_friends()
    {
        var (alice, bob, carol) = (await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync());
        await BefriendAsync(alice, bob);

        (await alice.PostAsync("setFriendRemark", new { friend_uid = bob.Uid, remark = "Bobby" })).AssertOk();
        (await alice.PostAsync("setFriendRemark", new { friend_uid = carol.Uid, remark = "x" })).AssertError(404, ErrorCodes.NotFound);
        (await alice.PostAsync("setFriendRemark", new { friend_uid = bob.Uid, remark = new string('r', 51) })).AssertError(400, ErrorCodes.InvalidParam);

        var mine = (await alice.PostAsync("getFriendList")).AssertOk().Data.GetProperty("list")[0];
        var theirs = (await bob.PostAsync("getFriendList")).AssertOk().Data.GetProperty("list")[0];
        Assert.That(mine.GetProperty("remark").GetString(), Is.EqualTo("Bobby"));
        Assert.That(mine.GetProperty("user_info").GetProperty("_id").GetString(), Is.EqualTo(bob.Uid));
        Assert.That(theirs.GetProperty("remark").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(await FriendsOf(carol), Is.Empty);
    }

    [Test]
    public async Task The_friend_list_pages_by_cursor_without_skipping_or_repeating()
    {
        var me = await app.LoginAsync();
        var friends = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var other = await app.LoginAsync();
            await BefriendAsync(other, me);
            friends.Add(other.Uid);
        }

        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = (await me.PostAsync("getFriendList", new { limit = 2, cursor })).AssertOk().Data;
            seen.AddRange(page.GetProperty("list").EnumerateArray().Select(f => f.GetProperty("friend_uid").GetString()!));
            cursor = page.GetProperty("next_cursor").GetString();
            pages++;
        } while (cursor is not null);

        Assert.That(seen, Is.EquivalentTo(friends));
        Assert.That(seen, Is.Unique);
        Assert.That(pages, Is.EqualTo(3));
    }

    [TestCase("addFriendInvite", "{}", "to_uid")]
    [TestCase("addFriendInvite", "{\"to_uid\":7}", "to_uid")]
    [TestCase("getFriendInvites", "{\"box\":\"spam\"}", "box")]
    [TestCase("getFriendInvites", "{\"limit\":0}", "limit")]
    [TestCase("acceptFriendInvite", "{}", "invite_id")]
    [TestCase("rejectFriendInvite", "{\"invite_id\":\"\"}", "invite_id")]
    [TestCase("deleteFriend", "{}", "friend_uid")]
    [TestCase("getFriendList", "{\"limit\":101}", "limit")]
    [TestCase("setFriendRemark", "{\"friend_uid\":\"x\"}", "remark")]
    [TestCase("blockUser", "{}", "user_id")]
    [TestCase("unblockUser", "{\"user_id\":true}", "user_id")]
    [TestCase("getBlockList", "{\"cursor\":\"\"}", "cursor")]
    public async Task Bad_input_is_a_400_naming_the_field(string method, string body, string field)
    {
        var user = await app.LoginAsync();
        var reply = await app.PostRawAsync(method, body, user.Token);
        reply.AssertError(400, ErrorCodes.InvalidParam);
        Assert.That(reply.Body.GetProperty("errMsg").GetString(), Does.StartWith(field));
    }

    [TestCase("addFriendInvite")]
    [TestCase("getFriendList")]
    [TestCase("blockUser")]
    [TestCase("getBlockList")]
    public async Task Friend_methods_need_a_token(string method) =>
        (await app.PostAsync(method, new { })).AssertError(401, ErrorCodes.TokenInvalid);

    [Test]
    public async Task A_blocked_user_can_neither_reply_nor_invite_and_sees_no_trace_of_the_block()
    {
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        var conversation = (await alice.SendTextAsync(bob.Uid, "hi bob")).AssertOk().Data.GetProperty("conversation_id").GetString();
        var rowBefore = (await alice.PostAsync("getConversationList")).AssertOk().Data[0];

        (await bob.PostAsync("blockUser", new { user_id = alice.Uid })).AssertOk();

        (await alice.SendTextAsync(bob.Uid, "are you there?")).AssertError(403, ErrorCodes.NoPermission);
        (await alice.PostAsync("addFriendInvite", new { to_uid = bob.Uid })).AssertError(403, ErrorCodes.NoPermission);
        var history = (await bob.PostAsync("getMsgList", new { conversation_id = conversation })).AssertOk().Data;
        Assert.That(history.GetArrayLength(), Is.EqualTo(1), "nothing stored");
        Assert.That(await InvitesOf(bob, "received"), Is.Empty);
        Assert.That(await InvitesOf(alice, "sent"), Is.Empty);
        var rowAfter = (await alice.PostAsync("getConversationList")).AssertOk().Data[0];
        Assert.That(rowAfter.ToString(), Is.EqualTo(rowBefore.ToString()), "alice's row shows nothing of the block");
        Assert.That(rowAfter.ToString(), Does.Not.Contain("block"));

        var blocked = (await bob.PostAsync("getBlockList")).AssertOk().Data.GetProperty("list");
        Assert.That(blocked.EnumerateArray().Select(b => b.GetProperty("user_id").GetString()), Is.EqualTo(new[] { alice.Uid }));
        (await bob.SendTextAsync(alice.Uid, "I can still write")).AssertOk();
        (await alice.SendTextAsync(bob.Uid, "but I cannot answer")).AssertError(403, ErrorCodes.NoPermission);

        (await bob.PostAsync("unblockUser", new { user_id = alice.Uid })).AssertOk();
        (await alice.SendTextAsync(bob.Uid, "thanks")).AssertOk();
        Assert.That((await bob.PostAsync("getBlockList")).AssertOk().Data.GetProperty("list").GetArrayLength(), Is.Zero);
    }

    [Test]
    public async Task A_block_before_any_conversation_holds_for_the_first_message_and_after_the_blocker_writes()
    {
        var (carol, dave) = (await app.LoginAsync(), await app.LoginAsync());
        (await carol.PostAsync("blockUser", new { user_id = dave.Uid })).AssertOk();

        (await dave.SendTextAsync(carol.Uid, "hello?")).AssertError(403, ErrorCodes.NoPermission);
        Assert.That((await dave.PostAsync("getConversationList")).AssertOk().Data.GetArrayLength(), Is.Zero, "nothing written");
        (await carol.SendTextAsync(dave.Uid, "one-way")).AssertOk();
        (await dave.SendTextAsync(carol.Uid, "reply")).AssertError(403, ErrorCodes.NoPermission);

        (await carol.PostAsync("unblockUser", new { user_id = dave.Uid })).AssertOk();
        (await dave.SendTextAsync(carol.Uid, "reply")).AssertOk();
    }

    [Test]
    public async Task Blocking_yourself_or_an_unknown_user_is_refused_and_writes_nothing()
    {
        var alice = await app.LoginAsync();
        (await alice.PostAsync("blockUser", new { user_id = alice.Uid })).AssertError(400, ErrorCodes.InvalidParam);
        (await alice.PostAsync("blockUser", new { user_id = "000000000000000000000000" })).AssertError(404, ErrorCodes.NotFound);
        Assert.That((await alice.PostAsync("getBlockList")).AssertOk().Data.GetProperty("list").GetArrayLength(), Is.Zero);
    }
}
