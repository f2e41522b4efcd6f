using System.Text.Json;
using ImFunctions.Core.Domain;
using ImFunctions.Tests.Support;
using static ImFunctions.Tests.Api.FriendsApiTests;

namespace ImFunctions.Tests.Api;

/// <summary>setConversation, markConversationUnread, the list's filters and pinned-first paging, and getUnreadCount.</summary>
public sealed class ConversationSettingsApiTests
{
    TestApp app = null!;

    [OneTimeSetUp]
    public async Task Start() => app = await TestApp.StartAsync();

    [OneTimeTearDown]
    public async Task Stop() => await app.DisposeAsync();

    static async Task<JsonElement[]> ListAsync(TestUser user, object? body = null) =>
        (await user.PostAsync("getConversationList", body ?? new { })).AssertOk().Data.EnumerateArray().ToArray();

    static string[] Peers(IEnumerable<JsonElement> rows) => rows.Select(r => r.GetProperty("friend_uid").GetString()!).ToArray();

    static async Task<JsonElement> UnreadAsync(TestUser user) => (await user.PostAsync("getUnreadCount")).AssertOk().Data;

    /// <summary>A user with conversations from <paramref name="count"/> peers, the last one newest; each peer sent one message.</summary>
    async Task<(TestUser Me, TestUser[] Peers, string[] Conversations)> InboxAsync(int count)
    {
        var me = await app.LoginAsync();
        var peers = new TestUser[count];
        var conversations = new string[count];
        for (var i = 0; i < count; i++)
        {
            peers[i] = await app.LoginAsync();
            conversations[i] = (await peers[i].SendTextAsync(me.Uid, "hi " + i)).AssertOk().Data.GetProperty("conversation_id").GetString()!;
            await Task.Delay(2);   // distinct update_time, so the expected order is plain
        }
        return (me, peers, conversations);
    }

    [Test]
    public async Task A_setting_reaches_the_callers_other_device_and_does_not_reorder_the_list()
    {
        var (me, peers, conversations) = await InboxAsync(3);
        await using var otherDevice = await SocketOf(me);
        var before = await ListAsync(me);

        var set = (await me.PostAsync("setConversation", new { conversation_id = conversations[0], pinned = true, is_star = true })).AssertOk().Data;
        Assert.That((set.GetProperty("pinned").GetBoolean(), set.GetProperty("is_star").GetBoolean(), set.GetProperty("mute").GetBoolean()),
            Is.EqualTo((true, true, false)));
        var pushed = await NextEventAsync(otherDevice, "conversation");
        Assert.That((pushed.GetProperty("conversation_id").GetString(), pushed.GetProperty("pinned").GetBoolean()), Is.EqualTo((conversations[0], true)));

        var after = await ListAsync(me);
        Assert.That(Peers(after), Is.EqualTo(Peers(before)), "same order: a setting is not activity");
        Assert.That(after.Select(r => r.GetProperty("update_time").GetInt64()), Is.EqualTo(before.Select(r => r.GetProperty("update_time").GetInt64())));
        Assert.That(after.Single(r => r.GetProperty("id").GetString() == conversations[0]).GetProperty("pinned").GetBoolean(), Is.True);
        var pinnedFirst = await ListAsync(me, new { distinguishPinned = true });
        Assert.That(Peers(pinnedFirst), Is.EqualTo(new[] { peers[0].Uid, peers[2].Uid, peers[1].Uid }));
        Assert.That((await ListAsync(peers[0]))[0].GetProperty("pinned").GetBoolean(), Is.False, "the peer's row is theirs");
    }

    [Test]
    public async Task Nobody_can_change_a_conversation_that_is_not_theirs()
    {
        var (me, peers, conversations) = await InboxAsync(1);
        var stranger = await app.LoginAsync();
        var before = (await ListAsync(me))[0].ToString();

        (await stranger.PostAsync("setConversation", new { conversation_id = conversations[0], pinned = true })).AssertError(404, ErrorCodes.NotFound);
        (await stranger.PostAsync("markConversationUnread", new { conversation_id = conversations[0] })).AssertError(404, ErrorCodes.NotFound);

        Assert.That((await ListAsync(me))[0].ToString(), Is.EqualTo(before));
        Assert.That(await ListAsync(stranger), Is.Empty);
    }

    [Test]
    public async Task A_hidden_conversation_leaves_the_list_and_the_total_until_its_next_message()
    {
        var (me, peers, conversations) = await InboxAsync(2);
        (await me.PostAsync("setConversation", new { conversation_id = conversations[0], hidden = true })).AssertOk();

        Assert.That(Peers(await ListAsync(me)), Is.EqualTo(new[] { peers[1].Uid }));
        Assert.That((await UnreadAsync(me)).GetProperty("unreadCount").GetInt64(), Is.EqualTo(1));
        var direct = (await me.PostAsync("getConversationList", new { conversation_id = conversations[0] })).AssertOk().Data[0];
        Assert.That(direct.GetProperty("hidden").GetBoolean(), Is.True, "asked for by id, a hidden row is still there");

        (await peers[0].SendTextAsync(me.Uid, "still there?")).AssertOk();
        var back = await ListAsync(me);
        Assert.That(Peers(back), Is.EqualTo(new[] { peers[0].Uid, peers[1].Uid }));
        Assert.That(back[0].GetProperty("hidden").GetBoolean(), Is.False);
        Assert.That((await UnreadAsync(me)).GetProperty("unreadCount").GetInt64(), Is.EqualTo(3));
    }

    [Test]
    public async Task A_muted_conversation_counts_unread_but_stays_out_of_the_total()
    {
        var (me, peers, conversations) = await InboxAsync(2);
        (await me.PostAsync("setConversation", new { conversation_id = conversations[1], mute = true })).AssertOk();
        (await peers[1].SendTextAsync(me.Uid, "again")).AssertOk();

        var row = (await ListAsync(me)).Single(r => r.GetProperty("id").GetString() == conversations[1]);
        Assert.That((row.GetProperty("mute").GetBoolean(), row.GetProperty("unread_count").GetInt64()), Is.EqualTo((true, 2L)));
        var total = await UnreadAsync(me);
        Assert.That(total.GetProperty("unreadCount").GetInt64(), Is.EqualTo(1));
        Assert.That(total.GetProperty("unreadCountObj").EnumerateObject().Select(p => (p.Name, p.Value.GetInt64())),
            Is.EqualTo(new[] { (conversations[0], 1L) }));
    }

    [Test]
    public async Task Marking_unread_counts_one_until_read_and_the_clear_reaches_the_other_device()
    {
        var (me, _, conversations) = await InboxAsync(1);
        (await me.PostAsync("clearUnreadCount", new { conversation_id = conversations[0] })).AssertOk();
        Assert.That((await UnreadAsync(me)).GetProperty("unreadCount").GetInt64(), Is.Zero);
        await using var otherDevice = await SocketOf(me);

        var marked = (await me.PostAsync("markConversationUnread", new { conversation_id = conversations[0] })).AssertOk().Data;
        Assert.That(marked.GetProperty("unread_count").GetInt64(), Is.EqualTo(1));
        Assert.That((await NextEventAsync(otherDevice, "conversation")).GetProperty("unread_count").GetInt64(), Is.EqualTo(1));
        Assert.That((await ListAsync(me, new { type = "unread" })).Single().GetProperty("unread_count").GetInt64(), Is.EqualTo(1));
        Assert.That((await UnreadAsync(me)).GetProperty("unreadCount").GetInt64(), Is.EqualTo(1));
        var row = (await ListAsync(me)).Single();
        Assert.That(row.GetProperty("read_seq").GetInt64(), Is.EqualTo(1), "the read cursor (the peer's receipt) does not move back");

        (await me.PostAsync("clearUnreadCount", new { conversation_id = conversations[0] })).AssertOk();
        var read = await NextEventAsync(otherDevice, "read");
        Assert.That(read.GetProperty("conversation_id").GetString(), Is.EqualTo(conversations[0]));
        Assert.That((await UnreadAsync(me)).GetProperty("unreadCount").GetInt64(), Is.Zero);
        Assert.That(await ListAsync(me, new { type = "unread" }), Is.Empty);
    }

    [Test]
    public async Task The_list_filters_by_type()
    {
        var (me, peers, conversations) = await InboxAsync(3);
        (await me.PostAsync("clearUnreadCount", new { conversation_id = conversations[1] })).AssertOk();
        (await me.PostAsync("setConversation", new { conversation_id = conversations[2], is_star = true })).AssertOk();
        (await me.PostAsync("setConversation", new { conversation_id = conversations[0], is_star = false })).AssertOk();

        Assert.That(Peers(await ListAsync(me, new { type = "unread" })), Is.EqualTo(new[] { peers[2].Uid, peers[0].Uid }));
        Assert.That(Peers(await ListAsync(me, new { type = "is_star" })), Is.EqualTo(new[] { peers[2].Uid }), "false is not starred (uni-im's exists() is)");
        Assert.That(Peers(await ListAsync(me, new { type = "single" })), Is.EqualTo(new[] { peers[2].Uid, peers[1].Uid, peers[0].Uid }));
        Assert.That(await ListAsync(me, new { type = "group" }), Is.Empty);
        Assert.That(await ListAsync(me, new { type = "has_remind_msg" }), Is.Empty);
    }

    [Test]
    public async Task Pinned_first_paging_by_cursor_never_skips_or_repeats_a_row()
    {
        var (me, peers, conversations) = await InboxAsync(7);
        foreach (var i in new[] { 1, 4 })
            (await me.PostAsync("setConversation", new { conversation_id = conversations[i], pinned = true })).AssertOk();

        foreach (var distinguishPinned in new[] { true, false })
        {
            var seen = new List<string>();
            string? cursor = null;
            while (true)
            {
                var page = await ListAsync(me, new { limit = 3, distinguishPinned, cursor });
                if (page.Length == 0) break;
                seen.AddRange(Peers(page));
                cursor = page[^1].GetProperty("cursor").GetString();
            }
            var expected = distinguishPinned
                ? new[] { 4, 1, 6, 5, 3, 2, 0 }
                : new[] { 6, 5, 4, 3, 2, 1, 0 };
            Assert.That(seen, Is.EqualTo(expected.Select(i => peers[i].Uid)), $"distinguishPinned: {distinguishPinned}");
        }
    }

    [Test]
    public async Task A_new_message_between_pages_neither_skips_nor_repeats_a_row()
    {
        var (me, peers, _) = await InboxAsync(4);
        var first = await ListAsync(me, new { limit = 2 });
        (await peers[0].SendTextAsync(me.Uid, "bump")).AssertOk();   // the oldest row jumps to the top
        var rest = await ListAsync(me, new { limit = 10, cursor = first[^1].GetProperty("cursor").GetString() });

        Assert.That(Peers(first), Is.EqualTo(new[] { peers[3].Uid, peers[2].Uid }));
        Assert.That(Peers(rest), Is.EqualTo(new[] { peers[1].Uid }), "rows moved above the cursor are for a refresh, not this page");
    }

    [TestCase("setConversation", "{\"conversation_id\":\"single_x\"}", "pinned")]
    [TestCase("setConversation", "{\"pinned\":true}", "conversation_id")]
    [TestCase("setConversation", "{\"conversation_id\":\"single_x\",\"mute\":\"yes\"}", "mute")]
    [TestCase("markConversationUnread", "{}", "conversation_id")]
    [TestCase("getConversationList", "{\"type\":\"todo\"}", "type")]
    [TestCase("getConversationList", "{\"type\":{\"group_type\":1}}", "type")]
    [TestCase("getConversationList", "{\"cursor\":\"nonsense\"}", "cursor")]
    [TestCase("getConversationList", "{\"cursor\":\"a000000000000001|x\",\"page\":1}", "cursor")]
    [TestCase("getConversationList", "{\"distinguishPinned\":true,\"page\":1}", "distinguishPinned")]
    [TestCase("getConversationList", "{\"distinguishPinned\":true,\"cursor\":\"a000000000000001|x\"}", "cursor")]
    public async Task Bad_input_is_a_400_naming_the_field(string method, string body, string field)
    {
        var user = await app.LoginAsync();
        var reply = await app.PostRawAsync(method, body, user.Token);
        reply.AssertError(400, ErrorCodes.InvalidParam);
        Assert.That(reply.Body.GetProperty("errMsg").GetString(), Does.StartWith(field));
    }

    [Test]
    public async Task A_setting_of_an_unknown_conversation_is_a_404()
    {
        var user = await app.LoginAsync();
        (await user.PostAsync("setConversation", new { conversation_id = "single_00000000000000000000000000000000", mute = true }))
            .AssertError(404, ErrorCodes.NotFound);
        Assert.That(await ListAsync(user), Is.Empty);
    }
}
