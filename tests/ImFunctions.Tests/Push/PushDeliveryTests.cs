using System.Diagnostics;
using System.Text.Json;
using ImFunctions.Core.Push;
using ImFunctions.Tests.Support;

namespace ImFunctions.Tests.Push;

// uni-im clients as they run locally: negotiate, open the URL with the Web PubSub protocol, receive pushes.
// In local mode the app hands pushes to its own hub in-process (the REST client is covered by the Functions-host tests).
[TestFixture]
public class PushDeliveryTests
{
    TestApp app = null!;

    [OneTimeSetUp]
    public async Task Start() => app = await TestApp.StartAsync();

    [OneTimeTearDown]
    public async Task Stop() => await app.DisposeAsync();

    async Task<HubSocket> OpenDevice(TestUser user)
    {
        var url = (await user.PostAsync("negotiate")).AssertOk().Data.GetProperty("url").GetString()!;
        var (socket, _) = await HubSocket.OpenAsync(new Uri(url));
        return socket;
    }

    static async Task<JsonElement> NextPush(HubSocket socket) => (await socket.NextOfTypeAsync("message")).GetProperty("data");

    [Test]
    public async Task Negotiate_returns_this_apps_hub_url_for_an_hour()
    {
        var user = await app.LoginAsync();

        var data = (await user.PostAsync("negotiate")).AssertOk().Data;

        Assert.That(new Uri(data.GetProperty("url").GetString()!).GetLeftPart(UriPartial.Path),
            Is.EqualTo($"ws://127.0.0.1:{app.BaseAddress.Port}/client/hubs/im"));
        Assert.That(data.GetProperty("expire_time").GetInt64(),
            Is.EqualTo(DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeMilliseconds()).Within(60_000));
    }

    [Test]
    public async Task A_sent_message_reaches_the_receiver_and_the_senders_other_devices()
    {
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        await using var bobPhone = await OpenDevice(bob);
        await using var aliceLaptop = await OpenDevice(alice);

        var timer = Stopwatch.StartNew();
        var sent = (await alice.SendTextAsync(bob.Uid, "hello bob")).AssertOk().Data;
        var toBob = await NextPush(bobPhone);
        var latency = timer.Elapsed;
        var toAlice = await NextPush(aliceLaptop);

        foreach (var push in new[] { toBob, toAlice })
        {
            Assert.That(push.GetProperty("type").GetString(), Is.EqualTo("im"));
            Assert.That(push.GetProperty("event").GetString(), Is.EqualTo("msg"));
            var message = push.GetProperty("data");
            Assert.That(message.GetProperty("_id").GetString(), Is.EqualTo(sent.GetProperty("_id").GetString()));
            Assert.That(message.GetProperty("seq").GetInt64(), Is.EqualTo(1));
            Assert.That(message.GetProperty("body").GetString(), Is.EqualTo("hello bob"));
            Assert.That(message.GetProperty("from_uid").GetString(), Is.EqualTo(alice.Uid));
        }
        TestContext.Out.WriteLine($"sendMsg to push on the receiver's socket: {latency.TotalMilliseconds:0.0} ms");
    }

    [Test]
    public async Task Pushes_to_one_receiver_arrive_in_seq_order()
    {
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        await using var bobPhone = await OpenDevice(bob);

        for (var i = 1; i <= 20; i++) (await alice.SendTextAsync(bob.Uid, "m" + i)).AssertOk();

        var seqs = new List<long>();
        for (var i = 1; i <= 20; i++) seqs.Add((await NextPush(bobPhone)).GetProperty("data").GetProperty("seq").GetInt64());
        Assert.That(seqs, Is.EqualTo(Enumerable.Range(1, 20).Select(i => (long)i)));
    }

    [Test]
    public async Task A_message_over_1_KB_is_pushed_as_a_hint_and_fetched_with_getMsgList()
    {
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        await using var bobPhone = await OpenDevice(bob);
        var text = string.Concat(Enumerable.Repeat("长消息", 400));   // 1200 characters, 3600 bytes of UTF-8

        var sent = (await alice.SendTextAsync(bob.Uid, text)).AssertOk().Data;
        var push = await NextPush(bobPhone);

        var hint = push.GetProperty("data");
        Assert.That(push.GetProperty("event").GetString(), Is.EqualTo("msg"));
        Assert.That(hint.GetProperty("is_hint").GetBoolean(), Is.True);
        Assert.That(hint.GetProperty("conversation_id").GetString(), Is.EqualTo(sent.GetProperty("conversation_id").GetString()));
        Assert.That(hint.GetProperty("seq").GetInt64(), Is.EqualTo(sent.GetProperty("seq").GetInt64()));
        Assert.That(hint.GetProperty("preview").GetString(), Is.EqualTo(text[..50]));
        Assert.That(hint.TryGetProperty("body", out _), Is.False);
        Assert.That(System.Text.Encoding.UTF8.GetByteCount(push.GetRawText()), Is.LessThanOrEqualTo(PushEvents.MaxInlineMessageBytes));

        var fetched = (await bob.PostAsync("getMsgList", new
        {
            conversation_id = hint.GetProperty("conversation_id").GetString(),
            after_seq = hint.GetProperty("seq").GetInt64() - 1,
        })).AssertOk().Data;
        Assert.That(fetched[0].GetProperty("body").GetString(), Is.EqualTo(text));
    }

    [Test]
    public async Task A_read_receipt_reaches_the_peer()
    {
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        var sent = (await alice.SendTextAsync(bob.Uid, "read me")).AssertOk().Data;
        await using var alicePhone = await OpenDevice(alice);

        (await bob.PostAsync("clearUnreadCount", new { conversation_id = sent.GetProperty("conversation_id").GetString() })).AssertOk();

        // The send's own push to alice's devices is dispatched off the request path and may reach the new socket first.
        var push = await NextPush(alicePhone);
        if (push.GetProperty("event").GetString() == "msg") push = await NextPush(alicePhone);
        Assert.That(push.GetProperty("event").GetString(), Is.EqualTo("read"));
        Assert.That(push.GetProperty("data").GetProperty("read_seq").GetInt64(), Is.EqualTo(1));
    }
}
