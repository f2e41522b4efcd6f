using System.Text.Json;
using ImFunctions.Core.Accounts;
using ImFunctions.Tests.Push;
using ImFunctions.Tests.Storage;
using ImFunctions.Tests.Support;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.DependencyInjection;

namespace ImFunctions.Tests.Api;

/// <summary>UniIm:MessageTtl, UniIm:RecordIp and what the app writes to its logs.</summary>
public sealed class DataRetentionTests
{
    static long[] Seqs(ApiReply reply) => reply.AssertOk().Data.EnumerateArray().Select(m => m.GetProperty("seq").GetInt64()).ToArray();

    [Test]
    public async Task Retention_removes_messages_older_than_the_ttl_on_sqlite_and_seq_paging_starts_at_the_oldest_kept()
    {
        var clock = new ManualClock();
        await using var app = await TestApp.StartAsync(new Dictionary<string, string?> { ["UniIm:MessageTtl"] = "01:00:00" },
            builder => builder.Services.AddSingleton<TimeProvider>(clock));
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        var conversationId = (await alice.SendTextAsync(bob.Uid, "old 1")).AssertOk().Data.GetProperty("conversation_id").GetString();
        (await bob.SendTextAsync(alice.Uid, "old 2")).AssertOk();
        clock.Advance(TimeSpan.FromMinutes(30));
        (await alice.SendTextAsync(bob.Uid, "new 3")).AssertOk();
        (await alice.SendTextAsync(bob.Uid, "new 4")).AssertOk();
        clock.Advance(TimeSpan.FromMinutes(31));

        var removed = await app.Service<MessageRetention>().SweepAsync(CancellationToken.None);

        Assert.That(removed, Is.EqualTo(2));
        Assert.That(Seqs(await bob.PostAsync("getMsgList", new { conversation_id = conversationId })), Is.EqualTo(new long[] { 4, 3 }));
        Assert.That(Seqs(await bob.PostAsync("getMsgList", new { conversation_id = conversationId, before_seq = 3 })), Is.Empty);
        Assert.That(Seqs(await bob.PostAsync("getMsgList", new { conversation_id = conversationId, after_seq = 0 })), Is.EqualTo(new long[] { 3, 4 }));
        var next = (await bob.SendTextAsync(alice.Uid, "and on")).AssertOk().Data;
        Assert.That(next.GetProperty("seq").GetInt64(), Is.EqualTo(5), "seq continues after expired messages");
        Assert.That(await app.Service<MessageRetention>().SweepAsync(CancellationToken.None), Is.Zero);
    }

    [Test]
    public async Task A_conversation_whose_every_message_expired_goes_on_from_its_last_seq_on_sqlite()
    {
        var clock = new ManualClock();
        await using var app = await TestApp.StartAsync(new Dictionary<string, string?> { ["UniIm:MessageTtl"] = "00:10:00" },
            builder => builder.Services.AddSingleton<TimeProvider>(clock));
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        var conversationId = (await alice.SendTextAsync(bob.Uid, "old 1")).AssertOk().Data.GetProperty("conversation_id").GetString();
        (await bob.SendTextAsync(alice.Uid, "old 2")).AssertOk();

        foreach (var expected in new long[] { 3, 4 })
        {
            clock.Advance(TimeSpan.FromMinutes(11));
            Assert.That(await app.Service<MessageRetention>().SweepAsync(CancellationToken.None), Is.EqualTo(expected == 3 ? 2 : 1));
            Assert.That(Seqs(await bob.PostAsync("getMsgList", new { conversation_id = conversationId, after_seq = 0 })), Is.Empty);
            var next = (await alice.SendTextAsync(bob.Uid, "after a quiet while")).AssertOk().Data;
            Assert.That(next.GetProperty("seq").GetInt64(), Is.EqualTo(expected), "never a seq the conversation had before");
            Assert.That(Seqs(await bob.PostAsync("getMsgList", new { conversation_id = conversationId, after_seq = 0 })), Is.EqualTo(new[] { expected }));
        }
    }

    [Test]
    public async Task Without_a_ttl_nothing_is_ever_swept()
    {
        var clock = new ManualClock();
        await using var app = await TestApp.StartAsync(null, configure: builder => builder.Services.AddSingleton<TimeProvider>(clock));
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        var conversationId = (await alice.SendTextAsync(bob.Uid, "kept")).AssertOk().Data.GetProperty("conversation_id").GetString();
        clock.Advance(TimeSpan.FromDays(3650));

        Assert.That(await app.Service<MessageRetention>().SweepAsync(CancellationToken.None), Is.Zero);
        (await app.PostAsync("loginWithJWT", new { })).AssertError(400, "uni-im-invalid-param");   // the app is still up
        clock.Advance(-TimeSpan.FromDays(3650));
        Assert.That(Seqs(await bob.PostAsync("getMsgList", new { conversation_id = conversationId })), Is.EqualTo(new long[] { 1 }));
    }

    [Test]
    public async Task On_cosmos_every_message_is_written_with_the_ttl_the_container_expires_it_by()
    {
        var store = new CosmosStoreFactory();
        try
        {
            var settings = store.AppSettings("");
            settings["UniIm:MessageTtl"] = "7.00:00:00";
            await using var app = await TestApp.StartAsync(settings);
            var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
            var sent = (await alice.SendTextAsync(bob.Uid, "expires in a week")).AssertOk().Data;

            var options = await store.OptionsAsync();
            using var client = options.CreateClient();
            var container = client.GetContainer(options.Database, "messages");
            var item = await container.ReadItemAsync<JsonElement>(sent.GetProperty("_id").GetString(),
                new PartitionKey(sent.GetProperty("conversation_id").GetString()));
            Assert.That(item.Resource.GetProperty("ttl").GetInt32(), Is.EqualTo(7 * 24 * 3600));
            var properties = (await container.ReadContainerAsync()).Resource;
            Assert.That(properties.DefaultTimeToLive, Is.EqualTo(-1), "TTL on for the container, so per-item ttl applies");
            Assert.That(await app.Service<MessageRetention>().SweepAsync(CancellationToken.None), Is.Zero, "Cosmos expires them itself");
        }
        finally
        {
            await store.DisposeAsync();
        }
    }

    [Test]
    public async Task With_RecordIp_on_the_senders_address_is_shown_to_uni_im_admin_only()
    {
        await using var app = await TestApp.StartAsync(new Dictionary<string, string?> { ["UniIm:RecordIp"] = "true" });
        var (alice, admin) = (await app.LoginAsync(), await app.LoginAsync(role: ["uni-im-admin"]));
        var negotiated = (await alice.PostAsync("negotiate")).AssertOk().Data;
        await using var socket = await HubSocket.ConnectAsync(new Uri(negotiated.GetProperty("url").GetString()!), HubSocket.Json);
        await socket.NextAsync();
        var conversationId = (await alice.SendTextAsync(admin.Uid, "hello")).AssertOk().Data.GetProperty("conversation_id").GetString();

        var asAdmin = (await admin.PostAsync("getMsgList", new { conversation_id = conversationId })).AssertOk().Data.EnumerateArray().Single();
        Assert.That(asAdmin.GetProperty("from_ip").GetString(), Is.EqualTo("127.0.0.1"));
        var asSender = (await alice.PostAsync("getMsgList", new { conversation_id = conversationId })).AssertOk().Data.EnumerateArray().Single();
        Assert.That(asSender.TryGetProperty("from_ip", out _), Is.False);
        var pushed = (await socket.NextOfTypeAsync("message")).ToString();
        var rows = (await admin.PostAsync("getConversationList")).AssertOk().Body.ToString();
        Assert.That(pushed + rows, Does.Not.Contain("from_ip").And.Not.Contain("127.0.0.1"));
    }

    [Test]
    public async Task Without_RecordIp_no_address_is_stored_even_for_uni_im_admin()
    {
        await using var app = await TestApp.StartAsync();
        var (alice, admin) = (await app.LoginAsync(), await app.LoginAsync(role: ["uni-im-admin"]));
        var conversationId = (await alice.SendTextAsync(admin.Uid, "hello")).AssertOk().Data.GetProperty("conversation_id").GetString();
        var asAdmin = (await admin.PostAsync("getMsgList", new { conversation_id = conversationId })).AssertOk().Data.EnumerateArray().Single();
        Assert.That(asAdmin.TryGetProperty("from_ip", out _), Is.False);
    }

    [Test]
    public async Task A_whole_chat_flow_leaves_no_token_secret_contact_detail_or_address_in_the_logs()
    {
        await using var app = await TestApp.StartAsync(new Dictionary<string, string?> { ["UniIm:RecordIp"] = "true" });
        var (mobileA, mobileB, emailA, emailB) = ("13912345678", "+86 137 0000 1111", "alice.private@example.org", "bob.private@example.net");
        var legacyJwt = LegacyJwts.Sign(new { exp = DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds(),
            userInfo = new { openid = "log-scan-" + Guid.NewGuid().ToString("N"), nickname = "Alice", mobile = mobileA, email = emailA } }, TestApp.JwtSecret);
        var login = (await app.PostAsync("loginWithJWT", new { signedData = legacyJwt })).AssertOk();
        var alice = new TestUser(app, login.Data.GetProperty("uid").GetString()!, "",
            login.Body.GetProperty("newToken").GetProperty("token").GetString()!);
        var bob = await app.LoginAsync(extraUserInfo: new { mobile = mobileB, email = emailB });
        var tokens = new List<string> { legacyJwt, alice.Token, bob.Token };

        var negotiated = (await bob.PostAsync("negotiate")).AssertOk().Data;
        var socketUrl = negotiated.GetProperty("url").GetString()!;
        await using (var socket = await HubSocket.ConnectAsync(new Uri(socketUrl), HubSocket.Json))
        {
            await socket.NextAsync();
            var conversationId = (await alice.SendTextAsync(bob.Uid, "hi bob, call me at " + mobileA)).AssertOk().Data.GetProperty("conversation_id").GetString();
            await socket.NextOfTypeAsync("message");
            (await bob.SendTextAsync(alice.Uid, "mail me: " + emailB)).AssertOk();
            (await bob.PostAsync("getConversationList")).AssertOk();
            (await bob.PostAsync("getMsgList", new { conversation_id = conversationId })).AssertOk();
            (await bob.PostAsync("clearUnreadCount", new { conversation_id = conversationId })).AssertOk();
        }
        (await app.PostRawAsync("getConversationList", "{}", "not-a-token")).AssertError(401, "uni-id-check-token-failed");
        (await app.PostAsync("loginWithJWT", new { signedData = legacyJwt + "x" })).AssertError(401, "1");
        (await bob.PostAsync("exportMyData")).AssertOk();
        (await bob.PostAsync("logout")).AssertOk();
        (await bob.PostAsync("getConversationList")).AssertError(401, "uni-id-check-token-failed");
        (await alice.PostAsync("deleteAccount")).AssertOk();
        await app.App.StopAsync();

        var lines = app.Logs.Lines;
        Assert.That(lines, Is.Not.Empty, "the scan must see the app's log lines");
        Assert.That(lines.Any(l => l.Contains("deleteAccount")), "the request lines are recorded");
        var accessToken = new Uri(socketUrl).Query.TrimStart('?');
        string[] forbidden =
        [
            .. tokens, .. tokens.Select(t => t.Split('.')[2]), accessToken, "eyJ",
            TestApp.JwtSecret, TestApp.TokenSecret, TestApp.HubAccessKey,
            mobileA, mobileB, "13912345678", "0000 1111", emailA, emailB, "@example.",
            "::1", "::ffff:",
        ];
        foreach (var line in lines)
        {
            foreach (var secret in forbidden) Assert.That(line, Does.Not.Contain(secret), "a log line holds something private");
            // The server's own listening address is not a client's: only Kestrel's start line may name 127.0.0.1.
            if (!line.Contains("Microsoft.Hosting.Lifetime")) Assert.That(line, Does.Not.Contain("127.0.0.1"), "a log line holds an address");
        }
    }
}
