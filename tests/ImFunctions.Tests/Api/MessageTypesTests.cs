using System.Text.Json;
using ImFunctions.Core.Domain;
using ImFunctions.Tests.Push;
using ImFunctions.Tests.Support;

namespace ImFunctions.Tests.Api;

/// <summary>Every type a client may send, through the real app: valid bodies are stored and pushed, anything else is a 400 that writes nothing.</summary>
public sealed class MessageTypesTests
{
    TestApp app = null!;

    [OneTimeSetUp]
    public async Task Start() => app = await TestApp.StartAsync();

    [OneTimeTearDown]
    public async Task Stop() => await app.DisposeAsync();

    static object Send(string to, string type, object? body, object? extra = null)
    {
        var request = new Dictionary<string, object?> { ["to_uid"] = to, ["appId"] = "__UNI__TEST", ["type"] = type, ["body"] = body };
        if (extra is not null)
            foreach (var p in JsonSerializer.SerializeToElement(extra).EnumerateObject()) request[p.Name] = p.Value;
        return request;
    }

    static readonly object[] ValidBodies =
    [
        new object[] { "text", "hi", "hi" },
        new object[] { "code", "var x = 1;", "[代码]" },
        new object[] { "image", new { url = "https://cdn.example/a.png", width = 10, height = 20, size = 300, name = "a.png" }, "[图片]" },
        new object[] { "image", "https://cdn.example/a.png", "[图片]" },
        new object[] { "sound", new { url = "https://cdn.example/a.mp3", time = 3.5 }, "语音" },
        new object[] { "video", new { url = "https://cdn.example/v.mp4", size = 10, name = "v.mp4", poster = "https://cdn.example/p.jpg" }, "[视频]" },
        new object[] { "file", new { url = "https://cdn.example/f.pdf", size = 1234, name = "f.pdf" }, "[文件]" },
        new object[] { "location", new { latitude = 31.2, longitude = 121.5, name = "Bund", address = "Shanghai" }, "[位置]" },
        new object[] { "rich-text", new object[] { new { name = "p", children = new object[] { new { type = "text", text = "hello" },
            new { name = "img", attrs = new { src = "https://cdn.example/i.png", width = 20 } } } } }, "[图文消息]" },
    ];

    [TestCaseSource(nameof(ValidBodies))]
    public async Task A_valid_body_of_each_type_is_stored_pushed_and_labelled_as_uni_im_does(string type, object body, string note)
    {
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        await using var socket = await OpenAsync(bob);

        var sent = (await alice.PostAsync("sendMsg", Send(bob.Uid, type, body))).AssertOk().Data;
        var pushed = await NextPushAsync(socket);
        var stored = (await bob.PostAsync("getMsgList", new { conversation_id = sent.GetProperty("conversation_id").GetString() }))
            .AssertOk().Data.EnumerateArray().Single();
        var row = (await bob.PostAsync("getConversationList")).AssertOk().Data.EnumerateArray().Single();

        var expected = JsonSerializer.SerializeToElement(body);
        Assert.That(JsonElement.DeepEquals(stored.GetProperty("body"), expected), Is.True, stored.ToString());
        Assert.That(stored.GetProperty("type").GetString(), Is.EqualTo(type));
        Assert.That(pushed.GetProperty("data").GetProperty("_id").GetString(), Is.EqualTo(sent.GetProperty("_id").GetString()));
        Assert.That(row.GetProperty("last_msg_note").GetString(), Is.EqualTo(note));
    }

    static readonly object[] InvalidBodies =
    [
        new object[] { "system", new { action = "join-group" }, "type" },
        new object[] { "clear-conversation-unreadCount", "x", "type" },
        new object[] { "order", new { user_id = "x" }, "type" },
        new object[] { "text", "   ", "body" },
        new object[] { "code", 42, "body" },
        new object[] { "image", "http://cdn.example/a.png", "body" },
        new object[] { "image", new { url = "javascript:alert(1)" }, "body" },
        new object[] { "image", new { url = "data:image/png;base64,AAAA" }, "body" },
        new object[] { "image", new { url = "https://cdn.example/a.png", onload = "x" }, "body" },
        new object[] { "image", new { url = "/relative.png" }, "body" },
        new object[] { "sound", new { url = "https://cdn.example/a.mp3" }, "body" },
        new object[] { "sound", new { url = "https://cdn.example/a.mp3", time = -1 }, "body" },
        new object[] { "video", new { url = "https://cdn.example/v.mp4", poster = "http://cdn.example/p.jpg" }, "body" },
        new object[] { "file", new { url = "https://cdn.example/f.pdf", name = "f.pdf" }, "body" },
        new object[] { "file", new { url = "https://cdn.example/f.pdf", size = 1, name = new string('n', 256) }, "body" },
        new object[] { "location", new { latitude = 91, longitude = 0 }, "body" },
        new object[] { "location", new { latitude = "31", longitude = 0 }, "body" },
        new object[] { "rich-text", new object[] { new { name = "script", children = new object[] { new { type = "text", text = "x" } } } }, "body" },
        new object[] { "rich-text", new object[] { new { name = "span", attrs = new { style = "background:url(x)" } } }, "body" },
        new object[] { "rich-text", new object[] { new { name = "a", attrs = new { href = "javascript:alert(1)" } } }, "body" },
        new object[] { "rich-text", new object[] { new { name = "img", attrs = new { src = "http://x/i.png" } } }, "body" },
        new object[] { "rich-text", new object[0], "body" },
        new object[] { "userinfo-card", new { user_id = "x", name = "forged" }, "body" },
        new object[] { "history", new { msg_list = new object[] { new { body = "forged" } } }, "body" },
        new object[] { "history", new { conversation_id = "single_x", msg_ids = new string[0] }, "body" },
    ];

    [TestCaseSource(nameof(InvalidBodies))]
    public async Task An_invalid_shape_scheme_or_type_is_a_400_that_writes_nothing(string type, object body, string field)
    {
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());

        var reply = await alice.PostAsync("sendMsg", Send(bob.Uid, type, body));

        reply.AssertError(400, ErrorCodes.InvalidParam);
        Assert.That(reply.Body.GetProperty("errMsg").GetString(), Does.StartWith(field));
        await AssertNothingWrittenAsync(alice, bob);
    }

    [Test]
    public async Task A_body_over_the_size_limit_is_a_400_that_writes_nothing()
    {
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        var nodes = Enumerable.Range(0, 300).Select(_ => new { type = "text", text = new string('x', 40) }).ToArray();

        (await alice.PostAsync("sendMsg", Send(bob.Uid, "rich-text", nodes))).AssertError(400, ErrorCodes.InvalidParam);
        (await alice.PostAsync("sendMsg", Send(bob.Uid, "code", new string('x', 9000)))).AssertError(400, ErrorCodes.InvalidParam);
        await AssertNothingWrittenAsync(alice, bob);
    }

    [Test]
    public async Task A_contact_card_gets_its_name_from_the_server_and_names_a_real_user()
    {
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        var carol = await app.LoginAsync(extraUserInfo: new { nickname = "Carol Real" });

        var sent = (await alice.PostAsync("sendMsg", Send(bob.Uid, "userinfo-card", new { user_id = carol.Uid }))).AssertOk().Data;
        var unknown = await alice.PostAsync("sendMsg", Send(bob.Uid, "userinfo-card", new { user_id = "no-such-user" }));

        var stored = (await bob.PostAsync("getMsgList", new { conversation_id = sent.GetProperty("conversation_id").GetString() }))
            .AssertOk().Data.EnumerateArray().Single();
        Assert.That(stored.GetProperty("body").GetProperty("name").GetString(), Is.EqualTo("Carol Real"));
        Assert.That((await bob.PostAsync("getConversationList")).AssertOk().Data[0].GetProperty("last_msg_note").GetString(),
            Is.EqualTo("Carol Real 的名片"));
        unknown.AssertError(404, ErrorCodes.NotFound);
    }

    [Test]
    public async Task A_forward_copies_messages_the_sender_can_see_and_refuses_anyone_elses()
    {
        var (alice, bob, carol, mallory) = (await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync());
        var original = (await bob.SendTextAsync(alice.Uid, "worth forwarding")).AssertOk().Data;
        var secret = (await mallory.SendTextAsync(bob.Uid, "between mallory and bob")).AssertOk().Data;
        var source = original.GetProperty("conversation_id").GetString();

        var forwarded = (await alice.PostAsync("sendMsg", Send(carol.Uid, "history",
            new { conversation_id = source, msg_ids = new[] { original.GetProperty("_id").GetString() } }))).AssertOk().Data;
        var foreign = await alice.PostAsync("sendMsg", Send(carol.Uid, "history",
            new { conversation_id = secret.GetProperty("conversation_id").GetString(), msg_ids = new[] { secret.GetProperty("_id").GetString() } }));
        var wrongId = await alice.PostAsync("sendMsg", Send(carol.Uid, "history",
            new { conversation_id = source, msg_ids = new[] { secret.GetProperty("_id").GetString() } }));

        var copy = (await carol.PostAsync("getMsgList", new { conversation_id = forwarded.GetProperty("conversation_id").GetString() }))
            .AssertOk().Data.EnumerateArray().Single().GetProperty("body").GetProperty("msg_list").EnumerateArray().Single();
        Assert.That((copy.GetProperty("from_uid").GetString(), copy.GetProperty("body").GetString()), Is.EqualTo((bob.Uid, "worth forwarding")));
        foreign.AssertError(404, ErrorCodes.NotFound);
        wrongId.AssertError(404, ErrorCodes.NotFound);
        Assert.That((await carol.PostAsync("getMsgList", new { conversation_id = forwarded.GetProperty("conversation_id").GetString() }))
            .AssertOk().Data.GetArrayLength(), Is.EqualTo(1));
    }

    [Test]
    public async Task A_reply_to_a_message_of_another_conversation_or_an_unknown_one_is_refused_before_anything_is_written()
    {
        var (alice, bob, carol) = (await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync());
        var first = (await alice.SendTextAsync(bob.Uid, "question")).AssertOk().Data;
        var elsewhere = (await bob.SendTextAsync(carol.Uid, "not for alice")).AssertOk().Data;
        var conversation = first.GetProperty("conversation_id").GetString();

        var reply = (await bob.PostAsync("sendMsg", Send(alice.Uid, "text", "answer", new { about_msg_id = first.GetProperty("_id").GetString() })))
            .AssertOk().Data;
        var crossConversation = await alice.PostAsync("sendMsg", Send(bob.Uid, "text", "peek",
            new { about_msg_id = elsewhere.GetProperty("_id").GetString() }));
        var unknown = await alice.PostAsync("sendMsg", Send(bob.Uid, "text", "peek", new { about_msg_id = "no-such-message" }));
        var fresh = await alice.PostAsync("sendMsg", Send(carol.Uid, "text", "peek", new { about_msg_id = elsewhere.GetProperty("_id").GetString() }));

        crossConversation.AssertError(404, ErrorCodes.NotFound);
        unknown.AssertError(404, ErrorCodes.NotFound);
        fresh.AssertError(404, ErrorCodes.NotFound);
        var history = (await alice.PostAsync("getMsgList", new { conversation_id = conversation })).AssertOk().Data;
        Assert.That(history.EnumerateArray().Select(m => m.GetProperty("seq").GetInt64()), Is.EqualTo(new long[] { 2, 1 }));
        var stored = history[0];
        Assert.That(stored.GetProperty("about_msg_id").GetString(), Is.EqualTo(first.GetProperty("_id").GetString()));
        Assert.That(stored.GetProperty("call_uid").EnumerateArray().Select(u => u.GetString()), Is.EqualTo(new[] { alice.Uid }));
        var aliceRow = (await alice.PostAsync("getConversationList", new { conversation_id = conversation })).AssertOk().Data[0];
        Assert.That(aliceRow.GetProperty("remind_msg_ids").EnumerateArray().Select(u => u.GetString()),
            Is.EqualTo(new[] { reply.GetProperty("_id").GetString() }));
        Assert.That((await carol.PostAsync("getConversationList")).AssertOk().Data.GetArrayLength(), Is.EqualTo(1));
    }

    async Task AssertNothingWrittenAsync(TestUser alice, TestUser bob)
    {
        Assert.That((await alice.PostAsync("getConversationList")).AssertOk().Data.GetArrayLength(), Is.Zero);
        Assert.That((await bob.PostAsync("getConversationList")).AssertOk().Data.GetArrayLength(), Is.Zero);
        (await bob.PostAsync("getMsgList", new { conversation_id = ConversationIds.Single(alice.Uid, bob.Uid) }))
            .AssertError(404, ErrorCodes.NotFound);
    }

    internal static async Task<HubSocket> OpenAsync(TestUser user)
    {
        var url = (await user.PostAsync("negotiate")).AssertOk().Data.GetProperty("url").GetString()!;
        var (socket, _) = await HubSocket.OpenAsync(new Uri(url), HubSocket.Json);
        return socket;
    }

    /// <summary>The next <c>{"type":"im",...}</c> payload on the socket.</summary>
    internal static async Task<JsonElement> NextPushAsync(HubSocket socket) => (await socket.NextOfTypeAsync("message")).GetProperty("data");

    /// <summary>
    /// The next payload of one event, skipping others: pushes leave off the request path, so a message sent just before
    /// the socket opened may still arrive on it first.
    /// </summary>
    internal static async Task<JsonElement> NextEventAsync(HubSocket socket, string eventName)
    {
        while (true)
        {
            var push = await NextPushAsync(socket);
            if (push.GetProperty("event").GetString() == eventName) return push;
        }
    }
}
