using ImFunctions.Core.Domain;
using ImFunctions.Tests.Support;

namespace ImFunctions.Tests.Api;

/// <summary>Everything a client can get wrong gets the spec's status and errCode, and writes nothing.</summary>
[TestFixture(ImHost.Local)]
[TestFixture(ImHost.Functions)]
public sealed class BadInputTests(ImHost host)
{
    TestApp app = null!;
    TestUser alice = null!, bob = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        app = await TestApp.StartAsync(host, new Dictionary<string, string?> { ["UniIm:MaxBodyBytes"] = "1000" });
        alice = await app.LoginAsync();
        bob = await app.LoginAsync();
    }

    [OneTimeTearDown]
    public async Task Stop() => await app.DisposeAsync();

    [TearDown]
    public async Task Nothing_was_written()
    {
        foreach (var user in new[] { alice, bob })
            Assert.That((await user.PostAsync("getConversationList")).AssertOk().Data.GetArrayLength(), Is.EqualTo(0), "a refused request wrote a conversation");
    }

    object Send(object? toUid = null, object? body = null, object? type = null, object? appId = null) =>
        new { to_uid = toUid ?? bob.Uid, appId = appId ?? "__UNI__TEST", type = type ?? "text", body = body ?? "hi" };

    [TestCase("{", "body")]
    [TestCase("[1,2]", "body")]
    [TestCase("\"text\"", "body")]
    [TestCase("{\"to_uid\": 42, \"appId\": \"a\", \"type\": \"text\", \"body\": \"x\"}", "to_uid")]
    [TestCase("{\"to_uid\": \"u\", \"appId\": \"a\", \"type\": \"text\", \"body\": \"x\", \"client_create_time\": \"yesterday\"}", "client_create_time")]
    public async Task Malformed_json_and_wrong_types_are_400_naming_the_field(string json, string field)
    {
        var reply = await app.PostRawAsync("sendMsg", json, alice.Token);
        reply.AssertError(400, ErrorCodes.InvalidParam);
        Assert.That(reply.Body.GetProperty("errMsg").GetString(), Does.StartWith(field));
    }

    [Test]
    public async Task Missing_and_oversized_fields_are_400_naming_the_field()
    {
        async Task Expect(object body, string field)
        {
            var reply = await alice.PostAsync("sendMsg", body);
            reply.AssertError(400, ErrorCodes.InvalidParam);
            Assert.That(reply.Body.GetProperty("errMsg").GetString(), Does.StartWith(field), reply.Body.ToString());
        }
        await Expect(new { appId = "a", type = "text", body = "x" }, "to_uid");
        await Expect(new { to_uid = bob.Uid, type = "text", body = "x" }, "appId");
        await Expect(new { to_uid = bob.Uid, appId = "a", body = "x" }, "type");
        await Expect(new { to_uid = bob.Uid, appId = "a", type = "text" }, "body");
        await Expect(Send(body: new string('x', 1001)), "body");
        await Expect(Send(body: 42), "body");
        await Expect(Send(type: "system", body: "https://x/y.mp4"), "type");
        await Expect(Send(type: "image", body: "http://insecure.example/a.png"), "body");
        await Expect(new { to_uid = bob.Uid, appId = "a", type = "text", body = "x", client_msg_id = new string('c', 65) }, "client_msg_id");
        await Expect(Send(toUid: alice.Uid), "to_uid");
        var list = await alice.PostAsync("getMsgList", new { conversation_id = "single_x", limit = 101 });
        list.AssertError(400, ErrorCodes.InvalidParam);
        (await alice.PostAsync("getMsgList", new { conversation_id = "single_x", before_seq = 5, after_seq = 1 })).AssertError(400, ErrorCodes.InvalidParam);
        (await alice.PostAsync("getConversationList", new { limit = 0 })).AssertError(400, ErrorCodes.InvalidParam);
        (await alice.PostAsync("getUserInfo", new { user_ids = Array.Empty<string>() })).AssertError(400, ErrorCodes.InvalidParam);
    }

    [Test]
    public async Task A_request_over_64_KB_is_413_before_it_is_parsed()
    {
        var huge = "{\"to_uid\":\"" + bob.Uid + "\",\"appId\":\"a\",\"type\":\"text\",\"body\":\"" + new string('x', 70_000) + "\"}";
        (await app.PostRawAsync("sendMsg", huge, alice.Token)).AssertError(413, ErrorCodes.TooLarge);
    }

    [Test]
    public async Task Unknown_receivers_and_conversations_are_404()
    {
        (await alice.PostAsync("sendMsg", Send(toUid: "000000000000000000000000"))).AssertError(404, ErrorCodes.NotFound);
        (await alice.PostAsync("sendMsg", new { group_id = "g1", appId = "a", type = "text", body = "x" })).AssertError(404, ErrorCodes.NotFound);
        (await alice.PostAsync("getMsgList", new { conversation_id = ConversationIds.Single(bob.Uid, "someone") })).AssertError(404, ErrorCodes.NotFound);
        (await alice.PostAsync("clearUnreadCount", new { conversation_id = "single_nope" })).AssertError(404, ErrorCodes.NotFound);
    }

    [Test]
    public async Task Wrong_content_types_get_the_envelope_too()
    {
        (await app.PostRawAsync("sendMsg", "to_uid=x", alice.Token, "application/x-www-form-urlencoded")).AssertError(415, ErrorCodes.InvalidParam);
    }
}

/// <summary>
/// Requests no method matches. Local host only: in Azure the Functions host answers them itself (404, empty body)
/// before any worker code runs, since every function is declared POST at its own route.
/// </summary>
public sealed class LocalRoutingTests
{
    [Test]
    public async Task Unknown_methods_are_404_and_wrong_verbs_405_with_the_envelope()
    {
        await using var app = await TestApp.StartAsync();
        var alice = await app.LoginAsync();

        (await alice.PostAsync("noSuchMethod")).AssertError(404, ErrorCodes.NotFound);
        using var get = await app.Http.GetAsync("/api/sendMsg");
        Assert.That((int)get.StatusCode, Is.EqualTo(405));
    }
}

/// <summary>uni-im's admin_uid rule over HTTP: customer service may talk to anyone, others only to customer service.</summary>
public sealed class AdminRuleTests
{
    [Test]
    public async Task Strangers_are_refused_with_40001_and_customer_service_conversations_work_both_ways()
    {
        // uids are minted at login, so the rule is configured on a second app over the same data.
        await using var plain = await TestApp.StartAsync();
        var (agent, alice, bob) = (await plain.LoginAsync(), await plain.LoginAsync(), await plain.LoginAsync());
        await using var ruled = await TestApp.StartAsync(new Dictionary<string, string?>
        {
            ["UniIm:AdminUid"] = agent.Uid,
            ["DataDirectory"] = plain.DataDirectory,
        });
        var (a, b, cs) = (alice with { App = ruled }, bob with { App = ruled }, agent with { App = ruled });

        (await a.SendTextAsync(b.Uid, "hi stranger")).AssertError(403, "40001");
        (await a.SendTextAsync(cs.Uid, "I need help")).AssertOk();
        (await cs.SendTextAsync(b.Uid, "hello from support")).AssertOk();
        (await b.SendTextAsync(cs.Uid, "thanks")).AssertOk();
    }
}
