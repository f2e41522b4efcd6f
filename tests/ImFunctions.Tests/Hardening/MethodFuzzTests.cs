using System.Text.Json;
using FsCheck.Fluent;
using ImFunctions.Api;
using ImFunctions.Api.Hosting;
using ImFunctions.Core.Domain;
using ImFunctions.Tests.Support;

namespace ImFunctions.Tests.Hardening;

/// <summary>
/// Every method in the table, today's and each later one, gets the same random hostile bodies built from its own
/// field names: zero 5xx, every answer in the envelope, and a refusal writes nothing (the caller's and a peer's
/// conversations, with their history heads and unread counts, are as they were). Seeded: a failure prints the seed,
/// and IMFUNCTIONS_FUZZ_SEED=&lt;seed&gt; replays it.
/// </summary>
public sealed class MethodFuzzTests
{
    const int CasesPerMethod = 150;
    const ulong DefaultSeed = 20261130;
    static readonly ulong Seed = ulong.TryParse(Environment.GetEnvironmentVariable("IMFUNCTIONS_FUZZ_SEED"), out var s) ? s : DefaultSeed;

    TestApp app = null!;
    RawClient client = null!;
    TestUser alice = null!, bob = null!;
    string[] knownStrings = null!;

    public static IEnumerable<TestCaseData> Methods() =>
        UniImMethods.Create().Select(m => new TestCaseData(m.Name).SetName($"Random_bodies_for_{m.Name}_never_get_a_5xx_and_refusals_write_nothing"));

    [OneTimeSetUp]
    public async Task Start()
    {
        app = await TestApp.StartAsync(S2SSigner.Settings);
        client = new RawClient(app);
        (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        // History and unread on both sides, so a refused request that wrote anything shows.
        (await alice.SendTextAsync(bob.Uid, "hello bob")).AssertOk();
        (await bob.SendTextAsync(alice.Uid, "hi alice")).AssertOk();
        (await bob.SendTextAsync(alice.Uid, "are you there?")).AssertOk();
        // Real ids the fuzz may use: alice's own and their conversation. Never bob's uid, so no send can succeed by chance.
        knownStrings = [alice.Uid, bob.Openid, ConversationIds.Single(alice.Uid, bob.Uid), "single_" + new string('0', 32), "group_1", "000000000000000000000000"];
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        client.Dispose();
        await app.DisposeAsync();
    }

    /// <summary>Methods whose success ends the caller's session or account: each case gets a caller of its own.</summary>
    static readonly HashSet<string> EndTheCaller = ["logout", "logoutAll", "deleteAccount"];

    [TestCaseSource(nameof(Methods))]
    public async Task Fuzz(string methodName)
    {
        var method = UniImMethods.Create()[methodName];
        var seed = Seed ^ Fnv(methodName);   // per method, so a method added later does not reshuffle the others' cases
        var cases = RequestFuzz.For(method, knownStrings).Sample(CasesPerMethod, new FsCheck.Rnd(seed, 0x9E3779B97F4A7C15), 10);
        var caller = alice;

        var state = await SnapshotAsync(caller);
        var statuses = new SortedDictionary<int, int>();
        for (var i = 0; i < cases.Length; i++)
        {
            var fuzz = cases[i];
            if (EndTheCaller.Contains(methodName))
            {
                caller = await app.LoginAsync();
                (await bob.SendTextAsync(caller.Uid, "hello")).AssertOk();
                state = await SnapshotAsync(caller);
            }
            var reply = await SendAsync(method, fuzz, caller);
            var where = $"{methodName} case {i} of seed {Seed} (IMFUNCTIONS_FUZZ_SEED={Seed} replays it): {fuzz}\n→ {reply.Status} {reply.Body}";

            statuses[reply.Status] = statuses.GetValueOrDefault(reply.Status) + 1;
            Assert.That(reply.Status, Is.EqualTo(200).Or.InRange(400, 499), where);
            AssertEnvelope(reply, where);
            if (reply.Status >= 400) Assert.That(await SnapshotAsync(caller), Is.EqualTo(state), "a refused request wrote: " + where);
            else if (EndTheCaller.Contains(methodName)) continue;
            else
            {
                // revokeUserTokens may have revoked alice (her uid is a known string): she logs in again, as a user would.
                if (methodName == "revokeUserTokens") caller = alice = await app.LoginAsync(alice.Openid);
                state = await KeepSomethingUnreadAsync(await SnapshotAsync(caller));
            }
        }
        TestContext.Out.WriteLine($"{methodName}, seed {Seed}: " + string.Join(", ", statuses.Select(kv => $"{kv.Key}×{kv.Value}")));
    }

    /// <summary>As the method's caller would: a user method with the caller's token, a server method signed (acting as nobody).</summary>
    Task<ApiReply> SendAsync(ImMethod method, FuzzCase fuzz, TestUser caller) => method.Access switch
    {
        Access.User => client.SendAsync(HttpMethod.Post, method.Name, fuzz.Body, fuzz.ContentType, caller.Token),
        Access.Server => client.SendAsync(HttpMethod.Post, method.Name, fuzz.Body, fuzz.ContentType,
            headers: S2SSigner.HeadersFor(HttpMethod.Post, method.Name, fuzz.Body)),
        _ => client.SendAsync(HttpMethod.Post, method.Name, fuzz.Body, fuzz.ContentType),
    };

    static void AssertEnvelope(ApiReply reply, string where)
    {
        Assert.That(reply.Body.ValueKind, Is.EqualTo(JsonValueKind.Object), where);
        var errCode = reply.Body.TryGetProperty("errCode", out var code) ? code : default;
        if (reply.Status == 200)
        {
            Assert.That(errCode.ValueKind == JsonValueKind.Number && errCode.GetInt32() == 0 && reply.Body.TryGetProperty("data", out _), where);
            return;
        }
        Assert.That(errCode.ValueKind is JsonValueKind.String or JsonValueKind.Number, "errCode: " + where);
        Assert.That(reply.Body.TryGetProperty("errMsg", out var message) && message.ValueKind == JsonValueKind.String, "errMsg: " + where);
        Assert.That(reply.Body.TryGetProperty("errSubject", out var subject) ? subject.GetString() : null, Is.EqualTo("uni-im-co"), where);
    }

    /// <summary>What a write would change: both sides' conversation rows (last_seq, read_seq, unread_count, update_time, last_msg).</summary>
    async Task<string> SnapshotAsync(TestUser caller) =>
        (await caller.PostAsync("getConversationList")).AssertOk().Data + "\n" + (await bob.PostAsync("getConversationList")).AssertOk().Data;

    /// <summary>A valid clearUnreadCount may have read everything; a new message from bob keeps the unread check meaningful.</summary>
    async Task<string> KeepSomethingUnreadAsync(string state)
    {
        var rows = (await alice.PostAsync("getConversationList")).AssertOk().Data;
        if (rows.EnumerateArray().All(r => r.GetProperty("unread_count").GetInt64() > 0)) return state;
        (await bob.SendTextAsync(alice.Uid, "still there?")).AssertOk();
        return await SnapshotAsync(alice);
    }

    static ulong Fnv(string text)
    {
        var hash = 14695981039346656037UL;
        foreach (var c in text) hash = (hash ^ c) * 1099511628211UL;
        return hash;
    }
}
