using System.Diagnostics;
using System.Text.Json;
using ImFunctions.Tests.Storage;
using ImFunctions.Tests.Support;

namespace ImFunctions.Tests.Api;

/// <summary>The real app with Storage__Provider=cosmos against the local Cosmos-compatible server, over HTTP.</summary>
public sealed class CosmosAppTests
{
    [Test]
    public async Task Login_send_list_and_history_work_on_cosmos()
    {
        var store = new CosmosStoreFactory();
        await using var app = await TestApp.StartAsync(store.AppSettings(""));
        try
        {
            var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
            JsonElement sent = default;
            for (var i = 1; i <= 5; i++) sent = (await alice.SendTextAsync(bob.Uid, "m" + i, "client-" + i)).AssertOk().Data;
            var retried = (await alice.SendTextAsync(bob.Uid, "m5", "client-5")).AssertOk().Data;
            var reply = (await bob.SendTextAsync(alice.Uid, "hi alice")).AssertOk().Data;
            var conversationId = sent.GetProperty("conversation_id").GetString();

            Assert.That(retried.ToString(), Is.EqualTo(sent.ToString()));
            Assert.That(reply.GetProperty("seq").GetInt64(), Is.EqualTo(6));
            var row = (await alice.PostAsync("getConversationList")).AssertOk().Data.EnumerateArray().Single();
            Assert.That(row.GetProperty("id").GetString(), Is.EqualTo(conversationId));
            Assert.That(row.GetProperty("unread_count").GetInt64(), Is.EqualTo(1));
            Assert.That(row.GetProperty("last_msg_note").GetString(), Is.EqualTo("hi alice"));
            Assert.That(row.GetProperty("user_info").GetProperty("_id").GetString(), Is.EqualTo(bob.Uid));

            long[] Seqs(ApiReply reply) => reply.AssertOk().Data.EnumerateArray().Select(m => m.GetProperty("seq").GetInt64()).ToArray();
            Assert.That(Seqs(await bob.PostAsync("getMsgList", new { conversation_id = conversationId, limit = 4 })), Is.EqualTo(new long[] { 6, 5, 4, 3 }));
            Assert.That(Seqs(await bob.PostAsync("getMsgList", new { conversation_id = conversationId, before_seq = 3 })), Is.EqualTo(new long[] { 2, 1 }));
            Assert.That(Seqs(await bob.PostAsync("getMsgList", new { conversation_id = conversationId, after_seq = 4 })), Is.EqualTo(new long[] { 5, 6 }));

            (await alice.PostAsync("clearUnreadCount", new { conversation_id = conversationId })).AssertOk();
            row = (await alice.PostAsync("getConversationList")).AssertOk().Data.EnumerateArray().Single();
            Assert.That(row.GetProperty("unread_count").GetInt64(), Is.Zero);
            var profiles = (await alice.PostAsync("getUserInfo", new { user_ids = new[] { alice.Uid, bob.Uid } })).AssertOk().Data;
            Assert.That(profiles.EnumerateArray().Select(p => p.GetProperty("_id").GetString()), Is.EquivalentTo(new[] { alice.Uid, bob.Uid }));
            var byExtUid = (await alice.PostAsync("getUserIdByExtUid", new { ext_uid = bob.Openid })).AssertOk().Data;
            Assert.That(byExtUid.ToString(), Does.Contain(bob.Uid));
        }
        finally
        {
            await store.DisposeAsync();
        }
    }

    [Test]
    public async Task When_cosmos_goes_down_requests_answer_503_with_retry_after()
    {
        using var server = await CosmosServer.StartAsync();   // its own server: this test kills it
        await using var app = await TestApp.StartAsync(new CosmosStoreFactory(server).AppSettings(""));
        var alice = await app.LoginAsync();

        server.Dispose();
        var clock = Stopwatch.StartNew();
        var reply = await alice.PostAsync("getConversationList");

        reply.AssertError(503, "uni-im-unavailable");
        Assert.That(reply.Headers.RetryAfter, Is.Not.Null);
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(30)), "retries are bounded");
    }

    [Test]
    public async Task The_app_refuses_to_start_trusting_a_local_certificate_for_a_remote_account()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Storage:Provider"] = "cosmos",
            ["Cosmos:Endpoint"] = "https://imfunctions.documents.azure.com:443/",
            ["Cosmos:Key"] = CosmosServer.Key,
            ["Cosmos:TrustLocalCertificate"] = "true",
        };
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => TestApp.StartAsync(settings));
        Assert.That(refused!.Message, Does.Contain("TrustLocalCertificate").And.Contain("imfunctions.documents.azure.com"));
    }
}
