using System.Text.Json;
using ImFunctions.Tests.Push;
using ImFunctions.Tests.Support;

namespace ImFunctions.Tests.Groups;

/// <summary>A three-member group over real WebSockets through the local hub's Web PubSub REST API.</summary>
public sealed class GroupPushTests
{
    TestApp app = null!;

    [OneTimeSetUp]
    public async Task Start() => app = await TestApp.StartAsync();

    [OneTimeTearDown]
    public async Task Stop() => await app.DisposeAsync();

    async Task<HubSocket> OpenAsync(TestUser user)
    {
        var url = (await user.PostAsync("negotiate")).AssertOk().Data.GetProperty("url").GetString()!;
        var socket = await HubSocket.ConnectAsync(new Uri(url), HubSocket.Json);
        await socket.NextOfTypeAsync("system");   // connected
        return socket;
    }

    /// <summary>The next im message pushed to this socket (skipping other im events).</summary>
    static async Task<JsonElement> NextMessageAsync(HubSocket socket)
    {
        while (true)
        {
            var push = (await socket.NextOfTypeAsync("message")).GetProperty("data");
            if (push.GetProperty("event").GetString() == "msg") return push.GetProperty("data");
        }
    }

    static string Describe(JsonElement message) => message.GetProperty("type").GetString() == "system"
        ? "system:" + message.GetProperty("body").GetProperty("action").GetString()
        : message.GetProperty("body").GetString()!;

    [Test]
    public async Task Every_member_receives_each_message_once_and_leavers_receive_nothing_more()
    {
        var (owner, bob, carol) = (await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync());
        var groupId = await owner.CreateGroupAsync(bob, carol);
        // Sockets opened after joining: their membership comes from the hub, not from a call made while they were open.
        await using var ownerSocket = await OpenAsync(owner);
        await using var bobSocket = await OpenAsync(bob);
        await using var carolSocket = await OpenAsync(carol);

        var first = (await owner.SayAsync(groupId, "hello all")).AssertOk().Data.GetProperty("seq").GetInt64();
        (await bob.SayAsync(groupId, "hi")).AssertOk();
        foreach (var socket in new[] { ownerSocket, bobSocket, carolSocket })
        {
            Assert.That(Describe(await NextMessageAsync(socket)), Is.EqualTo("hello all"));
            var next = await NextMessageAsync(socket);
            Assert.That((Describe(next), next.GetProperty("seq").GetInt64()), Is.EqualTo(("hi", first + 1)), "once each, in seq order");
        }

        // A change is announced after it happened, with the next seq.
        (await owner.PostAsync("updateGroupInfo", new { group_id = groupId, name = "renamed" })).AssertOk();
        var renamed = await NextMessageAsync(carolSocket);
        Assert.That((Describe(renamed), renamed.GetProperty("seq").GetInt64()), Is.EqualTo(("system:update-group-info-name", first + 2)));
        Assert.That((await carol.InfoAsync(groupId)).GetProperty("name").GetString(), Is.EqualTo("renamed"));

        // Carol is expelled: she hears why, then nothing of the group. A 1:1 marker on her own audience shows the
        // group message sent before it never reached her (one connection delivers in order).
        (await owner.PostAsync("expelGroupMember", new { group_id = groupId, user_id = carol.Uid })).AssertOk();
        Assert.That(Describe(await NextMessageAsync(carolSocket)), Is.EqualTo("system:group-expel"));
        (await owner.SayAsync(groupId, "after expel")).AssertOk();
        Assert.That(Describe(await NextMessageAsync(bobSocket)), Is.EqualTo("system:update-group-info-name"));
        Assert.That(Describe(await NextMessageAsync(bobSocket)), Is.EqualTo("system:group-expel"));
        Assert.That(Describe(await NextMessageAsync(bobSocket)), Is.EqualTo("after expel"));
        (await owner.SendTextAsync(carol.Uid, "marker for carol")).AssertOk();
        Assert.That(Describe(await NextMessageAsync(carolSocket)), Is.EqualTo("marker for carol"));

        // Bob quits: from the moment the call returns nothing of the group reaches him.
        (await bob.PostAsync("quitGroup", new { group_id = groupId })).AssertOk();
        (await owner.SayAsync(groupId, "after quit")).AssertOk();
        Assert.That(Describe(await NextMessageAsync(ownerSocket)), Is.EqualTo("system:update-group-info-name"));
        (await owner.SendTextAsync(bob.Uid, "marker for bob")).AssertOk();
        Assert.That(Describe(await NextMessageAsync(bobSocket)), Is.EqualTo("marker for bob"));
    }

    [Test]
    public async Task A_new_member_receives_their_own_join_and_a_second_device_receives_too()
    {
        var (owner, newcomer) = (await app.LoginAsync(), await app.LoginAsync());
        var groupId = await owner.CreateGroupAsync();
        await using var before = await OpenAsync(newcomer);   // open before joining: added to the group by the join

        (await owner.PostAsync("chooseUserIntoGroup", new { group_id = groupId, user_ids = new[] { newcomer.Uid } })).AssertOk();
        Assert.That(Describe(await NextMessageAsync(before)), Is.EqualTo("system:join-group"));

        await using var after = await OpenAsync(newcomer);
        (await owner.SayAsync(groupId, "welcome")).AssertOk();
        Assert.That(Describe(await NextMessageAsync(before)), Is.EqualTo("welcome"));
        Assert.That(Describe(await NextMessageAsync(after)), Is.EqualTo("welcome"));
    }

    [Test]
    public async Task A_negotiated_url_names_the_users_current_groups_as_web_pubsub_group_claims()
    {
        var (owner, member) = (await app.LoginAsync(), await app.LoginAsync());
        var (kept, left) = (await owner.CreateGroupAsync(member), await owner.CreateGroupAsync(member));
        (await member.PostAsync("quitGroup", new { group_id = left })).AssertOk();

        var url = new Uri((await member.PostAsync("negotiate")).AssertOk().Data.GetProperty("url").GetString()!);
        var token = System.Web.HttpUtility.ParseQueryString(url.Query)["access_token"]!;
        var claims = new System.IdentityModel.Tokens.Jwt.JwtSecurityTokenHandler().ReadJwtToken(token).Claims;
        Assert.That(claims.Where(c => c.Type == "webpubsub.group").Select(c => c.Value), Is.EqualTo(new[] { "group_" + kept }));
    }
}
