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
    public async Task Every_way_of_paging_lists_group_rows_by_their_groups_activity_with_derived_unread()
    {
        var (me, _, groupA, groupB, expected) = await InboxAsync();

        var all = await ListAsync(me);
        Assert.That(Ids(all), Is.EqualTo(expected));
        Assert.That(Row(all, "group_" + groupA).GetProperty("unread_count").GetInt64(), Is.EqualTo(2), "join-group, a");
        Assert.That(Row(all, "group_" + groupA).GetProperty("last_msg_note").GetString(), Is.EqualTo("a"));
        Assert.That(Row(all, "group_" + groupB).GetProperty("unread_count").GetInt64(), Is.EqualTo(1));
        Assert.That(all.Select(r => r.GetProperty("update_time").GetInt64()), Is.Ordered.Descending);

        var byPage = new List<string>();
        for (var page = 0; page < 5; page++) byPage.AddRange(Ids(await ListAsync(me, new { limit = 1, page })));
        Assert.That(byPage, Is.EqualTo(expected), "page");
        Assert.That(Ids(await ListAsync(me, new { limit = 3, page = 1 })), Is.EqualTo(expected[3..]), "page past the groups");

        var byCursor = new List<string>();
        for (string? cursor = null; ;)
        {
            var page = await ListAsync(me, new { limit = 1, cursor });
            if (page.Length == 0) break;
            byCursor.AddRange(Ids(page));
            cursor = page[^1].GetProperty("cursor").GetString();
        }
        Assert.That(byCursor, Is.EqualTo(expected), "cursor");

        var maxUpdateTime = Row(all, expected[1]).GetProperty("update_time").GetInt64();
        Assert.That(Ids(await ListAsync(me, new { maxUpdateTime })), Is.EqualTo(expected[2..]), "maxUpdateTime");
    }

    [Test]
    public async Task Filters_and_pinned_first_paging_treat_group_rows_like_single_rows()
    {
        var (me, _, groupA, groupB, expected) = await InboxAsync();
        (await me.PostAsync("clearUnreadCount", new { conversation_id = expected[3] })).AssertOk();
        (await me.PostAsync("clearUnreadCount", new { conversation_id = "group_" + groupB })).AssertOk();
        (await me.PostAsync("setConversation", new { conversation_id = "group_" + groupB, is_star = true, pinned = true })).AssertOk();

        Assert.That(Ids(await ListAsync(me, new { type = "group" })), Is.EqualTo(new[] { expected[0], expected[2] }));
        Assert.That(Ids(await ListAsync(me, new { type = "single" })), Is.EqualTo(new[] { expected[1], expected[3] }));
        var unread = await ListAsync(me, new { type = "unread" });
        Assert.That(Ids(unread), Is.EqualTo(new[] { expected[0], expected[1] }), "group B and peer 0 are read");
        Assert.That(Row(unread, "group_" + groupA).GetProperty("unread_count").GetInt64(), Is.EqualTo(2));
        Assert.That(Ids(await ListAsync(me, new { type = "is_star" })), Is.EqualTo(new[] { expected[2] }));
        Assert.That(await ListAsync(me, new { type = "has_remind_msg" }), Is.Empty);

        var pinnedFirst = new List<string>();
        for (string? cursor = null; ;)
        {
            var page = await ListAsync(me, new { limit = 2, distinguishPinned = true, cursor });
            if (page.Length == 0) break;
            pinnedFirst.AddRange(Ids(page));
            cursor = page[^1].GetProperty("cursor").GetString();
        }
        Assert.That(pinnedFirst, Is.EqualTo(new[] { expected[2], expected[0], expected[1], expected[3] }));

        // Marked unread, a read group row counts 1 in the filter and the badge until the owner reads it again.
        (await me.PostAsync("markConversationUnread", new { conversation_id = "group_" + groupB })).AssertOk();
        unread = await ListAsync(me, new { type = "unread" });
        Assert.That(Ids(unread), Is.EqualTo(new[] { expected[0], expected[1], expected[2] }));
        Assert.That(Row(unread, "group_" + groupB).GetProperty("unread_count").GetInt64(), Is.EqualTo(1));
        Assert.That((await UnreadAsync(me)).GetProperty("unreadCountObj").GetProperty("group_" + groupB).GetInt64(), Is.EqualTo(1));
        (await me.PostAsync("clearUnreadCount", new { conversation_id = "group_" + groupB })).AssertOk();
        Assert.That(Ids(await ListAsync(me, new { type = "unread" })), Is.EqualTo(new[] { expected[0], expected[1] }));
        Assert.That((await UnreadAsync(me)).GetProperty("unreadCountObj").TryGetProperty("group_" + groupB, out _), Is.False);
    }

    [Test]
    public async Task A_hidden_group_row_comes_back_with_the_groups_next_message()
    {
        var (me, owner) = (await app.LoginAsync(), await app.LoginAsync());
        var groupId = await owner.CreateGroupAsync(me);
        var conversationId = "group_" + groupId;
        (await me.PostAsync("setConversation", new { conversation_id = conversationId, hidden = true })).AssertOk();

        Assert.That(await ListAsync(me), Is.Empty);
        Assert.That(await ListAsync(me, new { type = "group" }), Is.Empty);
        Assert.That((await UnreadAsync(me)).GetProperty("unreadCount").GetInt64(), Is.Zero);
        var direct = (await ListAsync(me, new { conversation_id = conversationId })).Single();
        Assert.That(direct.GetProperty("hidden").GetBoolean(), Is.True, "asked for by id, a hidden row is still there");

        (await owner.SayAsync(groupId, "still there?")).AssertOk();
        var back = (await ListAsync(me)).Single();
        Assert.That((back.GetProperty("id").GetString(), back.GetProperty("hidden").GetBoolean()), Is.EqualTo((conversationId, false)));
        Assert.That(back.GetProperty("unread_count").GetInt64(), Is.EqualTo(2));
        Assert.That((await UnreadAsync(me)).GetProperty("unreadCount").GetInt64(), Is.EqualTo(2));

        // Hidden again, it stays hidden until the next message after that.
        (await me.PostAsync("setConversation", new { conversation_id = conversationId, hidden = true })).AssertOk();
        Assert.That(await ListAsync(me), Is.Empty);
        (await owner.SayAsync(groupId, "and again")).AssertOk();
        Assert.That(Ids(await ListAsync(me)), Is.EqualTo(new[] { conversationId }));
    }

    [Test]
    public async Task The_badge_counts_group_rows_by_derived_unread_leaving_out_muted_hidden_and_left_ones()
    {
        var (me, owner, peer) = (await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync());
        var (plain, muted, hidden, left) =
            (await owner.CreateGroupAsync(me), await owner.CreateGroupAsync(me), await owner.CreateGroupAsync(me), await owner.CreateGroupAsync(me));
        var single = (await peer.SendTextAsync(me.Uid, "hi")).AssertOk().Data.GetProperty("conversation_id").GetString()!;
        (await me.PostAsync("setConversation", new { conversation_id = "group_" + muted, mute = true })).AssertOk();
        (await me.PostAsync("setConversation", new { conversation_id = "group_" + hidden, hidden = true })).AssertOk();
        (await me.PostAsync("quitGroup", new { group_id = left })).AssertOk();
        foreach (var groupId in new[] { plain, muted })
            (await owner.SayAsync(groupId, "news")).AssertOk();

        var total = await UnreadAsync(me);
        Assert.That(total.GetProperty("unreadCountObj").EnumerateObject().Select(p => (p.Name, p.Value.GetInt64())).OrderBy(p => p.Name, StringComparer.Ordinal),
            Is.EqualTo(new[] { ("group_" + plain, 2L), (single, 1L) }.OrderBy(p => p.Item1, StringComparer.Ordinal)));
        Assert.That(total.GetProperty("unreadCount").GetInt64(), Is.EqualTo(3));

        var leftRow = Row(await ListAsync(me), "group_" + left);
        Assert.That(leftRow.GetProperty("leave").GetBoolean(), Is.True, "a left row stays listed, read-only");

        (await me.PostAsync("clearUnreadCount")).AssertOk();
        Assert.That((await UnreadAsync(me)).GetProperty("unreadCount").GetInt64(), Is.Zero);
        Assert.That(await ListAsync(me, new { type = "unread" }), Is.Empty);
        (await owner.SayAsync(plain, "more")).AssertOk();
        Assert.That((await UnreadAsync(me)).GetProperty("unreadCount").GetInt64(), Is.EqualTo(1));
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
