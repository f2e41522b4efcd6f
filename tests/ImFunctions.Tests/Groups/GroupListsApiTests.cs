using System.Text.Json;
using ImFunctions.Core.Domain;
using ImFunctions.Tests.Support;

namespace ImFunctions.Tests.Groups;

/// <summary>
/// Groups inside the friends feature's list, settings and badge: filters, pinned-first cursors, hiding, marking
/// unread and getUnreadCount see group rows at their group's activity with unread derived from the member's cursor;
/// and a user who blocked you is not put in a group by you.
/// </summary>
public sealed class GroupListsApiTests
{
    TestApp app = null!;

    [OneTimeSetUp]
    public async Task Start() => app = await TestApp.StartAsync();

    [OneTimeTearDown]
    public async Task Stop() => await app.DisposeAsync();

    static async Task<JsonElement[]> ListAsync(TestUser user, object? body = null) =>
        (await user.PostAsync("getConversationList", body ?? new { })).AssertOk().Data.EnumerateArray().ToArray();

    static string[] Ids(IEnumerable<JsonElement> rows) => rows.Select(r => r.GetProperty("id").GetString()!).ToArray();

    static JsonElement Row(IEnumerable<JsonElement> rows, string id) => rows.Single(r => r.GetProperty("id").GetString() == id);

    static async Task<JsonElement> UnreadAsync(TestUser user) => (await user.PostAsync("getUnreadCount")).AssertOk().Data;

    static async Task Tick() => await Task.Delay(5);   // distinct update_time, so the expected order is plain

    /// <summary>
    /// A user with two groups and two 1:1 conversations, activity interleaved: newest first they are
    /// group A (join + "a"), peer 1, group B (join), peer 0.
    /// </summary>
    async Task<(TestUser Me, TestUser Owner, string GroupA, string GroupB, string[] Expected)> InboxAsync()
    {
        var (me, owner, peer0, peer1) = (await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync());
        var groupA = await owner.CreateGroupAsync(me);
        await Tick();
        var single0 = (await peer0.SendTextAsync(me.Uid, "p0")).AssertOk().Data.GetProperty("conversation_id").GetString()!;
        await Tick();
        var groupB = await owner.CreateGroupAsync(me);
        await Tick();
        var single1 = (await peer1.SendTextAsync(me.Uid, "p1")).AssertOk().Data.GetProperty("conversation_id").GetString()!;
        await Tick();
        (await owner.SayAsync(groupA, "a")).AssertOk();
        return (me, owner, groupA, groupB, ["group_" + groupA, single1, "group_" + groupB, single0]);
    }

    [Test]
    public async Task A_user_who_blocked_you_cannot_be_put_in_a_group_by_you_and_nothing_is_written()
    {
        var (adder, blocker, friend, other) = (await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync());
        (await blocker.PostAsync("blockUser", new { user_id = adder.Uid })).AssertOk();

        (await adder.PostAsync("chooseUserIntoGroup", new { user_ids = new[] { friend.Uid, blocker.Uid } })).AssertError(403, ErrorCodes.NoPermission);
        (await adder.PostAsync("chooseUserIntoGroup", new { user_ids = new[] { friend.Uid }, admin_uids = new[] { blocker.Uid } }))
            .AssertError(403, ErrorCodes.NoPermission);
        Assert.That((await adder.PostAsync("getMyGroups")).AssertOk().Data.GetArrayLength(), Is.Zero);
        Assert.That(await ListAsync(blocker), Is.Empty);

        var groupId = await adder.CreateGroupAsync(friend);
        (await adder.PostAsync("chooseUserIntoGroup", new { group_id = groupId, user_ids = new[] { other.Uid, blocker.Uid } }))
            .AssertError(403, ErrorCodes.NoPermission);
        Assert.That(await adder.MemberIdsAsync(groupId), Is.EqualTo(GroupTestKit.Sorted(adder, friend)));
        Assert.That((await adder.HistoryAsync(groupId)).Length, Is.EqualTo(1), "no join-group for a refused add");

        // The block is between the two of them: anyone else may add the blocker, and the blocker may join.
        (await adder.PostAsync("setGroupAdmin", new { group_id = groupId, user_id = friend.Uid, admin = true })).AssertOk();
        (await friend.PostAsync("chooseUserIntoGroup", new { group_id = groupId, user_ids = new[] { blocker.Uid } })).AssertOk();
        Assert.That(await adder.MemberIdsAsync(groupId), Is.EqualTo(GroupTestKit.Sorted(adder, friend, blocker)));
    }

    [Test]
    public async Task A_uni_im_admin_still_moderates_groups_of_users_who_blocked_them()
    {
        var (owner, member, blocker) = (await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync());
        var staff = await app.LoginAsync(role: ["uni-im-admin"]);
        (await blocker.PostAsync("blockUser", new { user_id = staff.Uid })).AssertOk();
        var groupId = await owner.CreateGroupAsync(member);

        (await staff.PostAsync("chooseUserIntoGroup", new { group_id = groupId, user_ids = new[] { blocker.Uid } })).AssertOk();
        Assert.That(await owner.MemberIdsAsync(groupId), Is.EqualTo(GroupTestKit.Sorted(owner, member, blocker)));
    }
}
