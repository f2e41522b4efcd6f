using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using ImFunctions.Tests.Support;

namespace ImFunctions.Tests.Durability;

/// <summary>
/// "Stored before answered" under load: the local host is SIGKILLed while 1:1 and group senders are mid-flight,
/// restarted on the same data folder, and every message it had answered 200 for must be there, with each
/// conversation's seq still gap-free. Not timed; it guards the store's commit path (issue 17's group commit).
/// </summary>
public sealed class KillUnderLoadTests
{
    const int AcksBeforeKill = 30;   // per sender, so every conversation is busy when the kill lands

    string dataDirectory = null!;

    [SetUp]
    public void NewDataFolder() =>
        dataDirectory = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "imfunctions-tests", Guid.NewGuid().ToString("N"))).FullName;

    [TearDown]
    public void RemoveDataFolder()
    {
        foreach (var directory in new[] { dataDirectory, dataDirectory + "-cwd" })
            try { Directory.Delete(directory, recursive: true); } catch (IOException) { }
    }

    [Test]
    public async Task Every_acknowledged_message_survives_a_kill_9_under_load_and_seqs_stay_gap_free()
    {
        var server = await LocalHostProcess.StartAsync(dataDirectory);
        var acknowledged = new ConcurrentBag<Acknowledged>();
        string groupConversation;
        Client[] everyone;
        try
        {
            using var http = NewHttp(server);
            var users = await Task.WhenAll(Enumerable.Range(0, 7).Select(_ => Client.LoginAsync(http)));
            var (a1, b1, a2, b2, owner, m1, m2) = (users[0], users[1], users[2], users[3], users[4], users[5], users[6]);
            everyone = users;
            var groupId = (await owner.PostAsync("chooseUserIntoGroup", new { user_ids = new[] { m1.Uid, m2.Uid } }))
                .Data.GetProperty("group_id").GetString()!;
            groupConversation = "group_" + groupId;

            // Two 1:1 pairs talking both ways and three group members: seven senders, one request in flight each.
            var senders = new (Client From, object Target)[]
            {
                (a1, new { to_uid = b1.Uid }), (b1, new { to_uid = a1.Uid }),
                (a2, new { to_uid = b2.Uid }), (b2, new { to_uid = a2.Uid }),
                (owner, new { group_id = groupId }), (m1, new { group_id = groupId }), (m2, new { group_id = groupId }),
            };
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            var loops = senders.Select((s, index) => Task.Run(() => SendUntilDeadAsync(index, s.From, s.Target, acknowledged, stop.Token))).ToArray();

            var waited = Stopwatch.StartNew();
            while (senders.Select((_, i) => acknowledged.Count(a => a.Sender == i)).Min() < AcksBeforeKill)
            {
                Assert.That(waited.Elapsed, Is.LessThan(TimeSpan.FromSeconds(15)),
                    $"the senders did not each get {AcksBeforeKill} answers in time ({acknowledged.Count} in all):\n{server.Logged()}");
                Assert.That(loops.Where(l => l.IsFaulted).Select(l => l.Exception!.InnerException!.Message), Is.Empty, server.Logged());
                await Task.Delay(50);
            }
            await server.KillAsync();   // while every sender has a request in flight
            await Task.WhenAll(loops);
        }
        finally
        {
            await server.DisposeAsync();
        }

        await using var restarted = await LocalHostProcess.StartAsync(dataDirectory);
        using var after = NewHttp(restarted);
        var stored = new Dictionary<string, JsonElement[]>();
        foreach (var conversation in acknowledged.GroupBy(a => a.ConversationId))
        {
            // Read as a member of the conversation: whoever sent into it.
            var reader = everyone.Single(u => u.Uid == conversation.First().FromUid).On(after);
            stored[conversation.Key] = await reader.HistoryAsync(conversation.Key);
        }

        Assert.That(stored.Keys, Has.Member(groupConversation));
        Assert.That(stored.Count, Is.EqualTo(3), "two 1:1 conversations and one group");
        foreach (var (conversation, messages) in stored)
        {
            var seqs = messages.Select(m => m.GetProperty("seq").GetInt64()).ToArray();
            Assert.That(seqs, Is.EqualTo(Enumerable.Range(1, seqs.Length).Select(i => (long)i)), $"{conversation}: seq has a gap or a repeat");
            var bySeq = messages.ToDictionary(m => m.GetProperty("seq").GetInt64());
            foreach (var ack in acknowledged.Where(a => a.ConversationId == conversation))
            {
                Assert.That(bySeq.ContainsKey(ack.Seq), Is.True, $"{conversation}: acknowledged seq {ack.Seq} ({ack.ClientMsgId}) is missing after the restart");
                Assert.That(bySeq[ack.Seq].GetProperty("_id").GetString(), Is.EqualTo(ack.Id), $"{conversation}: seq {ack.Seq} holds another message");
            }
        }
        TestContext.Out.WriteLine($"{acknowledged.Count} acknowledged before the kill; stored after the restart: " +
            string.Join(", ", stored.Select(s => $"{s.Key[..Math.Min(12, s.Key.Length)]}…={s.Value.Length}")));
    }

    static async Task SendUntilDeadAsync(int sender, Client from, object target, ConcurrentBag<Acknowledged> acknowledged, CancellationToken stop)
    {
        for (var i = 0; !stop.IsCancellationRequested; i++)
        {
            var clientMsgId = $"s{sender}-{i}";
            var body = JsonSerializer.SerializeToElement(target).EnumerateObject()
                .ToDictionary(p => p.Name, p => (object)p.Value.GetString()!);
            body["appId"] = "__UNI__TEST";
            body["type"] = "text";
            body["body"] = "message " + clientMsgId;
            body["client_msg_id"] = clientMsgId;
            try
            {
                var reply = await from.PostAsync("sendMsg", body, requireOk: false);
                if (reply.Status != 200) continue;
                var data = reply.Data;
                acknowledged.Add(new Acknowledged(sender, from.Uid, data.GetProperty("conversation_id").GetString()!,
                    data.GetProperty("seq").GetInt64(), data.GetProperty("_id").GetString()!, clientMsgId));
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
            {
                return;   // the server is gone; this request was never answered
            }
        }
    }

    static HttpClient NewHttp(LocalHostProcess server) =>
        new(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(20) };

    sealed record Acknowledged(int Sender, string FromUid, string ConversationId, long Seq, string Id, string ClientMsgId);

    /// <summary>A logged-in user of a server process, by plain HTTP with its token.</summary>
    sealed record Client(HttpClient Http, string Uid, string Token)
    {
        public static async Task<Client> LoginAsync(HttpClient http)
        {
            var openid = "kill-" + Guid.NewGuid().ToString("N");
            var signed = LegacyJwts.Sign(new { exp = DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeMilliseconds(), userInfo = new { openid } }, TestApp.JwtSecret);
            var reply = await new Client(http, "", "").PostAsync("loginWithJWT", new { signedData = signed });
            return new Client(http, reply.Data.GetProperty("uid").GetString()!, reply.Body.GetProperty("newToken").GetProperty("token").GetString()!);
        }

        public Client On(HttpClient http) => this with { Http = http };

        public async Task<(int Status, JsonElement Body, JsonElement Data)> PostAsync(string method, object body, bool requireOk = true)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "api/" + method) { Content = JsonContent.Create(body) };
            if (Token.Length > 0) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
            using var response = await Http.SendAsync(request);
            var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
            if (requireOk) Assert.That((int)response.StatusCode, Is.EqualTo(200), $"{method}: {json}");
            return ((int)response.StatusCode, json, json.TryGetProperty("data", out var data) ? data : default);
        }

        /// <summary>The whole conversation, oldest first, paged by after_seq.</summary>
        public async Task<JsonElement[]> HistoryAsync(string conversationId)
        {
            var all = new List<JsonElement>();
            for (long after = 0; ;)
            {
                var page = (await PostAsync("getMsgList", new { conversation_id = conversationId, after_seq = after, limit = 100 })).Data
                    .EnumerateArray().ToArray();
                if (page.Length == 0) return all.ToArray();
                all.AddRange(page);
                after = page.Max(m => m.GetProperty("seq").GetInt64());
            }
        }
    }
}
