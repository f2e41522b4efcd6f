using System.Text.Json;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Messages;
using ImFunctions.Tests.Support;
using static ImFunctions.Tests.Api.MessageTypesTests;

namespace ImFunctions.Tests.Api;

/// <summary>Revoke, edit, mentions and search through the real app, with the other side's socket listening.</summary>
public sealed class RevokeEditSearchTests
{
    TestApp app = null!;
    TestApp strictApp = null!;   // every window already closed: the sender can neither revoke nor edit

    [OneTimeSetUp]
    public async Task Start()
    {
        app = await TestApp.StartAsync();
        strictApp = await TestApp.StartAsync(new Dictionary<string, string?>
        {
            ["UniIm:RevokeWindow"] = "-00:00:01",
            ["UniIm:EditWindow"] = "-00:00:01",
        });
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        await app.DisposeAsync();
        await strictApp.DisposeAsync();
    }

    static string Id(JsonElement sent) => sent.GetProperty("_id").GetString()!;
    static string Conversation(JsonElement sent) => sent.GetProperty("conversation_id").GetString()!;

    [Test]
    public async Task A_revoke_by_the_sender_leaves_no_trace_of_the_body_on_any_read_path_and_reaches_the_peers_socket()
    {
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        (await alice.SendTextAsync(bob.Uid, "hello")).AssertOk();
        var secret = (await alice.SendTextAsync(bob.Uid, "top secret 机密计划")).AssertOk().Data;
        await using var socket = await OpenAsync(bob);

        var revoked = (await alice.PostAsync("revokeMsg", new { msg_id = Id(secret), conversation_id = Conversation(secret) })).AssertOk().Data;
        var pushed = await NextEventAsync(socket, "revoke");
        var twice = await alice.PostAsync("revokeMsg", new { msg_id = Id(secret), conversation_id = Conversation(secret) });

        Assert.That(pushed.GetProperty("event").GetString(), Is.EqualTo("revoke"));
        Assert.That(pushed.GetProperty("data").GetProperty("_id").GetString(), Is.EqualTo(Id(secret)));
        twice.AssertOk();
        await AssertNoTraceAsync(alice, bob, secret, "secret", "机密");
        var history = (await bob.PostAsync("getMsgList", new { conversation_id = Conversation(secret) })).AssertOk().Data;
        Assert.That((history[0].GetProperty("seq").GetInt64(), history[0].GetProperty("is_revoke").GetBoolean()), Is.EqualTo((2L, true)));
        var updates = (await bob.PostAsync("getMsgList", new
        {
            conversation_ids = new[] { Conversation(secret) }, minUpdateTime = secret.GetProperty("create_time").GetInt64(),
        })).AssertOk().Data;
        Assert.That(updates.EnumerateArray().Single().GetProperty("update_time").GetInt64(), Is.EqualTo(revoked.GetProperty("update_time").GetInt64()));
    }

    [Test]
    public async Task The_sendMsg_revoke_msg_alias_revokes_too()
    {
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        var secret = (await alice.SendTextAsync(bob.Uid, "alias secret")).AssertOk().Data;

        (await alice.PostAsync("sendMsg", new { to_uid = bob.Uid, appId = "__UNI__TEST", type = "revoke_msg", body = new { msg_id = Id(secret) } }))
            .AssertOk();

        await AssertNoTraceAsync(alice, bob, secret, "alias secret");
    }

    [Test]
    public async Task After_the_window_the_sender_gets_10004_and_the_message_stays()
    {
        var (alice, bob) = (await strictApp.LoginAsync(), await strictApp.LoginAsync());
        var sent = (await alice.SendTextAsync(bob.Uid, "too late")).AssertOk().Data;

        (await alice.PostAsync("revokeMsg", new { msg_id = Id(sent), conversation_id = Conversation(sent) }))
            .AssertError(403, MessageErrors.RevokeWindowPassed);

        var stored = (await bob.PostAsync("getMsgList", new { conversation_id = Conversation(sent) })).AssertOk().Data[0];
        Assert.That((stored.GetProperty("is_revoke").GetBoolean(), stored.GetProperty("body").GetString()), Is.EqualTo((false, "too late")));
    }

    [Test]
    public async Task A_uni_im_admin_revokes_any_time_the_peer_and_an_outsider_cannot()
    {
        var (alice, bob, outsider) = (await strictApp.LoginAsync(), await strictApp.LoginAsync(), await strictApp.LoginAsync());
        var admin = await strictApp.LoginAsync(role: ["uni-im-admin"]);
        var sent = (await alice.SendTextAsync(bob.Uid, "reported message")).AssertOk().Data;
        var target = new { msg_id = Id(sent), conversation_id = Conversation(sent) };

        (await bob.PostAsync("revokeMsg", target)).AssertError(403, ErrorCodes.NoPermission);
        (await outsider.PostAsync("revokeMsg", target)).AssertError(404, ErrorCodes.NotFound);
        var stillThere = (await bob.PostAsync("getMsgList", new { conversation_id = Conversation(sent) })).AssertOk().Data[0];
        Assert.That(stillThere.GetProperty("body").GetString(), Is.EqualTo("reported message"));

        (await admin.PostAsync("revokeMsg", target)).AssertOk();
        await AssertNoTraceAsync(alice, bob, sent, "reported");
    }

    [Test]
    public async Task An_edit_by_the_sender_changes_history_the_list_and_reaches_the_peers_socket()
    {
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        var sent = (await alice.SendTextAsync(bob.Uid, "helo")).AssertOk().Data;
        await using var socket = await OpenAsync(bob);

        (await alice.PostAsync("editMsg", new { msg_id = Id(sent), conversation_id = Conversation(sent), body = "hello" })).AssertOk();
        var pushed = await NextEventAsync(socket, "edit");

        Assert.That(pushed.GetProperty("event").GetString(), Is.EqualTo("edit"));
        Assert.That(pushed.GetProperty("data").GetProperty("body").GetString(), Is.EqualTo("hello"));
        var stored = (await bob.PostAsync("getMsgList", new { conversation_id = Conversation(sent) })).AssertOk().Data[0];
        Assert.That(stored.GetProperty("body").GetString(), Is.EqualTo("hello"));
        Assert.That(stored.GetProperty("edit_time").GetInt64(), Is.GreaterThan(0));
        var row = (await bob.PostAsync("getConversationList")).AssertOk().Data[0];
        Assert.That((row.GetProperty("last_msg_note").GetString(), row.GetProperty("last_msg").GetProperty("body").GetString()),
            Is.EqualTo(("hello", "hello")));
    }

    [Test]
    public async Task Only_the_sender_may_edit_only_text_rich_text_or_code_with_a_valid_body_and_only_within_the_window()
    {
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        var text = (await alice.SendTextAsync(bob.Uid, "original")).AssertOk().Data;
        var image = (await alice.PostAsync("sendMsg", new { to_uid = bob.Uid, appId = "a", type = "image", body = "https://cdn.example/a.png" }))
            .AssertOk().Data;
        var (late, lateBob) = (await strictApp.LoginAsync(), await strictApp.LoginAsync());
        var old = (await late.SendTextAsync(lateBob.Uid, "original")).AssertOk().Data;

        (await bob.PostAsync("editMsg", new { msg_id = Id(text), conversation_id = Conversation(text), body = "forged" }))
            .AssertError(403, ErrorCodes.NoPermission);
        (await alice.PostAsync("editMsg", new { msg_id = Id(image), conversation_id = Conversation(image), body = "https://cdn.example/b.png" }))
            .AssertError(400, ErrorCodes.InvalidParam);
        (await alice.PostAsync("editMsg", new { msg_id = Id(text), conversation_id = Conversation(text), body = new { x = 1 } }))
            .AssertError(400, ErrorCodes.InvalidParam);
        (await late.PostAsync("editMsg", new { msg_id = Id(old), conversation_id = Conversation(old), body = "too late" }))
            .AssertError(403, ErrorCodes.NoPermission);

        var history = (await bob.PostAsync("getMsgList", new { conversation_id = Conversation(text) })).AssertOk().Data;
        Assert.That(history.EnumerateArray().Any(m => m.TryGetProperty("edit_time", out _)), Is.False);
        Assert.That(history[1].GetProperty("body").GetString(), Is.EqualTo("original"));
        Assert.That((await lateBob.PostAsync("getMsgList", new { conversation_id = Conversation(old) })).AssertOk().Data[0]
            .GetProperty("body").GetString(), Is.EqualTo("original"));
    }

    [Test]
    public async Task Mentions_reach_the_peers_remind_msg_ids_are_flagged_on_the_push_and_can_be_cleared()
    {
        var (alice, bob, carol) = (await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync());
        await using var socket = await OpenAsync(bob);
        var nodes = new object[] { new { name = "span", attrs = new { @class = "nickname", user_id = bob.Uid },
            children = new object[] { new { type = "text", text = "@bob" } } }, new { type = "text", text = " look" } };

        var sent = (await alice.PostAsync("sendMsg", new { to_uid = bob.Uid, appId = "a", type = "rich-text", body = nodes })).AssertOk().Data;
        var pushed = await NextPushAsync(socket);
        var outsider = await alice.PostAsync("sendMsg", new { to_uid = bob.Uid, appId = "a", type = "text", body = "x", call_uid = new[] { carol.Uid } });
        var everyone = await alice.PostAsync("sendMsg", new { to_uid = bob.Uid, appId = "a", type = "text", body = "x", call_uid = new[] { "__ALL" } });

        Assert.That(pushed.GetProperty("is_mention").GetBoolean(), Is.True);
        outsider.AssertError(400, ErrorCodes.InvalidParam);
        everyone.AssertError(400, ErrorCodes.InvalidParam);
        var row = (await bob.PostAsync("getConversationList")).AssertOk().Data[0];
        Assert.That(row.GetProperty("remind_msg_ids").EnumerateArray().Select(i => i.GetString()), Is.EqualTo(new[] { Id(sent) }));
        Assert.That(row.GetProperty("has_remind").GetBoolean(), Is.True);
        Assert.That(row.GetProperty("last_seq").GetInt64(), Is.EqualTo(1), "the refused sends wrote nothing");
        Assert.That((await alice.PostAsync("getConversationList")).AssertOk().Data[0].GetProperty("has_remind").GetBoolean(), Is.False);

        Assert.That((await bob.PostAsync("removeRemindMsgId", new { conversation_id = Conversation(sent), msg_id = Id(sent) })).AssertOk().Data
            .GetInt32(), Is.EqualTo(1));
        row = (await bob.PostAsync("getConversationList")).AssertOk().Data[0];
        Assert.That((row.GetProperty("remind_msg_ids").GetArrayLength(), row.GetProperty("has_remind").GetBoolean()), Is.EqualTo((0, false)));
        (await carol.PostAsync("removeRemindMsgId", new { conversation_id = Conversation(sent), msg_id = Id(sent) }))
            .AssertError(404, ErrorCodes.NotFound);
    }

    [Test]
    public async Task Revoking_a_mention_removes_it_from_the_mentioned_row()
    {
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        var sent = (await alice.PostAsync("sendMsg", new { to_uid = bob.Uid, appId = "a", type = "text", body = "hey", call_uid = new[] { bob.Uid } }))
            .AssertOk().Data;

        (await alice.PostAsync("revokeMsg", new { msg_id = Id(sent), conversation_id = Conversation(sent) })).AssertOk();

        var row = (await bob.PostAsync("getConversationList")).AssertOk().Data[0];
        Assert.That((row.GetProperty("remind_msg_ids").GetArrayLength(), row.GetProperty("has_remind").GetBoolean()), Is.EqualTo((0, false)));
    }

    [Test]
    public async Task Search_finds_chinese_latin_in_any_case_and_literal_patterns_in_the_callers_conversations_only()
    {
        var (alice, bob, eve) = (await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync());
        var other = await app.LoginAsync();
        (await alice.SendTextAsync(bob.Uid, "你好世界")).AssertOk();
        (await alice.SendTextAsync(bob.Uid, "Meet at the HARBOUR")).AssertOk();
        (await alice.SendTextAsync(bob.Uid, "regex .*(a+)+$ stays text")).AssertOk();
        (await eve.SendTextAsync(other.Uid, "你好世界 from eve")).AssertOk();

        async Task<string[]> Find(TestUser who, object query) =>
            (await who.PostAsync("searchMessages", query)).AssertOk().Data.GetProperty("list").EnumerateArray()
            .Select(m => m.GetProperty("body").GetString()!).ToArray();

        Assert.That(await Find(bob, new { keyword = "世界" }), Is.EqualTo(new[] { "你好世界" }));
        Assert.That(await Find(bob, new { keyword = "harbour" }), Is.EqualTo(new[] { "Meet at the HARBOUR" }));
        Assert.That(await Find(bob, new { keyword = ".*(a+)+$" }), Is.EqualTo(new[] { "regex .*(a+)+$ stays text" }));
        Assert.That(await Find(alice, new { keyword = "eve" }), Is.Empty);
        Assert.That(await Find(eve, new { keyword = "世界" }), Is.EqualTo(new[] { "你好世界 from eve" }));
        (await eve.PostAsync("searchMessages", new { keyword = "世界", conversation_id = ConversationIds.Single(alice.Uid, bob.Uid) }))
            .AssertError(404, ErrorCodes.NotFound);
        (await bob.PostAsync("searchMessages", new { keyword = " " })).AssertError(400, ErrorCodes.InvalidParam);
    }

    [Test]
    public async Task Search_conversations_matches_peers_by_nickname_among_the_callers_own_conversations_only()
    {
        var alice = await app.LoginAsync();
        var zed = await app.LoginAsync(extraUserInfo: new { nickname = "Zedekiah " + Guid.NewGuid().ToString("N")[..6] });
        var stranger = await app.LoginAsync(extraUserInfo: new { nickname = "Zedekiah the stranger" });
        (await alice.SendTextAsync(zed.Uid, "hi")).AssertOk();

        var found = (await alice.PostAsync("searchConversations", new { keyword = "zedekiah" })).AssertOk().Data;

        Assert.That(found.EnumerateArray().Select(r => r.GetProperty("user_info").GetProperty("_id").GetString()), Is.EqualTo(new[] { zed.Uid }));
        Assert.That(stranger.Uid, Is.Not.EqualTo(zed.Uid));
    }

    /// <summary>The body is nowhere: history, both rows' last_msg and note, search, update sync.</summary>
    static async Task AssertNoTraceAsync(TestUser sender, TestUser peer, JsonElement sent, params string[] fragments)
    {
        foreach (var user in new[] { sender, peer })
        {
            var history = (await user.PostAsync("getMsgList", new { conversation_id = Conversation(sent) })).AssertOk().Data;
            var row = (await user.PostAsync("getConversationList", new { conversation_id = Conversation(sent) })).AssertOk().Data;
            var updates = (await user.PostAsync("getMsgList", new { conversation_ids = new[] { Conversation(sent) }, minUpdateTime = 0 })).AssertOk().Data;
            foreach (var fragment in fragments)
            {
                Assert.That(history.ToString(), Does.Not.Contain(fragment));
                Assert.That(row.ToString(), Does.Not.Contain(fragment));
                Assert.That(updates.ToString(), Does.Not.Contain(fragment));
                Assert.That((await user.PostAsync("searchMessages", new { keyword = fragment })).AssertOk().Data.GetProperty("list").GetArrayLength(),
                    Is.Zero);
            }
            var revoked = history.EnumerateArray().Single(m => m.GetProperty("_id").GetString() == Id(sent));
            Assert.That(revoked.GetProperty("is_revoke").GetBoolean(), Is.True);
            if (row[0].GetProperty("last_seq").GetInt64() == sent.GetProperty("seq").GetInt64())
                Assert.That(row[0].GetProperty("last_msg_note").GetString(), Is.EqualTo("消息已经被撤回"));
        }
    }
}
