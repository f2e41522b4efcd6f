using System.Text.Json;
using ImFunctions.Tests.Push;
using ImFunctions.Tests.Support;

namespace ImFunctions.Tests.Api;

/// <summary>Two people chatting through the real app: HTTP methods with real tokens and a real WebSocket.</summary>
[TestFixture(ImHost.Local)]
[TestFixture(ImHost.Functions)]
public sealed class ChatFlowTests(ImHost host)
{
    TestApp app = null!;

    [OneTimeSetUp]
    public async Task Start() => app = await TestApp.StartAsync(host);

    [OneTimeTearDown]
    public async Task Stop() => await app.DisposeAsync();

    static Task<HubSocket> ConnectAsync(string url) => HubSocket.ConnectAsync(new Uri(url), HubSocket.Json);

    /// <summary>The data of the next server message, skipping system frames.</summary>
    static async Task<JsonElement> NextPushAsync(HubSocket socket) => (await socket.NextOfTypeAsync("message")).GetProperty("data");

    [Test]
    public async Task A_message_reaches_the_receivers_socket_and_unread_follows_it()
    {
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        var negotiated = (await bob.PostAsync("negotiate")).AssertOk().Data;
        await using var socket = await ConnectAsync(negotiated.GetProperty("url").GetString()!);
        var connected = await socket.NextAsync();
        Assert.That((connected.GetProperty("type").GetString(), connected.GetProperty("event").GetString()), Is.EqualTo(("system", "connected")));
        Assert.That(connected.GetProperty("userId").GetString(), Is.EqualTo(bob.Uid));
        Assert.That(socket.Subprotocol, Is.EqualTo("json.webpubsub.azure.v1"));

        var sent = (await alice.SendTextAsync(bob.Uid, "hello bob")).AssertOk().Data;
        var pushed = await NextPushAsync(socket);

        Assert.That(pushed.GetProperty("type").GetString(), Is.EqualTo("im"));
        Assert.That(pushed.GetProperty("event").GetString(), Is.EqualTo("msg"));
        var message = pushed.GetProperty("data");
        Assert.That(message.GetProperty("_id").GetString(), Is.EqualTo(sent.GetProperty("_id").GetString()));
        Assert.That(message.GetProperty("seq").GetInt64(), Is.EqualTo(1));
        Assert.That(message.GetProperty("body").GetString(), Is.EqualTo("hello bob"));
        Assert.That(message.GetProperty("from_uid").GetString(), Is.EqualTo(alice.Uid));

        var conversationId = sent.GetProperty("conversation_id").GetString()!;
        var row = (await bob.PostAsync("getConversationList")).AssertOk().Data.EnumerateArray().Single();
        Assert.That(row.GetProperty("id").GetString(), Is.EqualTo(conversationId));
        Assert.That(row.GetProperty("unread_count").GetInt64(), Is.EqualTo(1));
        Assert.That(row.GetProperty("last_msg_note").GetString(), Is.EqualTo("hello bob"));
        Assert.That(row.GetProperty("user_info").GetProperty("_id").GetString(), Is.EqualTo(alice.Uid));

        var history = (await bob.PostAsync("getMsgList", new { conversation_id = conversationId })).AssertOk().Data;
        Assert.That(history.EnumerateArray().Select(m => m.GetProperty("body").GetString()), Is.EqualTo(new[] { "hello bob" }));

        (await bob.PostAsync("clearUnreadCount", new { conversation_id = conversationId })).AssertOk();
        var read = await NextPushAsync(socket);   // bob's other devices hear of the read
        Assert.That(read.GetProperty("event").GetString(), Is.EqualTo("read"));
        Assert.That(read.GetProperty("data").GetProperty("read_seq").GetInt64(), Is.EqualTo(1));
        row = (await bob.PostAsync("getConversationList")).AssertOk().Data.EnumerateArray().Single();
        Assert.That(row.GetProperty("unread_count").GetInt64(), Is.EqualTo(0));
    }

    [Test]
    public async Task A_socket_answers_ping_with_pong()
    {
        var user = await app.LoginAsync();
        var url = (await user.PostAsync("negotiate")).AssertOk().Data.GetProperty("url").GetString()!;
        await using var socket = await ConnectAsync(url);
        await socket.NextAsync();   // connected
        await socket.SendAsync(new { type = "ping" });
        Assert.That((await socket.NextAsync()).GetProperty("type").GetString(), Is.EqualTo("pong"));
    }

    [Test]
    public async Task A_push_reaches_every_socket_of_the_user()
    {
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        var url = (await bob.PostAsync("negotiate")).AssertOk().Data.GetProperty("url").GetString()!;
        await using var phone = await ConnectAsync(url);
        await using var laptop = await ConnectAsync(url);
        await phone.NextAsync();
        await laptop.NextAsync();

        (await alice.SendTextAsync(bob.Uid, "to all of bob")).AssertOk();

        Assert.That((await NextPushAsync(phone)).GetProperty("data").GetProperty("body").GetString(), Is.EqualTo("to all of bob"));
        Assert.That((await NextPushAsync(laptop)).GetProperty("data").GetProperty("body").GetString(), Is.EqualTo("to all of bob"));
    }

    [Test]
    public async Task A_socket_with_a_forged_access_token_is_refused()
    {
        var user = await app.LoginAsync();
        var url = (await user.PostAsync("negotiate")).AssertOk().Data.GetProperty("url").GetString()!;
        var forged = url[..(url.LastIndexOf('.') + 1)] + "AAAA";
        await Assert.ThatAsync(() => ConnectAsync(forged), Throws.InstanceOf<System.Net.WebSockets.WebSocketException>());
    }

    [Test]
    public async Task Twenty_concurrent_senders_times_fifty_get_seqs_exactly_1_to_1000()
    {
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        (await alice.SendTextAsync(bob.Uid, "first")).AssertOk();   // the conversation exists; everyone is replying
        var seqs = await Task.WhenAll(Enumerable.Range(0, 20).Select(sender => Task.Run(async () =>
        {
            var mine = new List<long>();
            for (var i = 0; i < 50; i++)
            {
                var (from, to) = sender % 2 == 0 ? (alice, bob) : (bob, alice);
                mine.Add((await from.SendTextAsync(to.Uid, $"{sender}/{i}")).AssertOk().Data.GetProperty("seq").GetInt64());
            }
            return mine;
        })));

        Assert.That(seqs.SelectMany(s => s).Order(), Is.EqualTo(Enumerable.Range(2, 1000).Select(i => (long)i)));
        var conversationId = (await alice.PostAsync("getConversationList")).AssertOk().Data[0].GetProperty("id").GetString();
        var tail = (await alice.PostAsync("getMsgList", new { conversation_id = conversationId, after_seq = 900, limit = 100 })).AssertOk().Data;
        Assert.That(tail.EnumerateArray().Select(m => m.GetProperty("seq").GetInt64()), Is.EqualTo(Enumerable.Range(901, 100).Select(i => (long)i)));
    }

    [Test]
    public async Task Retrying_a_send_with_the_same_client_msg_id_stores_one_message()
    {
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        var first = (await alice.SendTextAsync(bob.Uid, "once", "retry-1")).AssertOk().Data;
        var again = (await alice.SendTextAsync(bob.Uid, "once", "retry-1")).AssertOk().Data;
        (await alice.SendTextAsync(bob.Uid, "different", "retry-1")).AssertError(409, "uni-im-conflict");

        Assert.That(again.ToString(), Is.EqualTo(first.ToString()));
        var history = (await bob.PostAsync("getMsgList", new { conversation_id = first.GetProperty("conversation_id").GetString() })).AssertOk().Data;
        Assert.That(history.GetArrayLength(), Is.EqualTo(1));
        var row = (await bob.PostAsync("getConversationList")).AssertOk().Data[0];
        Assert.That(row.GetProperty("unread_count").GetInt64(), Is.EqualTo(1));
    }

    [Test]
    public async Task A_large_message_is_pushed_as_a_hint_and_fetched_by_seq()
    {
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        var url = (await bob.PostAsync("negotiate")).AssertOk().Data.GetProperty("url").GetString()!;
        await using var socket = await ConnectAsync(url);
        await socket.NextAsync();
        var text = new string('长', 2000);

        var sent = (await alice.SendTextAsync(bob.Uid, text)).AssertOk().Data;
        var hint = (await NextPushAsync(socket)).GetProperty("data");

        Assert.That(hint.GetProperty("is_hint").GetBoolean(), Is.True);
        Assert.That(hint.GetProperty("preview").GetString(), Is.EqualTo(text[..50]));
        Assert.That(hint.TryGetProperty("body", out _), Is.False);
        var fetched = (await bob.PostAsync("getMsgList", new
        {
            conversation_id = hint.GetProperty("conversation_id").GetString(),
            after_seq = hint.GetProperty("seq").GetInt64() - 1,
        })).AssertOk().Data[0];
        Assert.That(fetched.GetProperty("_id").GetString(), Is.EqualTo(sent.GetProperty("_id").GetString()));
        Assert.That(fetched.GetProperty("body").GetString(), Is.EqualTo(text));
        var row = (await bob.PostAsync("getConversationList")).AssertOk().Data[0];
        Assert.That(row.GetProperty("last_msg_note").GetString(), Is.EqualTo(text[..30]));
        Assert.That(row.GetProperty("last_msg").ValueKind, Is.EqualTo(JsonValueKind.Null), "rows copy only small messages whole");
    }

    [Test]
    public async Task Users_see_each_others_public_profile_only()
    {
        var alice = await app.LoginAsync(extraUserInfo: new { mobile = "13800000000", email = "a@example.com", gender = 2 });
        var bob = await app.LoginAsync();

        var profiles = (await bob.PostAsync("getUserInfo", new { user_ids = new[] { alice.Uid, "000000000000000000000000" } })).AssertOk().Data;
        var mapped = (await bob.PostAsync("getUserIdByExtUid", new { ext_uid = alice.Openid })).AssertOk().Data;

        var profile = profiles.EnumerateArray().Single();
        Assert.That(profile.EnumerateObject().Select(p => p.Name), Is.EquivalentTo(new[] { "_id", "nickname", "avatar_file" }));
        Assert.That(profile.GetProperty("_id").GetString(), Is.EqualTo(alice.Uid));
        Assert.That(mapped.GetProperty("uid").GetString(), Is.EqualTo(alice.Uid));
        (await bob.PostAsync("getUserIdByExtUid", new { ext_uid = "nobody-" + Guid.NewGuid() })).AssertError(404, "uni-im-not-found");
    }
}
