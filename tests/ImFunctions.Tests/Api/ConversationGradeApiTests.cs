using ImFunctions.Core.Domain;
using ImFunctions.Tests.Groups;
using ImFunctions.Tests.Support;

namespace ImFunctions.Tests.Api;

/// <summary>
/// conversation_grade over HTTP, one app per grade: stranger, friend, fellow group member, customer service, staff.
/// </summary>
public sealed class ConversationGradeApiTests
{
    static async Task<TestApp> StartAsync(int grade) =>
        await TestApp.StartAsync(new Dictionary<string, string?> { ["UniIm:ConversationGrade"] = grade.ToString() });

    static async Task BefriendAsync(TestUser a, TestUser b)
    {
        var invite = (await a.PostAsync("addFriendInvite", new { to_uid = b.Uid })).AssertOk().Data;
        (await b.PostAsync("acceptFriendInvite", new { invite_id = invite.GetProperty("_id").GetString() })).AssertOk();
    }

    static async Task AssertNothingWritten(TestUser a, TestUser b)
    {
        Assert.That((await a.PostAsync("getConversationList")).AssertOk().Data.GetArrayLength(), Is.Zero);
        Assert.That((await b.PostAsync("getConversationList")).AssertOk().Data.GetArrayLength(), Is.Zero);
    }

    [TestCase(100)]
    [TestCase(200)]
    [TestCase(300)]
    public async Task Friends_may_start_strangers_may_not_and_replies_outlive_the_friendship(int grade)
    {
        await using var app = await StartAsync(grade);
        var (alice, bob, carol) = (await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync());

        (await carol.SendTextAsync(alice.Uid, "hi stranger")).AssertError(403, ErrorCodes.NoPermission);
        await AssertNothingWritten(carol, alice);

        await BefriendAsync(alice, bob);
        (await alice.SendTextAsync(bob.Uid, "hi friend")).AssertOk();
        (await bob.PostAsync("deleteFriend", new { friend_uid = alice.Uid })).AssertOk();
        (await bob.SendTextAsync(alice.Uid, "a reply is always allowed")).AssertOk();
        (await alice.SendTextAsync(bob.Uid, "and back")).AssertOk();
    }

    [Test]
    public async Task Grade_200_lets_fellow_group_members_start_and_checks_the_group_on_the_server()
    {
        await using var app = await StartAsync(200);
        var users = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => app.LoginAsync()));
        var (owner, alice, bob, leaver, stranger) = (users[0], users[1], users[2], users[3], users[4]);
        var groupId = await owner.CreateGroupAsync(alice, bob, leaver);
        (await leaver.PostAsync("quitGroup", new { group_id = groupId })).AssertOk();
        var strangersGroup = await stranger.CreateGroupAsync(leaver);

        (await alice.SendTextAsync(bob.Uid, "we met in the group")).AssertOk();
        (await bob.PostAsync("sendMsg", new { to_uid = owner.Uid, appId = "__UNI__TEST", type = "text", body = "hi", chat_source = new { group_id = groupId } }))
            .AssertOk();

        // chat_source names a group the sender is not in: the server checks membership, not the client's word.
        (await stranger.PostAsync("sendMsg", new { to_uid = alice.Uid, appId = "__UNI__TEST", type = "text", body = "hi", chat_source = new { group_id = groupId } }))
            .AssertError(403, ErrorCodes.NoPermission);
        (await stranger.PostAsync("sendMsg", new { to_uid = alice.Uid, appId = "__UNI__TEST", type = "text", body = "hi", chat_source = new { group_id = strangersGroup } }))
            .AssertError(403, ErrorCodes.NoPermission);
        (await leaver.SendTextAsync(alice.Uid, "a past member is a stranger again")).AssertError(403, ErrorCodes.NoPermission);
        (await stranger.SendTextAsync(leaver.Uid, "a fellow member of my group")).AssertOk();
        Assert.That((await alice.PostAsync("getConversationList", new { type = "single" })).AssertOk().Data.GetArrayLength(), Is.EqualTo(1), "only bob");
    }

    [Test]
    public async Task Grade_100_lets_anyone_reach_customer_service_configured_as_customer_service_uids()
    {
        var (app, desk, data) = await StartWithCustomerServiceAsync(100);
        await using (app)
        {
            var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
            (await alice.SendTextAsync(desk.Uid, "help")).AssertOk();
            (await desk.SendTextAsync(bob.Uid, "can I help?")).AssertOk();
            (await alice.SendTextAsync(bob.Uid, "hi")).AssertError(403, ErrorCodes.AdminOnly);
            Assert.That((await alice.PostAsync("getConversationList")).AssertOk().Data.GetArrayLength(), Is.EqualTo(1), "only the desk");
            await BefriendAsync(alice, bob);
            (await alice.SendTextAsync(bob.Uid, "hi friend")).AssertOk();
        }
        Directory.Delete(data, recursive: true);
    }

    [Test]
    public async Task Grade_200_does_not_let_customer_service_start_with_strangers()
    {
        var (app, desk, data) = await StartWithCustomerServiceAsync(200);
        await using (app)
        {
            var alice = await app.LoginAsync();
            (await alice.SendTextAsync(desk.Uid, "help")).AssertError(403, ErrorCodes.NoPermission);
            (await desk.SendTextAsync(alice.Uid, "hello")).AssertError(403, ErrorCodes.NoPermission);
            await AssertNothingWritten(alice, desk);
        }
        Directory.Delete(data, recursive: true);
    }

    /// <summary>An app whose customer service is a user that exists: uids are made at first login, so a first app makes it.</summary>
    static async Task<(TestApp App, TestUser Desk, string DataDirectory)> StartWithCustomerServiceAsync(int grade)
    {
        var data = Path.Combine(Path.GetTempPath(), "imfunctions-tests", Guid.NewGuid().ToString("N"));
        var openid = "desk-" + Guid.NewGuid().ToString("N");
        string uid;
        await using (var first = await TestApp.StartAsync(new Dictionary<string, string?> { ["DataDirectory"] = data }))
            uid = (await first.LoginAsync(openid)).Uid;
        var app = await TestApp.StartAsync(new Dictionary<string, string?>
        {
            ["DataDirectory"] = data,
            ["UniIm:ConversationGrade"] = grade.ToString(),
            ["UniIm:CustomerServiceUids"] = uid,
        });
        var desk = await app.LoginAsync(openid);
        Assert.That(desk.Uid, Is.EqualTo(uid));
        return (app, desk, data);
    }

    [Test]
    public async Task Grade_300_lets_staff_start_and_checks_chat_source_on_the_server()
    {
        await using var app = await StartAsync(300);
        var staff = await app.LoginAsync(role: [TalkPolicy.StaffRole]);
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());

        (await staff.SendTextAsync(alice.Uid, "from staff")).AssertOk();
        (await bob.SendTextAsync(staff.Uid, "to staff")).AssertOk();
        var fromGroup = await alice.PostAsync("sendMsg", new
        {
            to_uid = bob.Uid, appId = "__UNI__TEST", type = "text", body = "hi", chat_source = new { group_id = "000000000000000000000000" },
        });
        fromGroup.AssertError(403, ErrorCodes.NoPermission);   // no such group, whatever the client says
        Assert.That((await bob.PostAsync("getConversationList")).AssertOk().Data.GetArrayLength(), Is.EqualTo(1), "only the staff conversation");
        (await alice.PostAsync("sendMsg", new { to_uid = bob.Uid, appId = "__UNI__TEST", type = "text", body = "hi", chat_source = new { group_id = "" } }))
            .AssertError(400, ErrorCodes.InvalidParam);
    }
}
