using System.Text.Json;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Groups;
using ImFunctions.Core.Integrations;
using ImFunctions.Core.Push;
using ImFunctions.Core.Storage;
using ImFunctions.Tests.Storage;
using ImFunctions.Tests.Support;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImFunctions.Tests.Groups;

/// <summary>
/// Membership under concurrency and crashes, and the cost of a group send, on every store: the directory's protocol
/// over each store's primitives must hold the same everywhere.
/// </summary>
[TestFixtureSource(typeof(StoreFactories), nameof(StoreFactories.Names))]
public sealed class GroupStoreContractTests(string storeName)
{
    IStoreFactory factory = null!;
    IImStore store = null!;
    IGroupStore groups = null!;
    GroupDirectory directory = null!;
    GroupChat chat = null!;
    GroupManager manager = null!;
    Messenger messenger = null!;

    [OneTimeSetUp]
    public async Task StartStore()
    {
        factory = StoreFactories.Create(storeName);
        store = await factory.CreateAsync();
        groups = (IGroupStore)store;
        (directory, messenger, chat, manager) = Services(store, groups, new RecordingPushGateway());
    }

    /// <summary>The group services over these ports: the suite's store, or one that gives up after a write.</summary>
    (GroupDirectory, Messenger, GroupChat, GroupManager) Services(IImStore messages, IGroupStore groupStore, RecordingPushGateway gateway)
    {
        var options = new UniImOptions();
        var users = new UserDirectory(store, new MemoryCache(new MemoryCacheOptions()));
        var pushes = new PushDispatcher(gateway, NullLogger<PushDispatcher>.Instance, new PushDispatchOptions());
        var groupDirectory = new GroupDirectory(groupStore, store, TimeProvider.System);
        var groupMessenger = new Messenger(messages, users, new TalkPolicy(options, (IFriendStore)store, groupDirectory), pushes, options,
            TimeProvider.System, groupDirectory);
        var groupChat = new GroupChat(groupStore, groupDirectory, groupMessenger, pushes, options, TimeProvider.System);
        return (groupDirectory, groupMessenger, groupChat, new GroupManager(groupStore, groupDirectory, groupChat, users, gateway, pushes,
            new EventsOff(), new GroupOptions { MaxGroupMembers = 2000 }, TimeProvider.System, NullLogger<GroupManager>.Instance, (IFriendStore)store));
    }

    [OneTimeTearDown]
    public Task StopStore() => factory.DisposeAsync();

    async Task<User> NewUserAsync()
    {
        var user = new User { Id = Ids.New(), ExtUid = "ext-" + Guid.NewGuid().ToString("N"), Nickname = "n" };
        await store.SaveUserAsync(user, CancellationToken.None);
        return user;
    }

    /// <summary>A new group of a new owner and one new member.</summary>
    async Task<(User Owner, User Member, string GroupId)> GroupOfTwoAsync()
    {
        var (owner, member) = (await NewUserAsync(), await NewUserAsync());
        return (owner, member, Ok(await manager.ChooseUserIntoGroupAsync(owner, null, null, [member.Id], [], default)).GroupId);
    }

    static T Ok<T>(Result<T> result) => result.Match(v => v, e => throw new AssertionException($"{e.Code}: {e.Message}"));

    async Task<Group> EmptyGroupAsync()
    {
        var group = new Group { Id = Ids.New(), UserId = "nobody", Name = "g", CreateTime = 1, UpdateTime = 1 };
        Assert.That(await groups.CreateGroupAsync(group, default), Is.True);
        return group;
    }

    async Task<IReadOnlyList<MemberRecord>> AllMembersAsync(string groupId)
    {
        var all = new List<MemberRecord>();
        for (string? cursor = null; ;)
        {
            var page = await groups.ListMembersAsync(groupId, cursor, 100, default);
            all.AddRange(page);
            if (page.Count < 100) return all;
            cursor = page[^1].UserId;
        }
    }

    [Test]
    public async Task Fifty_concurrent_joins_against_a_cap_of_40_admit_exactly_40()
    {
        var group = await EmptyGroupAsync();
        var joins = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => Task.Run(() =>
            directory.AddAsync(group.Id, [(Ids.New(), GroupRole.Member)], cap: 40, default))));

        Assert.That(joins.Count(j => j.Refusal is null), Is.EqualTo(40));
        Assert.That(joins.Where(j => j.Refusal is not null).Select(j => j.Refusal), Is.All.EqualTo(MembershipRefusal.OverCap));
        var stored = (await groups.GetGroupAsync(group.Id, default))!;
        Assert.That((stored.MemberCount, stored.Pending.Count), Is.EqualTo((40, 0)));
        Assert.That((await AllMembersAsync(group.Id)).Count, Is.EqualTo(40));
    }

    [Test]
    public async Task Two_admins_adding_the_same_user_at_once_make_one_membership()
    {
        var (owner, admin, newcomer) = (await NewUserAsync(), await NewUserAsync(), await NewUserAsync());
        var groupId = Ok(await manager.ChooseUserIntoGroupAsync(owner, null, null, [], [admin.Id], default)).GroupId;

        var adds = await Task.WhenAll(
            Task.Run(() => manager.ChooseUserIntoGroupAsync(owner, groupId, null, [newcomer.Id], [], default)),
            Task.Run(() => manager.ChooseUserIntoGroupAsync(admin, groupId, null, [newcomer.Id], [], default)));

        Assert.That(adds.Count(a => a.Error is null), Is.EqualTo(1));
        Assert.That(adds.Single(a => a.Error is not null).Error!.Code, Is.EqualTo("2000"));
        Assert.That((await groups.GetGroupAsync(groupId, default))!.MemberCount, Is.EqualTo(3));
        Assert.That((await AllMembersAsync(groupId)).Select(m => m.UserId), Is.EquivalentTo(new[] { owner.Id, admin.Id, newcomer.Id }));
        var history = Ok(await chat.GetReadInfoAsync(owner, groupId, 1, default));
        Assert.That(history.ReadCount + history.UnreadCount, Is.EqualTo(3));
    }

    [Test]
    public async Task Quitting_while_being_expelled_ends_the_membership_once()
    {
        var (owner, member, groupId) = await GroupOfTwoAsync();

        var outcomes = await Task.WhenAll(
            Task.Run(() => manager.QuitAsync(member, groupId, default)),
            Task.Run(() => manager.ExpelAsync(owner, groupId, member.Id, false, default)));

        Assert.That(outcomes.Count(o => o.Error is null), Is.EqualTo(1));
        Assert.That(outcomes.Single(o => o.Error is not null).Error!.Status, Is.EqualTo(404));
        Assert.That((await groups.GetGroupAsync(groupId, default))!.MemberCount, Is.EqualTo(1));
        var record = (await groups.GetMemberAsync(groupId, member.Id, default))!;
        Assert.That(record.IsCurrent, Is.False);
        var exits = (await store.ReadMessagesAsync(GroupIds.Conversation(groupId), new SeqWindow(AfterSeq: 0), 100, default))
            .Count(m => m.Type == "system" && m.Body.GetProperty("action").GetString() is "group-exit" or "group-expel");
        Assert.That(exits, Is.EqualTo(1));
    }

    [Test]
    public async Task A_join_interrupted_after_its_claim_is_finished_by_the_next_change()
    {
        var group = await EmptyGroupAsync();
        var (crashed, next) = (Ids.New(), Ids.New());
        // What a process that died between step 1 (claim) and step 2 (member record) leaves behind.
        var stale = DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeMilliseconds();
        var claimed = await groups.ReplaceGroupAsync(group with { ETag = (await groups.GetGroupAsync(group.Id, default))!.ETag, MemberCount = 1,
            Pending = [new PendingChange(crashed, true, GroupRole.Member, 0, stale)] }, default);
        Assert.That(claimed, Is.Not.Null);
        Assert.That(await groups.GetMemberAsync(group.Id, crashed, default), Is.Null);

        var (_, refusal, _) = await directory.AddAsync(group.Id, [(next, GroupRole.Member)], cap: 10, default);

        Assert.That(refusal, Is.Null);
        var repaired = (await groups.GetGroupAsync(group.Id, default))!;
        Assert.That((repaired.MemberCount, repaired.Pending.Count), Is.EqualTo((2, 0)));
        Assert.That((await AllMembersAsync(group.Id)).Select(m => m.UserId), Is.EquivalentTo(new[] { crashed, next }));
        Assert.That((await groups.ListGroupRowsAsync(crashed, 10, default)).Single().GroupId, Is.EqualTo(group.Id));
    }

    [Test]
    public async Task A_member_who_gives_up_once_the_message_is_stored_still_moves_the_group_head_and_pushes_it()
    {
        var (_, member, groupId) = await GroupOfTwoAsync();
        using var giveUp = new CancellationTokenSource();
        var pushed = new RecordingPushGateway();
        var (_, _, givingUp, _) = Services(GivesUpAfter.Append(store, giveUp), groups, pushed);

        var sent = Ok(await givingUp.SendAsync(member, Text(groupId, "still there?"), giveUp.Token));

        Assert.That(giveUp.IsCancellationRequested, Is.True);
        Assert.That((await groups.GetGroupAsync(groupId, default))!.LastSeq, Is.EqualTo(sent.Seq));
        Assert.That(await pushed.ReachesAsync("group:" + GroupIds.PushGroup(groupId)), Is.True, "push to the group");
    }

    [Test]
    public async Task A_member_who_gives_up_once_their_quit_is_claimed_is_still_out_and_the_group_told()
    {
        var (_, member, groupId) = await GroupOfTwoAsync();
        using var giveUp = new CancellationTokenSource();
        var pushed = new RecordingPushGateway();
        // The claim on the group record is the write that decides a membership change.
        var (_, _, _, givingUp) = Services(store, GivesUpAfter.Write(groups, nameof(IGroupStore.ReplaceGroupAsync), giveUp), pushed);

        Ok(await givingUp.QuitAsync(member, groupId, giveUp.Token));

        Assert.That(giveUp.IsCancellationRequested, Is.True);
        var group = (await groups.GetGroupAsync(groupId, default))!;
        Assert.That((group.MemberCount, group.Pending.Count), Is.EqualTo((1, 0)), "count moved, claim cleared");
        Assert.That((await groups.GetMemberAsync(groupId, member.Id, default))!.IsCurrent, Is.False, "member record");
        Assert.That((await store.GetConversationAsync(member.Id, group.ConversationId, default))!.Leave, Is.True, "member's row");
        Assert.That(group.LastMsg?.Body.GetProperty("action").GetString(), Is.EqualTo("group-exit"), "the announcement");
        Assert.That(await pushed.ReachesAsync("group:" + GroupIds.PushGroup(groupId), "group-exit"), Is.True, "push to the group");
    }

    [Test]
    public async Task An_admin_who_gives_up_once_a_join_request_is_accepted_still_lets_the_applicant_in_and_tells_them()
    {
        var (owner, applicant) = (await NewUserAsync(), await NewUserAsync());
        var groupId = Ok(await manager.ChooseUserIntoGroupAsync(owner, null, null, [], [], default)).GroupId;
        Ok(await manager.ApplyAsync(applicant, groupId, "let me in", default));
        using var giveUp = new CancellationTokenSource();
        var pushed = new RecordingPushGateway();
        // The request's state change is the once-only write: a retry hears "handled already".
        var (_, _, _, givingUp) = Services(store, GivesUpAfter.Write(groups, nameof(IGroupStore.SaveJoinRequestAsync), giveUp), pushed);

        Ok(await givingUp.HandleJoinRequestAsync(owner, GroupIds.JoinRequest(groupId, applicant.Id), accept: true, giveUp.Token));

        Assert.That(giveUp.IsCancellationRequested, Is.True);
        Assert.That((await groups.GetMemberAsync(groupId, applicant.Id, default))?.IsCurrent, Is.True, "the applicant is a member");
        Assert.That((await groups.GetGroupAsync(groupId, default))!.LastMsg?.Body.GetProperty("action").GetString(), Is.EqualTo("join-group"));
        Assert.That(await pushed.ReachesAsync("user:" + applicant.Id, "join_request_handled"), Is.True, "push to the applicant");
    }

    [Test]
    public async Task Concurrent_sends_leave_the_head_at_the_last_message_each_senders_cursor_at_theirs_and_every_all_mention()
    {
        var owner = await NewUserAsync();
        var members = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => NewUserAsync()));
        var groupId = Ok(await manager.ChooseUserIntoGroupAsync(owner, null, null, members.Select(m => m.Id).ToList(), [], default)).GroupId;
        // The owner's every third send mentions everyone: sends racing for the head must not lose one, overtaken or not.
        var sends = Enumerable.Range(0, 30).Select(async i =>
        {
            var sender = i % 5 == 0 ? owner : members[i % 4];
            var request = Text(groupId, "m" + i);
            if (sender == owner && i % 3 == 0) request = request with { CallUid = ["__ALL"] };
            return (Sender: sender.Id, Request: request, Sent: Ok(await chat.SendAsync(sender, request, default)));
        });
        var sent = await Task.WhenAll(sends);

        var group = (await groups.GetGroupAsync(groupId, default))!;
        var last = sent.MaxBy(s => s.Sent.Seq);
        Assert.That((group.LastSeq, group.LastMsg?.Id), Is.EqualTo((last.Sent.Seq, last.Sent.Id)), "the head is the last message");
        Assert.That(group.AllMentions.Select(m => m.MsgId), Is.EquivalentTo(sent.Where(s => s.Request.CallUid is not null).Select(s => s.Sent.Id)));
        foreach (var bySender in sent.GroupBy(s => s.Sender))
            Assert.That((await groups.GetMemberAsync(groupId, bySender.Key, default))!.ReadSeq, Is.EqualTo(bySender.Max(s => s.Sent.Seq)),
                "a sender has read up to their own last message");
    }

    [Test]
    public async Task A_group_send_costs_the_same_store_operations_at_3_and_at_60_members()
    {
        async Task<StoreMeter> MeasureAsync(int members)
        {
            var owner = await NewUserAsync();
            var others = await Task.WhenAll(Enumerable.Range(0, members - 1).Select(_ => NewUserAsync()));
            var groupId = Ok(await manager.ChooseUserIntoGroupAsync(owner, null, null, others.Select(o => o.Id).ToList(), [], default)).GroupId;
            Ok(await chat.SendAsync(owner, Text(groupId, "warm-up"), default));
            using var meter = StoreMeter.Start();
            Ok(await chat.SendAsync(others[0], Text(groupId, "measured"), default));
            return meter.Meter;
        }

        var (small, large) = (await MeasureAsync(3), await MeasureAsync(60));
        TestContext.Out.WriteLine($"{storeName}: 3 members {small}; 60 members {large}");
        Assert.That((large.PointReads, large.Queries, large.Writes), Is.EqualTo((small.PointReads, small.Queries, small.Writes)));
        Assert.That((small.PointReads, small.Queries, small.Writes), Is.EqualTo((2, 0, 3)), "member + group reads; append, group head, sender's cursor");
    }

    [Test]
    public async Task A_group_send_that_mentions_everyone_and_a_member_costs_the_same_at_3_and_at_60_members()
    {
        async Task<StoreMeter> MeasureAsync(int members)
        {
            var owner = await NewUserAsync();
            var others = await Task.WhenAll(Enumerable.Range(0, members - 1).Select(_ => NewUserAsync()));
            var groupId = Ok(await manager.ChooseUserIntoGroupAsync(owner, null, null, others.Select(o => o.Id).ToList(), [], default)).GroupId;
            Ok(await chat.SendAsync(owner, Text(groupId, "warm-up"), default));
            using var meter = StoreMeter.Start();
            Ok(await chat.SendAsync(owner, Text(groupId, "measured") with { CallUid = ["__ALL", others[0].Id] }, default));
            return meter.Meter;
        }

        var (small, large) = (await MeasureAsync(3), await MeasureAsync(60));
        TestContext.Out.WriteLine($"{storeName}: 3 members {small}; 60 members {large}");
        Assert.That((large.PointReads, large.Queries, large.Writes), Is.EqualTo((small.PointReads, small.Queries, small.Writes)));
        // __ALL: the sender's role; the named: one batched read and one write each; __ALL itself rides on the head's write.
        Assert.That(small.Writes, Is.EqualTo(4), "append, group head (with the all-mention), sender's cursor, the named member's reminder");
    }

    [Test]
    public async Task A_join_request_is_one_per_user_and_group_and_a_stale_handler_loses()
    {
        var group = await EmptyGroupAsync();
        var uid = Ids.New();
        var id = GroupIds.JoinRequest(group.Id, uid);
        var created = await groups.SaveJoinRequestAsync(new JoinRequest { Id = id, GroupId = group.Id, UserId = uid }, default);
        Assert.That(created, Is.Not.Null);
        Assert.That(await groups.SaveJoinRequestAsync(new JoinRequest { Id = id, GroupId = group.Id, UserId = uid }, default), Is.Null, "a second create");

        var handled = await groups.SaveJoinRequestAsync(created! with { State = JoinRequestStates.Accepted }, default);
        Assert.That(handled, Is.Not.Null);
        Assert.That(await groups.SaveJoinRequestAsync(created! with { State = JoinRequestStates.Rejected }, default), Is.Null, "the stale ETag loses");
        Assert.That((await groups.GetJoinRequestAsync(group.Id, id, default))!.State, Is.EqualTo(JoinRequestStates.Accepted));
        Assert.That(await groups.ListPendingJoinRequestsAsync(group.Id, 10, default), Is.Empty);
    }

    [Test]
    public async Task Read_cursors_count_readers_and_the_blacklist_round_trips()
    {
        var group = await EmptyGroupAsync();
        var (a, b, c) = (Ids.New(), Ids.New(), Ids.New());
        Assert.That((await directory.AddAsync(group.Id, [(a, GroupRole.Member), (b, GroupRole.Member), (c, GroupRole.Member)], 10, default)).Refusal, Is.Null);
        await groups.UpdateMemberAsync(group.Id, a, null, m => m! with { ReadSeq = 5 }, default);
        await groups.UpdateMemberAsync(group.Id, b, null, m => m! with { ReadSeq = 3 }, default);

        var (count, readers) = await groups.CountReadersAsync(group.Id, 4, 10, default);
        Assert.That((count, readers), Is.EqualTo((1, new[] { a })).Using<(int, IReadOnlyList<string>)>((x, y) => x.Item1 == y.Item1 && x.Item2.SequenceEqual(y.Item2)));
        Assert.That((await groups.CountReadersAsync(group.Id, 3, 10, default)).ReadCount, Is.EqualTo(2));

        await groups.SetBlacklistedAsync(group.Id, c, true, default);
        await groups.SetBlacklistedAsync(group.Id, c, true, default);
        Assert.That(await groups.IsBlacklistedAsync(group.Id, c, default), Is.True);
        await groups.SetBlacklistedAsync(group.Id, c, false, default);
        Assert.That(await groups.IsBlacklistedAsync(group.Id, c, default), Is.False);
    }

    [Test]
    public async Task Group_rows_take_their_place_in_the_list_by_their_groups_activity_at_a_cost_independent_of_group_size()
    {
        async Task<(User Me, string[] Expected)> InboxAsync(int groupSize)
        {
            var (me, owner, peer) = (await NewUserAsync(), await NewUserAsync(), await NewUserAsync());
            var others = await Task.WhenAll(Enumerable.Range(0, groupSize - 2).Select(_ => NewUserAsync()));
            var members = others.Select(o => o.Id).Append(me.Id).ToList();
            var older = Ok(await manager.ChooseUserIntoGroupAsync(owner, null, null, members, [], default)).GroupId;
            await Task.Delay(5);
            var single = Ok(await messenger.SendAsync(peer, new SendMessage(me.Id, null, "__UNI__TEST", "text", JsonSerializer.SerializeToElement("hi")), default));
            await Task.Delay(5);
            var newer = Ok(await manager.ChooseUserIntoGroupAsync(owner, null, null, members, [], default)).GroupId;
            await Task.Delay(5);
            Ok(await chat.SendAsync(owner, Text(older, "the older group speaks"), default));
            return (me, [GroupIds.Conversation(older), GroupIds.Conversation(newer), single.ConversationId]);
        }

        async Task<(IReadOnlyList<ConversationView> Rows, StoreMeter Cost)> FirstPageAsync(User me)
        {
            using var meter = StoreMeter.Start();
            var rows = await messenger.ListAsync(me.Id, new ConversationQuery(10), await messenger.GroupRowsAsync(me.Id, ConversationFilter.None, default), default);
            return (rows, meter.Meter);
        }

        var (small, smallExpected) = await InboxAsync(3);
        var (large, largeExpected) = await InboxAsync(30);
        var (smallPage, smallCost) = await FirstPageAsync(small);
        var (largePage, largeCost) = await FirstPageAsync(large);

        Assert.That(smallPage.Select(r => r.Id), Is.EqualTo(smallExpected));
        Assert.That(largePage.Select(r => r.Id), Is.EqualTo(largeExpected));
        Assert.That(smallPage.Select(r => r.UnreadCount), Is.EqualTo(new[] { 2L, 1L, 1L }), "join-group (+ a message), join-group, hi");
        TestContext.Out.WriteLine($"{storeName}: groups of 3 {smallCost}; groups of 30 {largeCost}");
        Assert.That((largeCost.PointReads, largeCost.Queries), Is.EqualTo((smallCost.PointReads, smallCost.Queries)));

        // Keyset pages over the merged order, one row at a time, never skip or repeat a row.
        var paged = new List<string>();
        string? after = null;
        var groupRows = await messenger.GroupRowsAsync(small.Id, ConversationFilter.None, default);
        for (var page = 0; page < 5; page++)
        {
            var rows = await messenger.ListAsync(small.Id, new ConversationQuery(1, After: after), groupRows, default);
            if (rows.Count == 0) break;
            paged.Add(rows[0].Id);
            after = rows[0].Cursor[1..];
        }
        Assert.That(paged, Is.EqualTo(smallExpected));
        // Once read, a group row's unread needs no member read for the badge: the row mirrors the read cursor.
        Ok(await messenger.MarkReadAsync(small, null, null, default));
        var (readPage, _) = await FirstPageAsync(small);
        Assert.That(readPage.Select(r => r.UnreadCount), Is.All.Zero);
        using (var badge = StoreMeter.Start())
        {
            await messenger.GroupUnreadAsync(small.Id, default);
            Assert.That(badge.Meter.PointReads, Is.Zero, "the badge of a user who read everything reads no member record");
        }
    }

    static SendMessage Text(string groupId, string text) =>
        new(null, groupId, "__UNI__TEST", "text", JsonSerializer.SerializeToElement(text));

    [Test]
    public async Task A_users_join_requests_are_listed_across_groups_in_any_state_by_group_id()
    {
        var uid = Ids.New();
        var groupIds = Enumerable.Range(0, 3).Select(_ => Ids.New()).Order(StringComparer.Ordinal).ToArray();
        foreach (var (groupId, i) in groupIds.Select((g, i) => (g, i)))
            await groups.SaveJoinRequestAsync(new JoinRequest
            {
                Id = GroupIds.JoinRequest(groupId, uid), GroupId = groupId, UserId = uid, Message = "m" + i,
                State = i == 1 ? JoinRequestStates.Rejected : JoinRequestStates.Pending, CreateTime = 1, UpdateTime = 1,
            }, default);
        var other = Ids.New();
        await groups.SaveJoinRequestAsync(new JoinRequest { Id = GroupIds.JoinRequest(groupIds[0], other), GroupId = groupIds[0], UserId = other }, default);

        var first = await groups.ListJoinRequestsOfUserAsync(uid, null, 2, default);
        var rest = await groups.ListJoinRequestsOfUserAsync(uid, first[^1].GroupId, 2, default);

        Assert.That(first.Concat(rest).Select(r => (r.GroupId, r.Message)), Is.EqualTo(groupIds.Select((g, i) => (g, "m" + i))));
        var again = first[0] with { Message = "" };
        Assert.That(await groups.SaveJoinRequestAsync(again, default), Is.Not.Null, "a listed request carries its ETag for a guarded save");
    }
}
