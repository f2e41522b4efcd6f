using System.Text.Json;
using ImFunctions.Core.Push.LocalHub;
using ImFunctions.Tests.Support;

namespace ImFunctions.Tests.Push;

// Proof by clients nobody here wrote: Microsoft's own npm packages against the local hub, run by node
// (tests/node/wps-*.mjs, packages pinned in tests/node/package-lock.json and installed on first use).
[TestFixture]
public class WebPubSubSdkTests
{
    TestApp app = null!;

    [OneTimeSetUp]
    public async Task Start() => app = await TestApp.StartAsync();

    [OneTimeTearDown]
    public async Task Stop() => await app.DisposeAsync();

    [Test]
    public async Task The_web_pubsub_client_recovers_a_cut_connection_without_losing_or_repeating_a_push()
    {
        var (receiver, sender) = (await app.LoginAsync(), await app.LoginAsync());

        var result = await NodeScript.RunAsync("wps-client-check.mjs", new
        {
            appUrl = app.BaseAddress.ToString(),
            hub = "im",
            connectionString = app.Service<LocalHubOptions>().ConnectionString,
            receiver = new { uid = receiver.Uid, token = receiver.Token },
            sender = new { token = sender.Token },
        }, TimeSpan.FromSeconds(60));

        var pushes = result.GetProperty("pushes").EnumerateArray().ToArray();
        Assert.That(pushes.Select(p => p.GetProperty("seq").GetInt64()), Is.EqualTo(new long[] { 1, 2, 3, 4, 5 }), "each push exactly once, in order");
        Assert.That(pushes.Select(p => p.GetProperty("body").GetString()), Is.EqualTo(new[]
            { "before the cut", "while cut 1", "while cut 2", "while cut 3", "on the fresh connection" }));
        Assert.That(result.GetProperty("pushesAfterRecovery").GetInt32(), Is.EqualTo(4));

        // One connected event for the first connection, none for the recovery, one for the fresh connection
        // the client opened after the hub refused to recover a connection closed by closeUserConnections.
        var connected = Strings(result, "connected");
        Assert.That(connected, Has.Length.EqualTo(2));
        Assert.That(connected[1], Is.Not.EqualTo(connected[0]));
        Assert.That(Strings(result, "disconnected"), Is.EqualTo(new[] { "closed by the test" }));
        Assert.That(result.GetProperty("negotiations").GetInt32(), Is.EqualTo(2));

        var upgrades = Strings(result, "upgrades");
        Assert.That(upgrades.First(), Is.EqualTo("new"));
        Assert.That(upgrades.Last(), Is.EqualTo("new"));
        Assert.That(upgrades.Count(u => u == "new"), Is.EqualTo(2));
        Assert.That(upgrades.Count(u => u == "recovery"), Is.GreaterThanOrEqualTo(2), "one after the cut, one refused after the close");
    }

    [Test]
    public async Task The_web_pubsub_server_sdk_drives_the_local_hubs_rest_api()
    {
        var result = await NodeScript.RunAsync("wps-server-check.mjs", new
        {
            connectionString = app.Service<LocalHubOptions>().ConnectionString,
            hub = "im",
        }, TimeSpan.FromSeconds(60));

        var received = result.GetProperty("received").EnumerateArray().Select(m => m.ToString()).ToArray();
        Assert.That(received[0], Is.EqualTo("""{"from":"server","dataType":"json","data":{"hello":"user"}}"""));
        Assert.That(received[1], Does.StartWith("""{"from":"group","group":"sdk-room-""").And.EndWith(""","dataType":"json","data":{"hello":"group"}}"""));
        Assert.That(received[2], Is.EqualTo("""{"from":"server","dataType":"json","data":{"marker":"after removal"}}"""), "removeUser stops group messages");
        Assert.That(received[3], Is.EqualTo("""{"from":"server","dataType":"text","data":"to everyone"}"""));
        var claimed = result.GetProperty("claimed").EnumerateArray().Single();
        Assert.That(claimed.GetProperty("group").GetString(), Is.EqualTo(result.GetProperty("claimedGroupName").GetString()));
        Assert.That(claimed.GetProperty("data").ToString(), Is.EqualTo("""{"hello":"claimed"}"""));
        Assert.That(result.GetProperty("connectedUserId").GetString(), Does.StartWith("sdk-user-"));
        Assert.That(result.GetProperty("userExists").GetBoolean(), Is.True);
        Assert.That(result.GetProperty("strangerExists").GetBoolean(), Is.False);
        Assert.That(Strings(result, "disconnected"), Is.EqualTo(new[] { "the SDK said bye" }));
        Assert.That(result.GetProperty("userExistsAfterClose").GetBoolean(), Is.False);
        Assert.That(result.GetProperty("wrongKey").GetInt32(), Is.EqualTo(401));
    }

    static string?[] Strings(JsonElement result, string name) =>
        result.GetProperty(name).EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Null ? null : e.GetString()).ToArray();
}
