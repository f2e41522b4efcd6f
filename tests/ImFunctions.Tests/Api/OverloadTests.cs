using ImFunctions.Core.Domain;
using ImFunctions.Tests.Support;
using Microsoft.Data.Sqlite;

namespace ImFunctions.Tests.Api;

/// <summary>When the caller or the store is overwhelmed: a clear refusal with Retry-After, and nothing half-written.</summary>
[TestFixture(ImHost.Local)]
[TestFixture(ImHost.Functions)]
public sealed class OverloadTests(ImHost host)
{
    [Test]
    public async Task Past_the_per_user_rate_limit_requests_get_429_with_retry_after()
    {
        await using var app = await TestApp.StartAsync(host, new Dictionary<string, string?>
        {
            ["RateLimit:Burst"] = "3",
            ["RateLimit:PermitsPerSecond"] = "1",
        });
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        var replies = new List<ApiReply>();
        for (var i = 0; i < 5; i++) replies.Add(await alice.PostAsync("getConversationList"));

        Assert.That(replies.Take(3).Select(r => r.Status), Is.All.EqualTo(200));
        replies[4].AssertError(429, ErrorCodes.RateLimited);
        Assert.That(replies[4].Headers.RetryAfter?.Delta?.TotalSeconds, Is.GreaterThanOrEqualTo(1));
        (await bob.PostAsync("getConversationList")).AssertOk();   // another user has a bucket of their own
    }

    [Test]
    public async Task A_locked_store_answers_503_with_retry_after_and_stores_nothing()
    {
        await using var app = await TestApp.StartAsync(host, new Dictionary<string, string?> { ["Storage:Sqlite:BusyTimeout"] = "00:00:01" });
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        (await alice.SendTextAsync(bob.Uid, "before")).AssertOk();

        await using (var locker = new SqliteConnection($"Data Source={Path.Combine(app.DataDirectory, "imfunctions.db")};Pooling=False"))
        {
            await locker.OpenAsync();
            await using var exclusive = locker.CreateCommand();
            exclusive.CommandText = "BEGIN EXCLUSIVE";
            await exclusive.ExecuteNonQueryAsync();

            var refused = await alice.SendTextAsync(bob.Uid, "while locked");
            refused.AssertError(503, ErrorCodes.Unavailable);
            Assert.That(refused.Headers.RetryAfter?.Delta?.TotalSeconds, Is.GreaterThan(0));
        }

        var history = (await bob.PostAsync("getMsgList", new { conversation_id = ConversationIds.Single(alice.Uid, bob.Uid) })).AssertOk().Data;
        Assert.That(history.EnumerateArray().Select(m => m.GetProperty("body").GetString()), Is.EqualTo(new[] { "before" }));
        (await alice.SendTextAsync(bob.Uid, "after")).AssertOk();
    }
}
