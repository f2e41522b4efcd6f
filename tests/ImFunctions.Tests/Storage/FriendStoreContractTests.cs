using System.Text.Json;
using ImFunctions.Core.Conversations;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Friends;
using ImFunctions.Core.Integrations;
using ImFunctions.Core.Push;
using ImFunctions.Core.Storage;
using ImFunctions.Tests.Support;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImFunctions.Tests.Storage;

/// <summary>The social graph's port and the conversation list's queries, the same on every store, with their costs.</summary>
[TestFixtureSource(typeof(StoreFactories), nameof(StoreFactories.Names))]
public sealed class FriendStoreContractTests(string storeName)
{
    IStoreFactory factory = null!;
    IImStore store = null!;
    IFriendStore friends = null!;
    IConversationListStore lists = null!;

    [OneTimeSetUp]
    public async Task StartStore()
    {
        factory = StoreFactories.Create(storeName);
        store = await factory.CreateAsync();
        (friends, lists) = ((IFriendStore)store, (IConversationListStore)store);
    }

    [OneTimeTearDown]
    public Task StopStore() => factory.DisposeAsync();

    sealed record Services(UserDirectory Users, Messenger Messenger, FriendBook Book, Blocks Blocks, ConversationSettings Settings);

    /// <param name="social">The social graph's port: the store's own, or one that gives up after a write.</param>
    Services NewServices(IFriendStore? social = null, RecordingPushGateway? gateway = null)
    {
        social ??= friends;
        var options = new UniImOptions();
        var users = new UserDirectory(store, new MemoryCache(new MemoryCacheOptions()));
        var pushes = new PushDispatcher(gateway ?? new RecordingPushGateway(), NullLogger<PushDispatcher>.Instance, new PushDispatchOptions());
        var messenger = new Messenger(store, users, new TalkPolicy(options, social, new FakeGroups()), pushes, options, TimeProvider.System,
            new FakeGroups());
        return new Services(users, messenger, new FriendBook(social, users, pushes, new EventsOff(), TimeProvider.System),
            new Blocks(social, store, users, pushes, TimeProvider.System), new ConversationSettings(store, lists, messenger, pushes));
    }

    async Task<User> NewUserAsync()
    {
        var user = new User { Id = Ids.New(), ExtUid = "ext-" + Guid.NewGuid().ToString("N"), Nickname = "n" };
        await store.SaveUserAsync(user, CancellationToken.None);
        return user;
    }

    static SendMessage Text(string to, string text) => new(to, null, "__UNI__TEST", "text", JsonSerializer.SerializeToElement(text));

    static T Ok<T>(Result<T> result) => result.Match(v => v, e => throw new AssertionException($"{e.Code}: {e.Message}"));

    static Friendship FriendRow(string owner, string friend, long time = 1000) =>
        new() { Id = Friendship.IdFor(friend), UserId = owner, FriendUid = friend, CreateTime = time };

    [Test]
    public async Task An_invitee_who_gives_up_once_the_invite_is_accepted_still_makes_both_friends_and_tells_the_inviter()
    {
        var (a, b) = (await NewUserAsync(), await NewUserAsync());
        var invite = Ok(await NewServices().Book.InviteAsync(a, b.Id, "hi", default));
        using var giveUp = new CancellationTokenSource();
        var pushed = new RecordingPushGateway();
        // The invite's state change is the write that decides an accept.
        var givingUp = NewServices(GivesUpAfter.Write(friends, nameof(IFriendStore.TryReplaceAsync), giveUp), pushed);

        Ok(await givingUp.Book.AcceptAsync(b, invite.Id, giveUp.Token));

        Assert.That(giveUp.IsCancellationRequested, Is.True);
        Assert.That((await friends.AreFriendsAsync(a.Id, b.Id, default), await friends.AreFriendsAsync(b.Id, a.Id, default)), Is.EqualTo((true, true)));
        Assert.That((await friends.GetAsync<FriendInvite>(a.Id, FriendInvite.SentIdFor(invite.Id), default))?.State,
            Is.EqualTo(InviteStates.Accepted), "the inviter's sent copy");
        Assert.That(await pushed.ReachesAsync("user:" + a.Id, "accepted"), Is.True, "push to the inviter");
    }

    [Test]
    public async Task A_record_is_created_once_replaced_only_from_its_current_version_and_deleted_once()
    {
        var owner = Ids.New();
        var row = FriendRow(owner, "f1");
        Assert.That(await friends.TryCreateAsync(row, default), Is.True);
        Assert.That(await friends.TryCreateAsync(row with { Remark = "dup" }, default), Is.False);

        var read = await friends.GetAsync<Friendship>(owner, row.Id, default);
        Assert.That((read?.FriendUid, read?.Remark, read?.ETag is not null), Is.EqualTo(("f1", (string?)null, true)));
        var replaced = await friends.TryReplaceAsync(read! with { Remark = "first" }, default);
        Assert.That(replaced?.Remark, Is.EqualTo("first"));
        Assert.That(await friends.TryReplaceAsync(read! with { Remark = "stale" }, default), Is.Null, "a replace from an old version fails");
        Assert.That(await friends.TryReplaceAsync(replaced! with { Remark = "second" }, default), Is.Not.Null);
        Assert.That((await friends.GetAsync<Friendship>(owner, row.Id, default))?.Remark, Is.EqualTo("second"));

        await friends.UpsertAsync(row with { Remark = "upserted" }, default);
        Assert.That((await friends.GetAsync<Friendship>(owner, row.Id, default))?.Remark, Is.EqualTo("upserted"));
        Assert.That(await friends.DeleteAsync(owner, row.Id, default), Is.True);
        Assert.That(await friends.DeleteAsync(owner, row.Id, default), Is.False);
        Assert.That(await friends.GetAsync<Friendship>(owner, row.Id, default), Is.Null);
        Assert.That(await friends.GetAsync<Friendship>(Ids.New(), row.Id, default), Is.Null, "records are per owner");
    }

    [Test]
    public async Task Concurrent_creates_of_one_record_make_exactly_one()
    {
        var owner = Ids.New();
        var created = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => Task.Run(() => friends.TryCreateAsync(FriendRow(owner, "same", i), default))));
        Assert.That(created.Count(c => c), Is.EqualTo(1));
        Assert.That(await friends.ListAsync<Friendship>(owner, Friendship.KindName, null, 100, default), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task Lists_hold_one_kind_newest_first_and_page_without_skipping_or_repeating_ties()
    {
        var owner = Ids.New();
        // Five friends made in the same millisecond, and records of other kinds beside them.
        for (var i = 0; i < 5; i++) await friends.TryCreateAsync(FriendRow(owner, "f" + i, 5000), default);
        await friends.TryCreateAsync(FriendRow(owner, "newest", 6000), default);
        await friends.TryCreateAsync(new Block { Id = Block.IdFor("b"), UserId = owner, BlockedUid = "b", CreateTime = 9000 }, default);

        var seen = new List<string>();
        string? cursor = null;
        while (true)
        {
            var page = await friends.ListAsync<Friendship>(owner, Friendship.KindName, cursor, 2, default);
            seen.AddRange(page.Select(f => f.FriendUid));
            Assert.That(page.All(f => f.ETag is not null), "listed records carry their ETag");
            if (page.Count < 2) break;
            cursor = page[^1].SortKey;
        }
        Assert.That(seen, Is.EqualTo(new[] { "newest", "f4", "f3", "f2", "f1", "f0" }));
        Assert.That((await friends.ListAsync<Block>(owner, Block.KindName, null, 10, default)).Select(b => b.BlockedUid), Is.EqualTo(new[] { "b" }));
    }

    [Test]
    public async Task Accepting_an_invite_costs_the_same_whatever_the_users_have()
    {
        var services = NewServices();
        var (alice, bob) = (await NewUserAsync(), await NewUserAsync());
        for (var i = 0; i < 5; i++) Ok(await services.Book.InviteAsync(await NewUserAsync(), bob.Id, null, default));   // other invites, other friends
        var invite = Ok(await services.Book.InviteAsync(alice, bob.Id, "hi", default));

        StoreMeter cost;
        using (var scope = StoreMeter.Start())
        {
            Ok(await services.Book.AcceptAsync(bob, invite.Id, default));
            cost = scope.Meter;
        }
        // Read the invite and the crossing one; mark it accepted, two friend rows, the sent copy.
        Assert.That((cost.PointReads, cost.Writes, cost.Queries), Is.EqualTo((2, 4, 0)), cost.ToString());
        Assert.That(await friends.AreFriendsAsync(alice.Id, bob.Id, default) && await friends.AreFriendsAsync(bob.Id, alice.Id, default));
    }

    [Test]
    public async Task A_blocked_reply_costs_one_point_read_and_writes_nothing()
    {
        var services = NewServices();
        var (alice, bob) = (await NewUserAsync(), await NewUserAsync());
        Ok(await services.Messenger.SendAsync(alice, Text(bob.Id, "hi"), default));
        Ok(await services.Blocks.BlockAsync(bob, alice.Id, default));

        StoreMeter cost;
        Result<SentMessage> refused;
        using (var scope = StoreMeter.Start())
        {
            refused = await services.Messenger.SendAsync(alice, Text(bob.Id, "still there?"), default);
            cost = scope.Meter;
        }
        Assert.That(refused.Error?.Status, Is.EqualTo(403));
        Assert.That((cost.PointReads, cost.Writes, cost.Queries), Is.EqualTo((1, 0, 0)), cost.ToString());

        // The blocker's own reply keeps the budget of every reply.
        using (var scope = StoreMeter.Start())
        {
            Ok(await services.Messenger.SendAsync(bob, Text(alice.Id, "I can"), default));
            Assert.That((scope.Meter.PointReads, scope.Meter.Writes), Is.EqualTo((2, 3)), scope.Meter.ToString());
        }
        Ok(await services.Blocks.UnblockAsync(bob, alice.Id, default));
        Ok(await services.Messenger.SendAsync(alice, Text(bob.Id, "thanks"), default));
    }

    static ConversationRow Row(string owner, string id, long updateTime, int type = ConversationTypes.Single) => new()
    {
        Id = id, UserId = owner, Type = type, FriendUid = type == ConversationTypes.Single ? "peer-" + id : null,
        GroupId = type == ConversationTypes.Group ? id : null, UpdateTime = updateTime, CreateTime = updateTime,
        LastSeq = 3, ReadSeq = 3,
    };

    async Task PutAsync(ConversationRow row) => await store.UpdateConversationAsync(row.UserId, row.Id, null, _ => row, default);

    [Test]
    public async Task Conversation_queries_filter_by_setting_and_type()
    {
        var owner = Ids.New();
        await PutAsync(Row(owner, "c1", 1001) with { LastSeq = 5 });                      // unread
        await PutAsync(Row(owner, "c2", 1002) with { IsStar = true, Pinned = true });
        await PutAsync(Row(owner, "c3", 1003, ConversationTypes.Group) with { MarkedUnread = true });
        await PutAsync(Row(owner, "c4", 1004) with { Hidden = true, LastSeq = 9 });
        await PutAsync(Row(owner, "c5", 1005) with { Mute = true, LastSeq = 4 });

        async Task<string[]> Ids_(ConversationQuery q) => (await lists.QueryConversationsAsync(owner, q, default)).Select(r => r.Id).ToArray();
        Assert.That(await Ids_(new(10)), Is.EqualTo(new[] { "c5", "c3", "c2", "c1" }), "hidden rows are left out");
        Assert.That(await Ids_(new(10, IncludeHidden: true)), Is.EqualTo(new[] { "c5", "c4", "c3", "c2", "c1" }));
        Assert.That(await Ids_(new(10, Filter: ConversationFilter.Unread)), Is.EqualTo(new[] { "c5", "c3", "c1" }));
        Assert.That(await Ids_(new(10, Filter: ConversationFilter.Unread, ExcludeMuted: true)), Is.EqualTo(new[] { "c3", "c1" }));
        Assert.That(await Ids_(new(10, Filter: ConversationFilter.Group)), Is.EqualTo(new[] { "c3" }));
        Assert.That(await Ids_(new(10, Filter: ConversationFilter.Single)), Is.EqualTo(new[] { "c5", "c2", "c1" }));
        Assert.That(await Ids_(new(10, Filter: ConversationFilter.Starred)), Is.EqualTo(new[] { "c2" }));
        Assert.That(await Ids_(new(10, Pinned: true)), Is.EqualTo(new[] { "c2" }));
        Assert.That(await Ids_(new(10, Pinned: false)), Is.EqualTo(new[] { "c5", "c3", "c1" }));
        Assert.That(await Ids_(new(10, Filter: ConversationFilter.HasRemind)), Is.Empty);
        Assert.That(await Ids_(new(2, Skip: 1)), Is.EqualTo(new[] { "c3", "c2" }));
        Assert.That(await Ids_(new(10, MaxUpdateTime: 1003)), Is.EqualTo(new[] { "c2", "c1" }));
    }

    [Test]
    public async Task Keyset_paging_of_conversations_never_skips_or_repeats_rows_with_the_same_update_time()
    {
        var owner = Ids.New();
        for (var i = 0; i < 7; i++) await PutAsync(Row(owner, $"tie{i}", i < 5 ? 2000 : 1000 + i));   // five share one millisecond
        var all = await lists.QueryConversationsAsync(owner, new ConversationQuery(100), default);
        var seen = new List<string>();
        string? after = null;
        while (true)
        {
            var page = await lists.QueryConversationsAsync(owner, new ConversationQuery(2, After: after), default);
            seen.AddRange(page.Select(r => r.Id));
            if (page.Count < 2) break;
            after = page[^1].ListKey;
        }
        Assert.That(seen, Is.EqualTo(all.Select(r => r.Id)));
        Assert.That(seen, Is.EqualTo(new[] { "tie4", "tie3", "tie2", "tie1", "tie0", "tie6", "tie5" }));
    }

    [Test]
    public async Task The_unread_total_has_no_cap_and_costs_one_query_per_thousand_unread_conversations_plus_the_group_rows()
    {
        var services = NewServices();
        var me = await NewUserAsync();
        for (var i = 0; i < 150; i++) await PutAsync(Row(me.Id, $"u{i:D3}", 3000 + i) with { LastSeq = 2 + i % 3, ReadSeq = 1 });
        await PutAsync(Row(me.Id, "quiet", 5000));
        await PutAsync(Row(me.Id, "hidden", 5001) with { LastSeq = 9, Hidden = true });
        await PutAsync(Row(me.Id, "muted", 5002) with { LastSeq = 9, Mute = true });
        await PutAsync(Row(me.Id, "marked", 5003) with { MarkedUnread = true });

        UnreadTotal total;
        using (var scope = StoreMeter.Start())
        {
            total = await services.Settings.UnreadAsync(me, default);
            // The unread rows, and the user's group rows (none here: no group read follows).
            Assert.That((scope.Meter.Queries, scope.Meter.PointReads, scope.Meter.Writes), Is.EqualTo((2, 0, 0)), scope.Meter.ToString());
        }
        Assert.That(total.UnreadCountObj, Has.Count.EqualTo(151));
        Assert.That(total.UnreadCountObj["marked"], Is.EqualTo(1));
        Assert.That(total.UnreadCount, Is.EqualTo(Enumerable.Range(0, 150).Sum(i => 1 + i % 3) + 1));
    }

    [Test]
    public async Task The_first_page_of_the_list_is_one_query_or_two_with_pinned_rows_first_plus_the_group_rows()
    {
        var services = NewServices();
        var me = await NewUserAsync();
        for (var i = 0; i < 30; i++) Ok(await services.Messenger.SendAsync(await NewUserAsync(), Text(me.Id, "hi"), default));
        var rows = Ok(await services.Settings.ListAsync(me, new ConversationListRequest(20, 0, null, null, null, false), default));
        Ok(await services.Settings.SetAsync(me, rows[5].Id, new SettingsChange(true, null, null, null), default));

        // The user's group rows are one more query, once per call (none here: no group read follows).
        foreach (var (pinnedFirst, queries) in new[] { (false, 2), (true, 3) })
            using (var scope = StoreMeter.Start())
            {
                var page = Ok(await services.Settings.ListAsync(me, new ConversationListRequest(20, 0, null, null, null, pinnedFirst), default));
                Assert.That(page, Has.Count.EqualTo(20));
                Assert.That(page[0].Id, pinnedFirst ? Is.EqualTo(rows[5].Id) : Is.EqualTo(rows[0].Id));
                // Peers' profiles were cached by the first listing: only the rows are read.
                Assert.That((scope.Meter.Queries, scope.Meter.PointReads, scope.Meter.Writes), Is.EqualTo((queries, 0, 0)), scope.Meter.ToString());
            }
    }

    [Test]
    public async Task Records_with_one_id_are_found_in_every_owners_graph_by_owner_and_paged()
    {
        var blocked = Ids.New();
        var owners = Enumerable.Range(0, 5).Select(_ => Ids.New()).Order(StringComparer.Ordinal).ToArray();
        foreach (var owner in owners)
            await friends.TryCreateAsync(new Block { Id = Block.IdFor(blocked), UserId = owner, BlockedUid = blocked, CreateTime = 1 }, default);
        await friends.TryCreateAsync(new Block { Id = Block.IdFor(Ids.New()), UserId = owners[0], BlockedUid = "someone else", CreateTime = 1 }, default);

        var first = await friends.ListWithIdAcrossOwnersAsync<Block>(Block.IdFor(blocked), null, 3, default);
        var rest = await friends.ListWithIdAcrossOwnersAsync<Block>(Block.IdFor(blocked), first[^1].UserId, 3, default);

        Assert.That(first.Concat(rest).Select(b => b.UserId), Is.EqualTo(owners));
        Assert.That(first.Concat(rest).All(b => b.BlockedUid == blocked && b.ETag is not null));
        Assert.That(await friends.DeleteAsync(rest[0].UserId, rest[0].Id, default), Is.True);
    }
}
