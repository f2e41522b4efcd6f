using System.Text.Json;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Friends;
using ImFunctions.Core.Push;
using ImFunctions.Core.Storage;
using ImFunctions.Tests.Support;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImFunctions.Tests.Storage;

/// <summary>
/// The behaviour every store must show, run through the one Messenger that holds the rules.
/// Each test makes its own users, so tests share a store and may run in any order.
/// </summary>
[TestFixtureSource(typeof(StoreFactories), nameof(StoreFactories.Names))]
public sealed class StoreContractTests(string storeName)
{
    IStoreFactory factory = null!;
    IImStore store = null!;

    [OneTimeSetUp]
    public async Task StartStore()
    {
        factory = StoreFactories.Create(storeName);
        store = await factory.CreateAsync();
    }

    [OneTimeTearDown]
    public Task StopStore() => factory.DisposeAsync();

    Messenger NewMessenger(UniImOptions? options = null)
    {
        options ??= new UniImOptions();
        var users = new UserDirectory(store, new MemoryCache(new MemoryCacheOptions()));
        var pushes = new PushDispatcher(new RecordingPushGateway(), NullLogger<PushDispatcher>.Instance, new PushDispatchOptions());
        return new Messenger(store, users, new TalkPolicy(options, (IFriendStore)store, new FakeGroups()), pushes, options, TimeProvider.System,
            new FakeGroups());
    }

    async Task<User> NewUserAsync(params string[] role)
    {
        var user = new User { Id = Ids.New(), ExtUid = "ext-" + Guid.NewGuid().ToString("N"), Nickname = "n", Role = role };
        await store.SaveUserAsync(user, CancellationToken.None);
        return user;
    }

    static SendMessage Text(string to, string text, string? clientMsgId = null) =>
        new(to, null, "__UNI__TEST", "text", JsonSerializer.SerializeToElement(text), clientMsgId);

    static T Ok<T>(Result<T> result) => result.Match(v => v, e => throw new AssertionException($"{e.Code}: {e.Message}"));

    [Test]
    public async Task History_pages_newest_first_and_gap_fill_pages_oldest_first()
    {
        var (a, b, messenger) = (await NewUserAsync(), await NewUserAsync(), NewMessenger());
        for (var i = 1; i <= 7; i++) Ok(await messenger.SendAsync(i % 2 == 0 ? b : a, Text(i % 2 == 0 ? a.Id : b.Id, "m" + i), default));
        var conversation = ConversationIds.Single(a.Id, b.Id);

        var newest = Ok(await messenger.GetHistoryAsync(a, conversation, new SeqWindow(), 3, default));
        var older = Ok(await messenger.GetHistoryAsync(a, conversation, new SeqWindow(BeforeSeq: newest[^1].Seq), 3, default));
        var oldest = Ok(await messenger.GetHistoryAsync(a, conversation, new SeqWindow(BeforeSeq: older[^1].Seq), 3, default));
        var gapFill = Ok(await messenger.GetHistoryAsync(b, conversation, new SeqWindow(AfterSeq: 2), 100, default));

        Assert.That(newest.Concat(older).Concat(oldest).Select(m => m.Seq), Is.EqualTo(new long[] { 7, 6, 5, 4, 3, 2, 1 }));
        Assert.That(newest.Select(m => m.Body.GetString()), Is.EqualTo(new[] { "m7", "m6", "m5" }));
        Assert.That(gapFill.Select(m => m.Seq), Is.EqualTo(new long[] { 3, 4, 5, 6, 7 }));
    }

    [Test]
    public async Task A_sender_who_gives_up_once_the_message_is_stored_still_leaves_both_rows_and_the_push()
    {
        var (a, b) = (await NewUserAsync(), await NewUserAsync());
        var first = Ok(await NewMessenger().SendAsync(a, Text(b.Id, "hi"), default));
        using var giveUp = new CancellationTokenSource();
        var pushed = new RecordingPushGateway();
        var options = new UniImOptions();
        var messenger = new Messenger(GivesUpAfter.Append(store, giveUp), new UserDirectory(store, new MemoryCache(new MemoryCacheOptions())),
            new TalkPolicy(options, (IFriendStore)store, new FakeGroups()),
            new PushDispatcher(pushed, NullLogger<PushDispatcher>.Instance, new PushDispatchOptions()), options, TimeProvider.System, new FakeGroups());

        // The request is aborted (the sender's connection dropped) the moment the message is stored.
        var second = Ok(await messenger.SendAsync(a, Text(b.Id, "are you there?"), giveUp.Token));

        Assert.That(giveUp.IsCancellationRequested, Is.True);
        Assert.That(second.Seq, Is.EqualTo(first.Seq + 1));
        Assert.That((await store.GetConversationAsync(b.Id, second.ConversationId, default))!.LastSeq, Is.EqualTo(second.Seq), "receiver's row");
        Assert.That((await store.GetConversationAsync(a.Id, second.ConversationId, default))!.LastSeq, Is.EqualTo(second.Seq), "sender's row");
        Assert.That(await pushed.ReachesAsync("user:" + b.Id), Is.True, "push to the receiver");
    }

    [Test]
    public async Task Retry_with_same_client_msg_id_returns_the_original_message()
    {
        var (a, b, messenger) = (await NewUserAsync(), await NewUserAsync(), NewMessenger());
        var first = Ok(await messenger.SendAsync(a, Text(b.Id, "hello", "c-1"), default));
        var retry = Ok(await messenger.SendAsync(a, Text(b.Id, "hello", "c-1"), default));
        var conflict = await messenger.SendAsync(a, Text(b.Id, "other text", "c-1"), default);

        Assert.That(retry, Is.EqualTo(first));
        Assert.That(conflict.Error?.Status, Is.EqualTo(409));
        var stored = Ok(await messenger.GetHistoryAsync(b, first.ConversationId, new SeqWindow(), 10, default));
        Assert.That(stored.Select(m => m.Id), Is.EqualTo(new[] { first.Id }));
        var rows = Ok(await messenger.ListConversationsAsync(b, null, new ConversationPage(10), default));
        Assert.That(rows.Single().UnreadCount, Is.EqualTo(1));
    }

    [Test]
    public async Task Concurrent_senders_get_seqs_exactly_1_to_N()
    {
        const int senders = 20, perSender = 10;
        var hub = await NewUserAsync();
        var others = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => NewUserAsync()));
        var messenger = NewMessenger();
        // Two participants, many concurrent requests each (as from many devices), in one conversation.
        var sent = await Task.WhenAll(Enumerable.Range(0, senders).Select(s => Task.Run(async () =>
        {
            var seqs = new List<long>();
            for (var i = 0; i < perSender; i++)
            {
                var (from, to) = s % 2 == 0 ? (hub, others[0]) : (others[0], hub);
                seqs.Add(Ok(await messenger.SendAsync(from, Text(to.Id, $"{s}-{i}"), default)).Seq);
            }
            return seqs;
        })));

        var all = sent.SelectMany(s => s).Order().ToArray();
        Assert.That(all, Is.EqualTo(Enumerable.Range(1, senders * perSender).Select(i => (long)i).ToArray()));
        var conversation = ConversationIds.Single(hub.Id, others[0].Id);
        var stored = new List<long>();
        for (long after = 0; ; )
        {
            var page = Ok(await messenger.GetHistoryAsync(hub, conversation, new SeqWindow(AfterSeq: after), 100, default));
            if (page.Count == 0) break;
            stored.AddRange(page.Select(m => m.Seq));
            after = page[^1].Seq;
        }
        Assert.That(stored, Is.EqualTo(all));
        var row = Ok(await messenger.ListConversationsAsync(hub, conversation, new ConversationPage(1), default)).Single();
        Assert.That(row.LastSeq, Is.EqualTo(senders * perSender));
    }

    [Test]
    public async Task Concurrent_retries_of_the_same_sends_store_each_once_with_seqs_1_to_N()
    {
        const int messages = 60;
        var (a, b, messenger) = (await NewUserAsync(), await NewUserAsync(), NewMessenger());
        // Every message is sent twice at once (a client retrying while its first try is in flight): in a line of
        // appends the second of each pair is refused as a duplicate, somewhere between the others.
        var sent = await Task.WhenAll(Enumerable.Range(0, 2 * messages).Select(i => Task.Run(async () =>
        {
            var (from, to) = i / 2 % 2 == 0 ? (a, b) : (b, a);
            return Ok(await messenger.SendAsync(from, Text(to.Id, $"m{i / 2}", $"c-{i / 2}"), default));
        })));

        for (var m = 0; m < messages; m++) Assert.That(sent[2 * m + 1], Is.EqualTo(sent[2 * m]), $"both tries of message {m}");
        var seqs = sent.Where((_, i) => i % 2 == 0).Select(s => s.Seq).Order().ToArray();
        Assert.That(seqs, Is.EqualTo(Enumerable.Range(1, messages).Select(i => (long)i).ToArray()));
        var conversation = ConversationIds.Single(a.Id, b.Id);
        var stored = Ok(await messenger.GetHistoryAsync(a, conversation, new SeqWindow(AfterSeq: 0), 100, default));
        Assert.That(stored.Select(m => m.Seq), Is.EqualTo(seqs));
        var row = Ok(await messenger.ListConversationsAsync(a, conversation, new ConversationPage(1), default)).Single();
        Assert.That(row.LastSeq, Is.EqualTo(messages));
    }

    [Test]
    public async Task Unread_counts_follow_sends_and_reads()
    {
        var (a, b, messenger) = (await NewUserAsync(), await NewUserAsync(), NewMessenger());
        for (var i = 0; i < 5; i++) Ok(await messenger.SendAsync(a, Text(b.Id, "m" + i), default));
        var conversation = ConversationIds.Single(a.Id, b.Id);

        long Unread(User u) => Ok(messenger.ListConversationsAsync(u, conversation, new ConversationPage(1), default).Result).Single().UnreadCount;
        Assert.That((Unread(a), Unread(b)), Is.EqualTo((0L, 5L)));

        Ok(await messenger.MarkReadAsync(b, conversation, readSeq: 3, default));
        Assert.That(Unread(b), Is.EqualTo(2));
        Ok(await messenger.MarkReadAsync(b, conversation, readSeq: 1, default));   // a read cursor never moves back
        Assert.That(Unread(b), Is.EqualTo(2));
        Ok(await messenger.MarkReadAsync(b, null, null, default));
        Assert.That(Unread(b), Is.EqualTo(0));
    }

    [Test]
    public async Task Conversation_list_is_newest_first_and_pages_by_cursor()
    {
        var me = await NewUserAsync();
        var peers = new List<User>();
        var messenger = NewMessenger();
        for (var i = 0; i < 5; i++)
        {
            peers.Add(await NewUserAsync());
            Ok(await messenger.SendAsync(peers[i], Text(me.Id, "hi " + i), default));
            await Task.Delay(2);   // distinct update_time per conversation
        }

        var first = Ok(await messenger.ListConversationsAsync(me, null, new ConversationPage(3), default));
        var next = Ok(await messenger.ListConversationsAsync(me, null, new ConversationPage(3, MaxUpdateTime: first[^1].UpdateTime), default));

        Assert.That(first.Concat(next).Select(r => r.FriendUid), Is.EqualTo(peers.AsEnumerable().Reverse().Select(p => p.Id)));
        Assert.That(first[0].UserInfo?.Id, Is.EqualTo(peers[^1].Id));
        Assert.That(first[0].LastMsg?.Body.GetString(), Is.EqualTo("hi 4"));
    }

    [Test]
    public async Task Conversation_list_pages_by_page_number()
    {
        var me = await NewUserAsync();
        var messenger = NewMessenger();
        var peers = new List<User>();
        for (var i = 0; i < 5; i++)
        {
            peers.Add(await NewUserAsync());
            Ok(await messenger.SendAsync(peers[i], Text(me.Id, "hi " + i), default));
            await Task.Delay(2);
        }

        var pages = new List<ConversationView>();
        for (var page = 0; page < 3; page++)
            pages.AddRange(Ok(await messenger.ListConversationsAsync(me, null, new ConversationPage(2, Skip: page * 2), default)));

        Assert.That(pages.Select(r => r.FriendUid), Is.EqualTo(peers.AsEnumerable().Reverse().Select(p => p.Id)));
    }

    [Test]
    public async Task Concurrent_updates_of_one_row_lose_nothing()
    {
        var (owner, conversation) = (Ids.New(), "single_" + Guid.NewGuid().ToString("N"));
        var stale = await store.UpdateConversationAsync(owner, conversation, null,
            _ => new ConversationRow { Id = conversation, UserId = owner, Type = ConversationTypes.Single }, default);
        // Half the writers start from a row they read long ago, as a caller passing `known` may.
        await Task.WhenAll(Enumerable.Range(0, 10).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 10; i++)
                await store.UpdateConversationAsync(owner, conversation, w % 2 == 0 ? stale : null,
                    row => row! with { LastSeq = row.LastSeq + 1 }, default);
        })));

        Assert.That((await store.GetConversationAsync(owner, conversation, default))?.LastSeq, Is.EqualTo(100));
    }

    [Test]
    public async Task Sends_racing_reads_keep_last_msg_and_unread_right()
    {
        var (a, b, messenger) = (await NewUserAsync(), await NewUserAsync(), NewMessenger());
        Ok(await messenger.SendAsync(a, Text(b.Id, "first"), default));
        var conversation = ConversationIds.Single(a.Id, b.Id);

        var sends = Task.WhenAll(Enumerable.Range(2, 29).Select(i => Task.Run(async () => Ok(await messenger.SendAsync(a, Text(b.Id, "m" + i), default)))));
        var reads = Task.Run(async () =>
        {
            for (var i = 0; i < 10; i++) Ok(await messenger.MarkReadAsync(b, conversation, null, default));
        });
        await Task.WhenAll(sends, reads);

        var last = (await sends).MaxBy(s => s.Seq)!;
        var row = Ok(await messenger.ListConversationsAsync(b, conversation, new ConversationPage(1), default)).Single();
        Assert.That((row.LastSeq, row.LastMsg?.Id, row.LastMsgNote), Is.EqualTo((30L, last.Id, row.LastMsg?.Body.GetString())));
        Assert.That(row.UnreadCount, Is.EqualTo(30 - row.ReadSeq));
        var senderRow = Ok(await messenger.ListConversationsAsync(a, conversation, new ConversationPage(1), default)).Single();
        Assert.That((senderRow.LastSeq, senderRow.UnreadCount), Is.EqualTo((30L, 0L)));
        Ok(await messenger.MarkReadAsync(b, conversation, null, default));
        Assert.That(Ok(await messenger.ListConversationsAsync(b, conversation, new ConversationPage(1), default)).Single().UnreadCount, Is.Zero);
    }

    [Test]
    public async Task Admin_rule_blocks_new_conversations_but_not_replies()
    {
        var admin = await NewUserAsync();
        var (alice, bob) = (await NewUserAsync(), await NewUserAsync());
        var messenger = NewMessenger(new UniImOptions { AdminUids = [admin.Id] });

        var blocked = await messenger.SendAsync(alice, Text(bob.Id, "hi"), default);
        Ok(await messenger.SendAsync(admin, Text(alice.Id, "how can I help?"), default));
        var reply = await messenger.SendAsync(alice, Text(admin.Id, "thanks"), default);

        Assert.That(blocked.Error?.Code, Is.EqualTo(ErrorCodes.AdminOnly));
        Assert.That(reply.Error, Is.Null);
    }

    [Test]
    public async Task Binding_an_ext_uid_concurrently_yields_one_uid()
    {
        var ext = "ext-" + Guid.NewGuid().ToString("N");
        var bound = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => store.BindExtUidAsync(ext, Ids.New(), default)));
        Assert.That(bound.Distinct().Count(), Is.EqualTo(1));
        Assert.That(await store.FindUidByExtUidAsync(ext, default), Is.EqualTo(bound[0]));
    }

    [Test]
    public async Task A_reply_costs_at_most_two_point_reads_and_three_writes_whatever_the_history()
    {
        var (a, b, messenger) = (await NewUserAsync(), await NewUserAsync(), NewMessenger());
        for (var i = 0; i < 30; i++) Ok(await messenger.SendAsync(a, Text(b.Id, "m" + i), default));

        StoreMeter sendCost, pageCost;
        using (var scope = StoreMeter.Start())
        {
            Ok(await messenger.SendAsync(a, Text(b.Id, "one more"), default));
            sendCost = scope.Meter;
        }
        using (var scope = StoreMeter.Start())
        {
            Ok(await messenger.GetHistoryAsync(b, ConversationIds.Single(a.Id, b.Id), new SeqWindow(BeforeSeq: 20), 10, default));
            pageCost = scope.Meter;
        }

        Assert.That((sendCost.PointReads, sendCost.Writes, sendCost.Queries), Is.EqualTo((2, 3, 0)), sendCost.ToString());
        // One membership point read, one single-partition query.
        Assert.That((pageCost.PointReads, pageCost.Queries, pageCost.Writes), Is.EqualTo((1, 1, 0)), pageCost.ToString());
    }
}
