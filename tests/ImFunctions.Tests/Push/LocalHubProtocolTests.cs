using System.Net;
using System.Net.WebSockets;
using System.Text;
using ImFunctions.Core.Push.LocalHub;
using ImFunctions.Core.Push.WebPubSub;
using ImFunctions.Tests.Support;

namespace ImFunctions.Tests.Push;

// The local hub's client side, frame by frame: json.webpubsub.azure.v1 and json.reliable.webpubsub.azure.v1 as
// Microsoft documents them (connected, ping/pong, groups with roles and acks, sequence ids, recovery).
// A short recovery window and replay buffer keep the timing tests fast; the defaults are checked separately.
[TestFixture]
public class LocalHubProtocolTests
{
    const int ReplayLimit = 20;
    TestApp app = null!;
    WebPubSubRestClient rest = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        app = await TestApp.StartAsync(new Dictionary<string, string?>
        {
            ["LocalHub:RecoveryWindow"] = "00:00:02",
            ["LocalHub:MaxUnackedMessages"] = ReplayLimit.ToString(),
        });
        rest = new WebPubSubRestClient(WebPubSubConnectionString.Parse(app.Service<LocalHubOptions>().ConnectionString!), "im");
    }

    [OneTimeTearDown]
    public async Task Stop() => await app.DisposeAsync();

    static string NewUser() => "u-" + Guid.NewGuid().ToString("N")[..12];
    Uri Url(string? user, string[]? roles = null, string[]? groups = null) =>
        rest.GetClientAccess(user, roles, groups, TimeSpan.FromMinutes(5)).Url;
    Task Push(string user, string json) => rest.SendToUserAsync(user, Encoding.UTF8.GetBytes(json), CancellationToken.None);

    [Test]
    public void The_default_replay_buffer_and_recovery_window_are_the_services()
    {
        var defaults = new LocalHubOptions();

        Assert.That((defaults.MaxUnackedMessages, defaults.MaxUnackedBytes, defaults.RecoveryWindow),
            Is.EqualTo((1000, 16L * 1024 * 1024, TimeSpan.FromSeconds(30))));
    }

    [TestCase(HubSocket.Reliable)]
    [TestCase(HubSocket.Json)]
    public async Task The_requested_subprotocol_is_echoed_and_connected_comes_first(string subprotocol)
    {
        var user = NewUser();
        var (socket, connected) = await HubSocket.OpenAsync(Url(user), subprotocol);
        await using var owned = socket;

        Assert.That(socket.Subprotocol, Is.EqualTo(subprotocol));
        Assert.That(connected.GetProperty("type").GetString(), Is.EqualTo("system"));
        Assert.That(connected.GetProperty("userId").GetString(), Is.EqualTo(user));
        Assert.That(connected.GetProperty("connectionId").GetString(), Is.Not.Empty);
        Assert.That(connected.TryGetProperty("reconnectionToken", out _), Is.EqualTo(subprotocol == HubSocket.Reliable));
    }

    [Test]
    public async Task A_client_without_subprotocol_gets_the_bare_payload()
    {
        var user = NewUser();
        await using var socket = await HubSocket.ConnectAsync(Url(user), subprotocol: null);
        await LocalHubRestTests.WaitUntil(() => rest.UserExistsAsync(user, CancellationToken.None));

        await Push(user, """{"bare":true}""");

        Assert.That((await socket.NextFrameAsync()).Text, Is.EqualTo("""{"bare":true}"""));
    }

    [Test]
    public async Task A_missing_or_foreign_token_is_refused_with_401_before_the_upgrade()
    {
        var forged = new WebPubSubRestClient(new WebPubSubConnectionString(app.BaseAddress, "some-other-key-0123456789abcdefghijklmnop"), "im")
            .GetClientAccess("mallory", null, null, TimeSpan.FromMinutes(5)).Url;
        var bare = new Uri(forged.GetLeftPart(UriPartial.Path));

        foreach (var url in new[] { forged, bare })
        {
            using var socket = new ClientWebSocket();
            socket.Options.CollectHttpResponseDetails = true;
            socket.Options.AddSubProtocol(HubSocket.Reliable);
            await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(url, CancellationToken.None));
            Assert.That(socket.HttpStatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), url.ToString());
        }
    }

    [Test]
    public async Task Ping_gets_pong()
    {
        var (socket, _) = await HubSocket.OpenAsync(Url(NewUser()));
        await using var _1 = socket;

        await socket.SendAsync(new { type = "ping" });

        Assert.That((await socket.NextAsync()).ToString(), Is.EqualTo("""{"type":"pong"}"""));
    }

    [Test]
    public async Task Joining_needs_a_role_and_each_ackId_is_processed_once()
    {
        var (stranger, _) = await HubSocket.OpenAsync(Url(NewUser()));
        var (member, _) = await HubSocket.OpenAsync(Url(NewUser(), roles: ["webpubsub.joinLeaveGroup.room"]));
        await using var _1 = stranger;
        await using var _2 = member;

        await stranger.SendAsync(new { type = "joinGroup", group = "room", ackId = 1 });
        var refused = await stranger.NextAsync();
        await member.SendAsync(new { type = "joinGroup", group = "room", ackId = 7 });
        var joined = await member.NextAsync();
        await member.SendAsync(new { type = "joinGroup", group = "room", ackId = 7 });
        var duplicate = await member.NextAsync();
        await member.SendAsync(new { type = "joinGroup", group = "other", ackId = 8 });
        var forbiddenElsewhere = await member.NextAsync();

        Assert.That(refused.ToString(), Is.EqualTo("""{"type":"ack","ackId":1,"success":false,"error":{"name":"Forbidden","message":"The client has no permission to join group 'room'."}}"""));
        Assert.That(joined.ToString(), Is.EqualTo("""{"type":"ack","ackId":7,"success":true}"""));
        Assert.That(duplicate.ToString(), Is.EqualTo("""{"type":"ack","ackId":7,"success":false,"error":{"name":"Duplicate","message":"Message with ack-id: 7 has been processed"}}"""));
        Assert.That(forbiddenElsewhere.GetProperty("error").GetProperty("name").GetString(), Is.EqualTo("Forbidden"));
    }

    [Test]
    public async Task Group_sends_need_a_role_reach_members_and_skip_the_sender_with_noEcho()
    {
        var group = "g-" + NewUser();
        var (alice, bob) = (NewUser(), NewUser());
        var (sender, _) = await HubSocket.OpenAsync(Url(alice, roles: ["webpubsub.sendToGroup", "webpubsub.joinLeaveGroup"]));
        var (listener, _) = await HubSocket.OpenAsync(Url(bob, groups: [group]), HubSocket.Json);   // joined by its token
        var (mute, _) = await HubSocket.OpenAsync(Url(NewUser(), groups: [group]));
        await using var _1 = sender;
        await using var _2 = listener;
        await using var _3 = mute;

        await sender.SendAsync(new { type = "joinGroup", group, ackId = 1 });
        await sender.NextOfTypeAsync("ack");
        await sender.SendAsync(new { type = "sendToGroup", group, ackId = 2, noEcho = true, dataType = "json", data = new { a = 1 } });
        var ack = await sender.NextAsync();
        var heard = await listener.NextOfTypeAsync("message");
        await mute.SendAsync(new { type = "sendToGroup", group, ackId = 1, dataType = "text", data = "me too" });
        var muted = await mute.NextOfTypeAsync("ack");

        Assert.That(ack.GetProperty("success").GetBoolean(), Is.True);
        Assert.That(heard.ToString(), Is.EqualTo($$$"""{"type":"message","from":"group","group":"{{{group}}}","fromUserId":"{{{alice}}}","dataType":"json","data":{"a":1}}"""));
        Assert.That(await sender.IsQuietAsync(TimeSpan.FromMilliseconds(300)), Is.True, "noEcho");
        Assert.That(muted.GetProperty("error").GetProperty("name").GetString(), Is.EqualTo("Forbidden"));
    }

    [Test]
    public async Task A_group_larger_than_one_fan_out_slice_gets_each_pushers_messages_in_order_on_every_socket()
    {
        // 150 members: the hub starts their sockets from three threads. Four pushers call the hub back to back, as the
        // app's push port does; every socket must get all 4 x 25 messages, each pusher's in the order it pushed them.
        const int Members = 150, Pushers = 4, Messages = 25;
        var group = "g-" + NewUser();
        var sockets = await Task.WhenAll(Enumerable.Range(0, Members).Select(async _ =>
            (await HubSocket.OpenAsync(Url(NewUser(), groups: [group]), HubSocket.Json)).Socket));
        try
        {
            var hub = app.Service<LocalPushHub>();
            var pushes = Enumerable.Range(0, Pushers).Select(p => Task.Run(() =>
            {
                for (var n = 1; n <= Messages; n++) hub.SendToGroup(group, HubData.Json(Encoding.UTF8.GetBytes($$"""{"p":{{p}},"n":{{n}}}""")), []);
            })).ToArray();
            var heard = await Task.WhenAll(sockets.Select(async socket =>
            {
                var received = new List<(int P, int N)>();
                for (var i = 0; i < Pushers * Messages; i++)
                {
                    var data = (await socket.NextOfTypeAsync("message")).GetProperty("data");
                    received.Add((data.GetProperty("p").GetInt32(), data.GetProperty("n").GetInt32()));
                }
                return received;
            }));
            await Task.WhenAll(pushes);

            var expected = Enumerable.Range(1, Messages).ToList();
            var outOfOrder = heard.Where(received => Enumerable.Range(0, Pushers).Any(p =>
                !received.Where(r => r.P == p).Select(r => r.N).SequenceEqual(expected))).ToList();
            Assert.That(outOfOrder, Is.Empty, string.Join("; ", outOfOrder.Take(2).Select(r => string.Join(",", r))));
        }
        finally
        {
            foreach (var socket in sockets) await socket.DisposeAsync();
        }
    }

    [Test]
    public async Task A_recovered_connection_gets_exactly_the_messages_it_had_not_acknowledged()
    {
        var user = NewUser();
        var url = Url(user);
        var (socket, connected) = await HubSocket.OpenAsync(url);
        for (var i = 1; i <= 3; i++) await Push(user, $$"""{"n":{{i}}}""");
        var received = new List<long>();
        for (var i = 0; i < 3; i++) received.Add((await socket.NextOfTypeAsync("message")).GetProperty("sequenceId").GetInt64());
        await socket.SendAsync(new { type = "sequenceAck", sequenceId = 2 });
        await Task.Delay(100);

        socket.Abort();
        await socket.DisposeAsync();
        for (var i = 4; i <= 5; i++) await Push(user, $$"""{"n":{{i}}}""");
        var (recovered, again) = await HubSocket.OpenAsync(LocalHubRestTests.RecoveryUrl(url, connected));
        await using var _ = recovered;
        var replayed = new List<string>();
        for (var i = 0; i < 3; i++) replayed.Add((await recovered.NextOfTypeAsync("message")).ToString());

        Assert.That(received, Is.EqualTo(new long[] { 1, 2, 3 }));
        Assert.That(again.GetProperty("connectionId").GetString(), Is.EqualTo(connected.GetProperty("connectionId").GetString()));
        Assert.That(replayed, Is.EqualTo(new[]
        {
            """{"sequenceId":3,"type":"message","from":"server","dataType":"json","data":{"n":3}}""",
            """{"sequenceId":4,"type":"message","from":"server","dataType":"json","data":{"n":4}}""",
            """{"sequenceId":5,"type":"message","from":"server","dataType":"json","data":{"n":5}}""",
        }));
        Assert.That(await recovered.IsQuietAsync(TimeSpan.FromMilliseconds(300)), Is.True);
    }

    [Test]
    public async Task Recovery_takes_over_a_socket_the_hub_has_not_yet_seen_drop()
    {
        var user = NewUser();
        var url = Url(user);
        var (old, connected) = await HubSocket.OpenAsync(url);
        await using var _1 = old;

        var (recovered, _) = await HubSocket.OpenAsync(LocalHubRestTests.RecoveryUrl(url, connected));
        await using var _2 = recovered;
        await Push(user, "1");

        Assert.That((await recovered.NextOfTypeAsync("message")).GetProperty("data").GetInt32(), Is.EqualTo(1));
        Assert.That(await old.Closed.WaitAsync(TimeSpan.FromSeconds(5)), Is.Null, "the old socket is dropped");
    }

    [Test]
    public async Task Recovery_is_refused_with_1008_after_the_window_with_a_wrong_token_or_on_the_plain_protocol()
    {
        var (user, plainUser) = (NewUser(), NewUser());
        var url = Url(user);
        var (socket, connected) = await HubSocket.OpenAsync(url);
        var (plain, plainConnected) = await HubSocket.OpenAsync(Url(plainUser), HubSocket.Json);
        var wrongToken = new Uri(url + "&awps_connection_id=" + connected.GetProperty("connectionId").GetString() + "&awps_reconnection_token=nope");

        Assert.That(await RecoveryCloseStatus(wrongToken), Is.EqualTo(WebSocketCloseStatus.PolicyViolation));
        plain.Abort();
        socket.Abort();
        await plain.DisposeAsync();
        await socket.DisposeAsync();
        await LocalHubRestTests.WaitUntil(async () => !await rest.UserExistsAsync(plainUser, CancellationToken.None));
        Assert.That(await rest.UserExistsAsync(user, CancellationToken.None), Is.True, "kept for recovery");
        await LocalHubRestTests.WaitUntil(async () => !await rest.UserExistsAsync(user, CancellationToken.None), TimeSpan.FromSeconds(6));

        Assert.That(await RecoveryCloseStatus(LocalHubRestTests.RecoveryUrl(url, connected)), Is.EqualTo(WebSocketCloseStatus.PolicyViolation));
        Assert.That(await RecoveryCloseStatus(new Uri(Url(plainUser) + "&awps_connection_id=" + plainConnected.GetProperty("connectionId").GetString()
            + "&awps_reconnection_token=x")), Is.EqualTo(WebSocketCloseStatus.PolicyViolation));
    }

    [Test]
    public async Task A_client_that_closes_with_1000_cannot_recover()
    {
        var user = NewUser();
        var url = Url(user);
        var (socket, connected) = await HubSocket.OpenAsync(url);

        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure);
        await socket.DisposeAsync();

        await LocalHubRestTests.WaitUntil(async () => !await rest.UserExistsAsync(user, CancellationToken.None));
        Assert.That(await RecoveryCloseStatus(LocalHubRestTests.RecoveryUrl(url, connected)), Is.EqualTo(WebSocketCloseStatus.PolicyViolation));
    }

    [Test]
    public async Task A_reliable_client_that_falls_a_full_buffer_behind_is_closed_for_good()
    {
        var user = NewUser();
        var url = Url(user);
        var (socket, connected) = await HubSocket.OpenAsync(url);
        await using var _ = socket;

        for (var i = 1; i <= ReplayLimit + 1; i++) await Push(user, i.ToString());

        for (var i = 1; i <= ReplayLimit; i++) await socket.NextOfTypeAsync("message");
        var disconnected = await socket.NextAsync();
        Assert.That(disconnected.GetProperty("event").GetString(), Is.EqualTo("disconnected"));
        Assert.That(await socket.Closed, Is.Not.Null);
        Assert.That(await RecoveryCloseStatus(LocalHubRestTests.RecoveryUrl(url, connected)), Is.EqualTo(WebSocketCloseStatus.PolicyViolation));
    }

    [Test]
    public async Task Acknowledged_messages_leave_the_buffer()
    {
        var user = NewUser();
        var (socket, _) = await HubSocket.OpenAsync(Url(user));
        await using var _1 = socket;

        for (var i = 1; i <= ReplayLimit * 3; i++)
        {
            await Push(user, i.ToString());
            var message = await socket.NextOfTypeAsync("message");
            await socket.SendAsync(new { type = "sequenceAck", sequenceId = message.GetProperty("sequenceId").GetInt64() });
        }

        Assert.That(await rest.UserExistsAsync(user, CancellationToken.None), Is.True);
    }

    [Test]
    public async Task Malformed_frames_close_the_connection_for_good()
    {
        var (jsonUser, binaryUser) = (NewUser(), NewUser());
        var (badJson, _) = await HubSocket.OpenAsync(Url(jsonUser));
        var (binary, _) = await HubSocket.OpenAsync(Url(binaryUser));
        await using var _1 = badJson;
        await using var _2 = binary;

        await badJson.SendRawAsync("{oops"u8.ToArray(), WebSocketMessageType.Text);
        await binary.SendRawAsync([1, 2, 3], WebSocketMessageType.Binary);

        Assert.That(await badJson.Closed, Is.EqualTo(WebSocketCloseStatus.InvalidPayloadData));
        Assert.That(await binary.Closed, Is.EqualTo(WebSocketCloseStatus.InvalidMessageType));
        await LocalHubRestTests.WaitUntil(async () =>
            !await rest.UserExistsAsync(jsonUser, CancellationToken.None) && !await rest.UserExistsAsync(binaryUser, CancellationToken.None));
    }

    static async Task<WebSocketCloseStatus?> RecoveryCloseStatus(Uri recoveryUrl)
    {
        await using var socket = await HubSocket.ConnectAsync(recoveryUrl);
        return await socket.Closed.WaitAsync(TimeSpan.FromSeconds(5));
    }
}
