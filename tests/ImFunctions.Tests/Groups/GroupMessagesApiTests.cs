using System.Text.Json;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Messages;
using ImFunctions.Tests.Push;
using ImFunctions.Tests.Support;
using static ImFunctions.Tests.Api.MessageTypesTests;

namespace ImFunctions.Tests.Groups;

/// <summary>
/// The messages feature inside groups, through the real app: body rules, replies, forwards, cards and mentions on the
/// group send; revoke and edit with the group's rights; search within what a member may see; pushes on the group's sockets.
/// </summary>
public sealed class GroupMessagesApiTests
{
    TestApp app = null!;
    TestApp strictApp = null!;        // every sender window already closed: only group rights allow a revoke
    TestApp membersMayAllApp = null!; // UniIm:MentionAllByMembers

    [OneTimeSetUp]
    public async Task Start()
    {
        app = await TestApp.StartAsync();
        strictApp = await TestApp.StartAsync(new Dictionary<string, string?> { ["UniIm:RevokeWindow"] = "-00:00:01" });
        membersMayAllApp = await TestApp.StartAsync(new Dictionary<string, string?> { ["UniIm:MentionAllByMembers"] = "true" });
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        await app.DisposeAsync();
        await strictApp.DisposeAsync();
        await membersMayAllApp.DisposeAsync();
    }

    static string Id(JsonElement sent) => sent.GetProperty("_id").GetString()!;
    static string Conversation(string groupId) => "group_" + groupId;

    static Task<ApiReply> SendAsync(TestUser user, string groupId, string type, object body, object? extra = null)
    {
        var request = new Dictionary<string, object?> { ["group_id"] = groupId, ["appId"] = "__UNI__TEST", ["type"] = type, ["body"] = body };
        if (extra is not null)
            foreach (var p in JsonSerializer.SerializeToElement(extra).EnumerateObject()) request[p.Name] = p.Value;
        return user.PostAsync("sendMsg", request);
    }

    static Task<ApiReply> MentionAsync(TestUser user, string groupId, string text, params string[] uids) =>
        SendAsync(user, groupId, "text", text, new { call_uid = uids });

    static async Task<JsonElement> RowAsync(TestUser user, string groupId) =>
        (await user.PostAsync("getConversationList", new { conversation_id = Conversation(groupId) })).AssertOk().Data[0];

    static async Task<string[]> RemindsAsync(TestUser user, string groupId) =>
        (await RowAsync(user, groupId)).GetProperty("remind_msg_ids").EnumerateArray().Select(i => i.GetString()!).ToArray();

    static object Target(string groupId, JsonElement sent) => new { msg_id = Id(sent), conversation_id = Conversation(groupId) };

    /// <summary>Events on the socket up to and including the msg whose text body is <paramref name="marker"/>.</summary>
    static async Task<List<JsonElement>> EventsUntilAsync(HubSocket socket, string marker)
    {
        var seen = new List<JsonElement>();
        while (true)
        {
            var push = await NextPushAsync(socket);
            seen.Add(push);
            if (push.GetProperty("event").GetString() == "msg" && push.GetProperty("data").TryGetProperty("body", out var body)
                && body.ValueKind == JsonValueKind.String && body.GetString() == marker)
                return seen;
        }
    }

    /// <summary>The msg push of one message (the group's earlier system messages may still be on their way).</summary>
    static async Task<JsonElement> NextMsgAsync(HubSocket socket, string messageId)
    {
        while (true)
        {
            var push = await NextEventAsync(socket, "msg");
            if (push.GetProperty("data").GetProperty("_id").GetString() == messageId) return push;
        }
    }

    static async Task<string> GroupWithAdminAsync(TestUser owner, TestUser admin, params TestUser[] members)
    {
        var groupId = await owner.CreateGroupAsync([admin, .. members]);
        (await owner.PostAsync("setGroupAdmin", new { group_id = groupId, user_id = admin.Uid, admin = true })).AssertOk();
        return groupId;
    }

    [Test]
    public async Task A_group_send_refuses_the_same_bodies_as_a_single_chat_before_writing_and_fills_a_card_on_the_server()
    {
        var (owner, bob) = (await app.LoginAsync(), await app.LoginAsync());
        var carol = await app.LoginAsync(extraUserInfo: new { nickname = "Carol Card" });
        var groupId = await owner.CreateGroupAsync(bob);
        var before = (await bob.HistoryAsync(groupId)).Length;

        (await SendAsync(bob, groupId, "rich-text", new object[] { new { name = "script" } })).AssertError(400, ErrorCodes.InvalidParam);
        (await SendAsync(bob, groupId, "image", new { url = "http://cdn.example/a.png" })).AssertError(400, ErrorCodes.InvalidParam);
        (await SendAsync(bob, groupId, "clear-conversation-unreadCount", "x")).AssertError(400, ErrorCodes.InvalidParam);
        (await SendAsync(bob, groupId, "userinfo-card", new { user_id = carol.Uid, name = "forged" })).AssertError(400, ErrorCodes.InvalidParam);
        (await SendAsync(bob, groupId, "userinfo-card", new { user_id = "no-such-user" })).AssertError(404, ErrorCodes.NotFound);
        Assert.That((await bob.HistoryAsync(groupId)).Length, Is.EqualTo(before), "refusals write nothing");

        (await SendAsync(bob, groupId, "userinfo-card", new { user_id = carol.Uid })).AssertOk();
        var stored = (await owner.HistoryAsync(groupId))[^1];
        Assert.That(stored.GetProperty("body").GetProperty("name").GetString(), Is.EqualTo("Carol Card"));
        Assert.That((await RowAsync(owner, groupId)).GetProperty("last_msg_note").GetString(), Is.EqualTo("Carol Card 的名片"));
    }

    [Test]
    public async Task A_reply_names_a_message_of_this_group_the_sender_can_see_and_reminds_its_author()
    {
        var (owner, bob, newcomer, stranger) = (await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync());
        var groupId = await owner.CreateGroupAsync(bob);
        var question = (await owner.SayAsync(groupId, "question")).AssertOk().Data;
        var elsewhere = (await stranger.SendTextAsync(bob.Uid, "not in the group")).AssertOk().Data;
        (await owner.PostAsync("updateGroupInfo", new { group_id = groupId, history_visible = false })).AssertOk();
        (await owner.PostAsync("chooseUserIntoGroup", new { group_id = groupId, user_ids = new[] { newcomer.Uid } })).AssertOk();
        var headBefore = (await RowAsync(owner, groupId)).GetProperty("last_seq").GetInt64();

        (await SendAsync(bob, groupId, "text", "peek", new { about_msg_id = Id(elsewhere) })).AssertError(404, ErrorCodes.NotFound);
        (await SendAsync(bob, groupId, "text", "peek", new { about_msg_id = "no-such-message" })).AssertError(404, ErrorCodes.NotFound);
        (await SendAsync(newcomer, groupId, "text", "what question?", new { about_msg_id = Id(question) })).AssertError(404, ErrorCodes.NotFound);
        Assert.That((await RowAsync(owner, groupId)).GetProperty("last_seq").GetInt64(), Is.EqualTo(headBefore), "refusals write nothing");

        var answer = (await SendAsync(bob, groupId, "text", "answer", new { about_msg_id = Id(question) })).AssertOk().Data;
        var stored = (await owner.HistoryAsync(groupId))[^1];
        Assert.That(stored.GetProperty("about_msg_id").GetString(), Is.EqualTo(Id(question)));
        Assert.That(stored.GetProperty("call_uid").EnumerateArray().Select(u => u.GetString()), Is.EqualTo(new[] { owner.Uid }));
        Assert.That(await RemindsAsync(owner, groupId), Is.EqualTo(new[] { Id(answer) }));
        Assert.That(await RemindsAsync(newcomer, groupId), Is.Empty);
    }

    [Test]
    public async Task A_reply_to_a_system_message_or_to_someone_who_left_is_sent_and_reminds_nobody()
    {
        var (owner, bob, carol) = (await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync());
        var groupId = await owner.CreateGroupAsync(bob, carol);
        var joined = (await owner.HistoryAsync(groupId)).First(m => m.GetProperty("from_uid").GetString() == "system");
        var farewell = (await carol.SayAsync(groupId, "bye all")).AssertOk().Data;
        (await carol.PostAsync("quitGroup", new { group_id = groupId })).AssertOk();

        var toSystem = (await SendAsync(bob, groupId, "text", "welcome!", new { about_msg_id = Id(joined) })).AssertOk().Data;
        var toLeaver = (await SendAsync(bob, groupId, "text", "bye carol", new { about_msg_id = Id(farewell) })).AssertOk().Data;

        var history = await owner.HistoryAsync(groupId);
        foreach (var sent in new[] { toSystem, toLeaver })
            Assert.That(history.Single(m => Id(m) == Id(sent)).TryGetProperty("call_uid", out _), Is.False);
        Assert.That(await RemindsAsync(carol, groupId), Is.Empty);
    }

    [Test]
    public async Task A_forward_copies_only_group_messages_the_forwarder_can_see()
    {
        var (owner, bob, newcomer, friend) = (await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync());
        var groupId = await owner.CreateGroupAsync(bob);
        var old = (await bob.SayAsync(groupId, "before the newcomer")).AssertOk().Data;
        (await owner.PostAsync("updateGroupInfo", new { group_id = groupId, history_visible = false })).AssertOk();
        (await owner.PostAsync("chooseUserIntoGroup", new { group_id = groupId, user_ids = new[] { newcomer.Uid } })).AssertOk();
        var later = (await bob.SayAsync(groupId, "after the newcomer")).AssertOk().Data;
        var history = (string source, params JsonElement[] sent) => new { conversation_id = source, msg_ids = sent.Select(Id).ToArray() };

        (await newcomer.PostAsync("sendMsg", new { to_uid = friend.Uid, appId = "a", type = "history", body = history(Conversation(groupId), old) }))
            .AssertError(404, ErrorCodes.NotFound);
        var forwarded = (await newcomer.PostAsync("sendMsg", new { to_uid = friend.Uid, appId = "a", type = "history",
            body = history(Conversation(groupId), later) })).AssertOk().Data;
        (await SendAsync(owner, groupId, "history", history(Conversation(groupId), old, later))).AssertOk();

        var copy = (await friend.PostAsync("getMsgList", new { conversation_id = forwarded.GetProperty("conversation_id").GetString() }))
            .AssertOk().Data[0].GetProperty("body");
        Assert.That(copy.GetProperty("title").GetString(), Is.EqualTo("群聊天记录"));
        Assert.That(copy.GetProperty("msg_list").EnumerateArray().Select(m => m.GetProperty("body").GetString()), Is.EqualTo(new[] { "after the newcomer" }));
        var inGroup = (await bob.HistoryAsync(groupId))[^1].GetProperty("body").GetProperty("msg_list");
        Assert.That(inGroup.EnumerateArray().Select(m => m.GetProperty("body").GetString()),
            Is.EqualTo(new[] { "before the newcomer", "after the newcomer" }));
    }

    [Test]
    public async Task Mentions_name_current_members_only_and_everyone_only_by_the_owner_or_an_admin()
    {
        var (owner, admin, bob, carol, outsider) =
            (await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync());
        var groupId = await GroupWithAdminAsync(owner, admin, bob, carol);
        (await owner.PostAsync("expelGroupMember", new { group_id = groupId, user_id = carol.Uid })).AssertOk();
        var headBefore = (await RowAsync(owner, groupId)).GetProperty("last_seq").GetInt64();

        (await MentionAsync(bob, groupId, "hey", outsider.Uid)).AssertError(400, ErrorCodes.InvalidParam);
        (await MentionAsync(bob, groupId, "hey", carol.Uid)).AssertError(400, ErrorCodes.InvalidParam);
        (await MentionAsync(bob, groupId, "everyone!", "__ALL")).AssertError(403, ErrorCodes.NoPermission);
        var richAll = new object[] { new { name = "span", attrs = new { @class = "nickname", user_id = "__ALL" } } };
        (await SendAsync(bob, groupId, "rich-text", richAll)).AssertError(403, ErrorCodes.NoPermission);
        Assert.That((await RowAsync(owner, groupId)).GetProperty("last_seq").GetInt64(), Is.EqualTo(headBefore), "refusals write nothing");

        (await MentionAsync(admin, groupId, "everyone, from the admin", "__ALL")).AssertOk();
        (await MentionAsync(owner, groupId, "everyone, from the owner", "__ALL")).AssertOk();

        var (member, other) = (await membersMayAllApp.LoginAsync(), await membersMayAllApp.LoginAsync());
        var open = await member.CreateGroupAsync(other);
        (await MentionAsync(other, open, "everyone, from a member", "__ALL")).AssertOk();
    }

    [Test]
    public async Task A_mention_is_flagged_on_the_group_push_and_reminds_the_named_member_until_cleared()
    {
        var (owner, bob, carol) = (await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync());
        var groupId = await owner.CreateGroupAsync(bob, carol);
        await using var bobSocket = await OpenAsync(bob);
        await using var carolSocket = await OpenAsync(carol);

        var nodes = new object[] { new { name = "span", attrs = new { @class = "nickname", user_id = bob.Uid },
            children = new object[] { new { type = "text", text = "@bob" } } }, new { type = "text", text = " look" } };
        var sent = (await SendAsync(owner, groupId, "rich-text", nodes)).AssertOk().Data;

        foreach (var socket in new[] { bobSocket, carolSocket })
        {
            var pushed = await NextMsgAsync(socket, Id(sent));
            Assert.That(pushed.GetProperty("is_mention").GetBoolean(), Is.True, "the mute rule lets it through");
            Assert.That(pushed.GetProperty("data").GetProperty("call_uid").EnumerateArray().Select(u => u.GetString()), Is.EqualTo(new[] { bob.Uid }));
        }
        Assert.That(await RemindsAsync(bob, groupId), Is.EqualTo(new[] { Id(sent) }));
        Assert.That((await RowAsync(bob, groupId)).GetProperty("has_remind").GetBoolean(), Is.True);
        Assert.That(await RemindsAsync(carol, groupId), Is.Empty);
        Assert.That(await RemindsAsync(owner, groupId), Is.Empty);

        (await bob.PostAsync("clearUnreadCount", new { conversation_id = Conversation(groupId) })).AssertOk();
        Assert.That(await RemindsAsync(bob, groupId), Is.EqualTo(new[] { Id(sent) }), "a mention by name stays until cleared, as in a single chat");
        // The list and its has_remind_msg filter see it too, after reading (the row's mirrored cursor is at the head).
        var listed = (await bob.PostAsync("getConversationList", new { })).AssertOk().Data.EnumerateArray().Single(r => r.GetProperty("id").GetString() == Conversation(groupId));
        Assert.That(listed.GetProperty("has_remind").GetBoolean(), Is.True);
        Assert.That((await bob.PostAsync("getConversationList", new { type = "has_remind_msg" })).AssertOk().Data.EnumerateArray()
            .Select(r => r.GetProperty("id").GetString()), Is.EqualTo(new[] { Conversation(groupId) }));
        Assert.That((await carol.PostAsync("getConversationList", new { type = "has_remind_msg" })).AssertOk().Data.GetArrayLength(), Is.Zero);
        var removeIt = new { conversation_id = Conversation(groupId), msg_id = Id(sent) };
        Assert.That((await bob.PostAsync("removeRemindMsgId", removeIt)).AssertOk().Data.GetInt32(), Is.EqualTo(1));
        Assert.That((await bob.PostAsync("removeRemindMsgId", removeIt)).AssertOk().Data.GetInt32(), Is.EqualTo(0));
        var row = await RowAsync(bob, groupId);
        Assert.That((row.GetProperty("remind_msg_ids").GetArrayLength(), row.GetProperty("has_remind").GetBoolean()), Is.EqualTo((0, false)));
        (await (await app.LoginAsync()).PostAsync("removeRemindMsgId", removeIt)).AssertError(404, ErrorCodes.NotFound);
    }

    [Test]
    public async Task Everyone_is_reminded_of_an_all_mention_until_they_read_past_it_or_clear_it_and_newcomers_are_not()
    {
        var (owner, bob, carol, dave) = (await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync());
        var groupId = await owner.CreateGroupAsync(bob, carol);
        var all = (await MentionAsync(owner, groupId, "meeting at 10", "__ALL")).AssertOk().Data;
        (await owner.PostAsync("chooseUserIntoGroup", new { group_id = groupId, user_ids = new[] { dave.Uid } })).AssertOk();

        Assert.That(await RemindsAsync(bob, groupId), Is.EqualTo(new[] { Id(all) }));
        Assert.That(await RemindsAsync(carol, groupId), Is.EqualTo(new[] { Id(all) }));
        Assert.That(await RemindsAsync(owner, groupId), Is.Empty, "not the sender");
        Assert.That(await RemindsAsync(dave, groupId), Is.Empty, "joined after it");

        (await bob.PostAsync("clearUnreadCount", new { conversation_id = Conversation(groupId) })).AssertOk();
        Assert.That(await RemindsAsync(bob, groupId), Is.Empty, "read past it");
        Assert.That((await carol.PostAsync("removeRemindMsgId", new { conversation_id = Conversation(groupId), msg_id = Id(all) })).AssertOk()
            .Data.GetInt32(), Is.EqualTo(1));
        Assert.That(await RemindsAsync(carol, groupId), Is.Empty, "cleared without reading");
        Assert.That((await RowAsync(carol, groupId)).GetProperty("unread_count").GetInt64(), Is.GreaterThan(0));
    }

    [Test]
    public async Task The_owner_revokes_any_message_any_time_an_admin_any_but_the_owners_a_member_only_their_own_within_the_window()
    {
        var (owner, admin, bob, carol, outsider) = (await strictApp.LoginAsync(), await strictApp.LoginAsync(), await strictApp.LoginAsync(),
            await strictApp.LoginAsync(), await strictApp.LoginAsync());
        var groupId = await GroupWithAdminAsync(owner, admin, bob, carol);
        var byOwner = (await owner.SayAsync(groupId, "owner says")).AssertOk().Data;
        var byBob = (await bob.SayAsync(groupId, "bob says")).AssertOk().Data;
        var byCarol = (await carol.SayAsync(groupId, "carol says")).AssertOk().Data;
        var byAdmin = (await admin.SayAsync(groupId, "admin says")).AssertOk().Data;

        (await admin.PostAsync("revokeMsg", Target(groupId, byOwner))).AssertError(403, ErrorCodes.NoPermission);
        (await bob.PostAsync("revokeMsg", Target(groupId, byCarol))).AssertError(403, ErrorCodes.NoPermission);
        (await bob.PostAsync("revokeMsg", Target(groupId, byBob))).AssertError(403, MessageErrors.RevokeWindowPassed);
        (await outsider.PostAsync("revokeMsg", Target(groupId, byBob))).AssertError(404, ErrorCodes.NotFound);
        Assert.That((await bob.HistoryAsync(groupId)).Texts(), Is.EqualTo(new[] { "owner says", "bob says", "carol says", "admin says" }));

        (await admin.PostAsync("revokeMsg", Target(groupId, byBob))).AssertOk();
        (await admin.PostAsync("revokeMsg", Target(groupId, byAdmin))).AssertOk();
        (await owner.PostAsync("revokeMsg", Target(groupId, byCarol))).AssertOk();
        (await owner.PostAsync("revokeMsg", Target(groupId, byOwner))).AssertOk();
        var history = await carol.HistoryAsync(groupId);
        Assert.That(history.Where(m => m.GetProperty("from_uid").GetString() != "system").Select(m => m.GetProperty("is_revoke").GetBoolean()),
            Is.EqualTo(new[] { true, true, true, true }));
        Assert.That(string.Join(",", history.Select(m => m.ToString())), Does.Not.Contain("says"));
    }

    [Test]
    public async Task A_sender_revokes_within_the_window_and_the_group_hears_it_once_and_its_last_message_is_scrubbed()
    {
        var (owner, bob, carol) = (await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync());
        var groupId = await owner.CreateGroupAsync(bob, carol);
        await using var carolSocket = await OpenAsync(carol);
        var secret = (await MentionAsync(bob, groupId, "top secret 机密计划", carol.Uid)).AssertOk().Data;
        Assert.That((await RowAsync(carol, groupId)).GetProperty("last_msg_note").GetString(), Is.EqualTo("top secret 机密计划"));
        Assert.That(await RemindsAsync(carol, groupId), Is.EqualTo(new[] { Id(secret) }));

        (await bob.PostAsync("revokeMsg", Target(groupId, secret))).AssertOk();
        (await bob.PostAsync("revokeMsg", Target(groupId, secret))).AssertOk();
        (await owner.SayAsync(groupId, "marker")).AssertOk();

        var events = await EventsUntilAsync(carolSocket, "marker");
        var revokes = events.Where(e => e.GetProperty("event").GetString() == "revoke").ToList();
        Assert.That(revokes, Has.Count.EqualTo(1), "one push to the group, none for the harmless second call");
        Assert.That(revokes[0].GetProperty("data").GetProperty("_id").GetString(), Is.EqualTo(Id(secret)));
        Assert.That(revokes[0].ToString(), Does.Not.Contain("secret"));
        Assert.That(await RemindsAsync(carol, groupId), Is.Empty, "a revoked mention reminds nobody");
        foreach (var user in new[] { owner, bob, carol })
        {
            Assert.That((await user.HistoryAsync(groupId)).Single(m => Id(m) == Id(secret)).GetProperty("is_revoke").GetBoolean(), Is.True);
            Assert.That((await user.PostAsync("searchMessages", new { keyword = "机密" })).AssertOk().Data.GetProperty("list").GetArrayLength(), Is.Zero);
        }
    }

    [Test]
    public async Task Revoking_the_groups_last_message_scrubs_last_msg_and_an_all_mention_is_forgotten()
    {
        var (owner, bob) = (await app.LoginAsync(), await app.LoginAsync());
        var groupId = await owner.CreateGroupAsync(bob);
        var all = (await MentionAsync(owner, groupId, "secret all-hands", "__ALL")).AssertOk().Data;
        Assert.That(await RemindsAsync(bob, groupId), Is.EqualTo(new[] { Id(all) }));

        (await owner.PostAsync("revokeMsg", Target(groupId, all))).AssertOk();

        foreach (var user in new[] { owner, bob })
        {
            var row = await RowAsync(user, groupId);
            Assert.That(row.GetProperty("last_msg_note").GetString(), Is.EqualTo("消息已经被撤回"));
            Assert.That(row.ToString(), Does.Not.Contain("all-hands"));
        }
        Assert.That(await RemindsAsync(bob, groupId), Is.Empty);
    }

    [Test]
    public async Task A_leaver_cannot_revoke_and_cannot_reach_messages_sent_after_they_left()
    {
        var (owner, bob) = (await app.LoginAsync(), await app.LoginAsync());
        var groupId = await owner.CreateGroupAsync(bob);
        var own = (await bob.SayAsync(groupId, "bob before leaving")).AssertOk().Data;
        (await bob.PostAsync("quitGroup", new { group_id = groupId })).AssertOk();
        var after = (await owner.SayAsync(groupId, "after bob left")).AssertOk().Data;

        (await bob.PostAsync("revokeMsg", Target(groupId, own))).AssertError(403, ErrorCodes.NoPermission);
        (await bob.PostAsync("revokeMsg", Target(groupId, after))).AssertError(404, ErrorCodes.NotFound);
        (await bob.PostAsync("editMsg", new { msg_id = Id(own), conversation_id = Conversation(groupId), body = "edited" }))
            .AssertError(403, ErrorCodes.NoPermission);
        (await bob.PostAsync("editMsg", new { msg_id = Id(after), conversation_id = Conversation(groupId), body = "edited" }))
            .AssertError(404, ErrorCodes.NotFound);
    }

    [Test]
    public async Task The_revoke_msg_alias_of_sendMsg_revokes_in_a_group()
    {
        var (owner, bob) = (await app.LoginAsync(), await app.LoginAsync());
        var groupId = await owner.CreateGroupAsync(bob);
        var sent = (await bob.SayAsync(groupId, "alias secret")).AssertOk().Data;

        (await bob.PostAsync("sendMsg", new { group_id = groupId, appId = "__UNI__TEST", type = "revoke_msg", body = new { msg_id = Id(sent) } }))
            .AssertOk();

        var stored = (await owner.HistoryAsync(groupId)).Single(m => Id(m) == Id(sent));
        Assert.That(stored.GetProperty("is_revoke").GetBoolean(), Is.True);
        Assert.That((await RowAsync(owner, groupId)).GetProperty("last_msg_note").GetString(), Is.EqualTo("消息已经被撤回"));
    }

    [Test]
    public async Task The_sender_edits_in_a_group_the_group_hears_it_and_its_last_message_follows_nobody_else_may()
    {
        var (owner, bob, outsider) = (await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync());
        var groupId = await owner.CreateGroupAsync(bob);
        await using var ownerSocket = await OpenAsync(owner);
        var sent = (await bob.SayAsync(groupId, "helo")).AssertOk().Data;
        var edit = (string body) => new { msg_id = Id(sent), conversation_id = Conversation(groupId), body };

        (await owner.PostAsync("editMsg", edit("forged"))).AssertError(403, ErrorCodes.NoPermission);
        (await outsider.PostAsync("editMsg", edit("forged"))).AssertError(404, ErrorCodes.NotFound);
        (await bob.PostAsync("editMsg", edit("hello"))).AssertOk();

        var pushed = await NextEventAsync(ownerSocket, "edit");
        Assert.That(pushed.GetProperty("data").GetProperty("body").GetString(), Is.EqualTo("hello"));
        var row = await RowAsync(owner, groupId);
        Assert.That((row.GetProperty("last_msg_note").GetString(), row.GetProperty("last_msg").GetProperty("body").GetString()),
            Is.EqualTo(("hello", "hello")));
        Assert.That((await owner.HistoryAsync(groupId))[^1].GetProperty("body").GetString(), Is.EqualTo("hello"));
    }

    [Test]
    public async Task Search_in_a_group_sees_only_what_the_member_may_read_and_conversations_match_group_names()
    {
        var (owner, leaver, newcomer) = (await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync());
        var name = "Kestrel club " + Guid.NewGuid().ToString("N")[..6];
        var groupId = await owner.CreateGroupAsync(new { name }, leaver);
        (await owner.SayAsync(groupId, "zanzibar before")).AssertOk();
        (await owner.PostAsync("updateGroupInfo", new { group_id = groupId, history_visible = false })).AssertOk();
        (await owner.PostAsync("chooseUserIntoGroup", new { group_id = groupId, user_ids = new[] { newcomer.Uid } })).AssertOk();
        (await leaver.PostAsync("quitGroup", new { group_id = groupId })).AssertOk();
        (await owner.SayAsync(groupId, "zanzibar after")).AssertOk();

        async Task<string[]> Find(TestUser who, object query) =>
            (await who.PostAsync("searchMessages", query)).AssertOk().Data.GetProperty("list").EnumerateArray()
            .Select(m => m.GetProperty("body").GetString()!).ToArray();

        foreach (var scoped in new[] { false, true })
        {
            object Query() => scoped ? new { keyword = "zanzibar", conversation_id = Conversation(groupId) } : new { keyword = "zanzibar" };
            Assert.That(await Find(owner, Query()), Is.EqualTo(new[] { "zanzibar after", "zanzibar before" }));
            Assert.That(await Find(leaver, Query()), Is.EqualTo(new[] { "zanzibar before" }), "nothing after they left");
            Assert.That(await Find(newcomer, Query()), Is.EqualTo(new[] { "zanzibar after" }), "nothing of the hidden history");
        }

        var found = (await newcomer.PostAsync("searchConversations", new { keyword = name.ToUpperInvariant() })).AssertOk().Data;
        Assert.That(found.EnumerateArray().Select(r => (r.GetProperty("id").GetString(), r.GetProperty("group_info").GetProperty("name").GetString())),
            Is.EqualTo(new[] { (Conversation(groupId), name) }));
        Assert.That((await (await app.LoginAsync()).PostAsync("searchConversations", new { keyword = name })).AssertOk().Data.GetArrayLength(), Is.Zero);
    }
}
