using ImFunctions.Core.Accounts;
using System.Text.Json;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Groups;
using ImFunctions.Core.Integrations;
using ImFunctions.Core.Messages;
using ImFunctions.Core.Push;
using ImFunctions.Core.Storage;
using ImFunctions.Tests.Support;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImFunctions.Tests.Storage;

/// <summary>
/// The message-lifecycle and search ports on every store, driven through the domain services that use them, with
/// the store work counted: revoke and edit are O(1), search finds literal substrings in the caller's scopes only.
/// </summary>
[TestFixtureSource(typeof(StoreFactories), nameof(StoreFactories.Names))]
public sealed class MessageLifecycleContractTests(string storeName)
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

    IMessageLifecycleStore Lifecycle => (IMessageLifecycleStore)store;
    IMessageSearchStore Index => (IMessageSearchStore)store;

    /// <param name="lifecycle">The lifecycle port: the store's own, or one that gives up after a write.</param>
    (Messenger Messenger, MessageLifecycle Lifecycle) Services(IMessageLifecycleStore? lifecycle = null, RecordingPushGateway? gateway = null)
    {
        var options = new UniImOptions();
        var users = new UserDirectory(store, new MemoryCache(new MemoryCacheOptions()));
        var pushes = new PushDispatcher(gateway ?? new RecordingPushGateway(), NullLogger<PushDispatcher>.Instance, new PushDispatchOptions());
        return (new Messenger(store, users, new TalkPolicy(options, (IFriendStore)store, new FakeGroups()), pushes, options,
            TimeProvider.System, new FakeGroups()),
            new MessageLifecycle(store, lifecycle ?? Lifecycle, new FakeGroups(), pushes, new EventsOff(), options, TimeProvider.System));
    }

    async Task<User> NewUserAsync()
    {
        var user = new User { Id = Ids.New(), ExtUid = "ext-" + Guid.NewGuid().ToString("N"), Nickname = "n" };
        await store.SaveUserAsync(user, CancellationToken.None);
        return user;
    }

    static SendMessage Text(string to, string text) => new(to, null, "__UNI__TEST", "text", JsonSerializer.SerializeToElement(text));

    static T Ok<T>(Result<T> result) => result.Match(v => v, e => throw new AssertionException($"{e.Code}: {e.Message}"));

    Task<IReadOnlyList<Message>> Search(string conversationId, string keyword, long before = long.MaxValue, int limit = 10) =>
        Index.SearchMessagesAsync([new SearchScope(conversationId)], MessageSearchText.Keyword(keyword), before, limit, default);

    [Test]
    public async Task Update_message_applies_the_change_and_a_null_change_writes_nothing()
    {
        var (a, b) = (await NewUserAsync(), await NewUserAsync());
        var sent = Ok(await Services().Messenger.SendAsync(a, Text(b.Id, "before"), default));

        var changed = await Lifecycle.UpdateMessageAsync(sent.ConversationId, sent.Id,
            m => m! with { Body = JsonSerializer.SerializeToElement("after"), EditTime = 5, UpdateTime = m.UpdateTime + 1 }, default);
        using var meter = StoreMeter.Start();
        var untouched = await Lifecycle.UpdateMessageAsync(sent.ConversationId, sent.Id, _ => null, default);
        var missing = await Lifecycle.UpdateMessageAsync(sent.ConversationId, "no-such-message", m => m, default);

        Assert.That(changed!.Body.GetString(), Is.EqualTo("after"));
        Assert.That((await store.GetMessageAsync(sent.ConversationId, sent.Id, default))!.EditTime, Is.EqualTo(5));
        Assert.That(untouched!.Body.GetString(), Is.EqualTo("after"));
        Assert.That(missing, Is.Null);
        Assert.That(meter.Meter.Writes, Is.Zero, meter.Meter.ToString());
    }

    [Test]
    public async Task Concurrent_updates_of_one_message_all_apply_none_is_lost()
    {
        var (a, b) = (await NewUserAsync(), await NewUserAsync());
        var sent = Ok(await Services().Messenger.SendAsync(a, Text(b.Id, "0"), default));

        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Lifecycle.UpdateMessageAsync(sent.ConversationId, sent.Id,
            m => m! with { Body = JsonSerializer.SerializeToElement((int.Parse(m.Body.GetString()!) + 1).ToString()) }, default)));

        Assert.That((await store.GetMessageAsync(sent.ConversationId, sent.Id, default))!.Body.GetString(), Is.EqualTo("8"));
    }

    [Test]
    public async Task Search_finds_chinese_by_a_substring_latin_in_any_case_and_patterns_only_as_literal_text()
    {
        var (a, b) = (await NewUserAsync(), await NewUserAsync());
        var messenger = Services().Messenger;
        foreach (var text in new[] { "你好世界", "Hello WORLD", "literal .*(a+)+$ here", "aaaa", "nothing" })
            Ok(await messenger.SendAsync(a, Text(b.Id, text), default));
        var conversation = ConversationIds.Single(a.Id, b.Id);

        Assert.That((await Search(conversation, "世界")).Select(m => m.Body.GetString()), Is.EqualTo(new[] { "你好世界" }));
        Assert.That((await Search(conversation, "好世界")).Select(m => m.Body.GetString()), Is.EqualTo(new[] { "你好世界" }));
        Assert.That((await Search(conversation, "hello world")).Select(m => m.Body.GetString()), Is.EqualTo(new[] { "Hello WORLD" }));
        Assert.That((await Search(conversation, "wOr")).Select(m => m.Body.GetString()), Is.EqualTo(new[] { "Hello WORLD" }));
        Assert.That((await Search(conversation, ".*(a+)+$")).Select(m => m.Body.GetString()), Is.EqualTo(new[] { "literal .*(a+)+$ here" }));
        Assert.That(await Search(conversation, ".*"), Has.Count.EqualTo(1));
        Assert.That(await Search(conversation, "\"aaa\" OR nothing"), Is.Empty);
    }

    [Test]
    public async Task Search_stays_inside_the_scopes_it_is_given_and_pages_newest_first()
    {
        var (a, b, c) = (await NewUserAsync(), await NewUserAsync(), await NewUserAsync());
        var messenger = Services().Messenger;
        for (var i = 1; i <= 5; i++) Ok(await messenger.SendAsync(a, Text(b.Id, "needle " + i), default));
        Ok(await messenger.SendAsync(a, Text(c.Id, "needle elsewhere"), default));
        var ab = ConversationIds.Single(a.Id, b.Id);

        var first = await Search(ab, "needle", limit: 3);
        var older = await Search(ab, "needle", before: first[^1].CreateTime, limit: 10);
        var bounded = await Index.SearchMessagesAsync([new SearchScope(ab, 2, 3)], "needle", long.MaxValue, 10, default);

        Assert.That(first.Select(m => m.Seq), Is.EqualTo(new long[] { 5, 4, 3 }));
        Assert.That(older.All(m => m.ConversationId == ab && m.CreateTime < first[^1].CreateTime), Is.True);
        Assert.That(bounded.Select(m => m.Seq).Order(), Is.EqualTo(new long[] { 2, 3 }));
        Assert.That(await Index.SearchMessagesAsync([], "needle", long.MaxValue, 10, default), Is.Empty);
    }

    [Test]
    public async Task A_revoked_message_leaves_no_trace_in_storage_rows_or_search()
    {
        var (a, b) = (await NewUserAsync(), await NewUserAsync());
        var (messenger, lifecycle) = Services();
        Ok(await messenger.SendAsync(a, Text(b.Id, "first"), default));
        var secret = Ok(await messenger.SendAsync(a, Text(b.Id, "secret plan 机密"), default));

        using (var meter = StoreMeter.Start())
        {
            Ok(await lifecycle.RevokeAsync(a, secret.ConversationId, secret.Id, default));
            // The message read for the rights, its guarded replace, and the two rows: O(1) whatever the history.
            Assert.That(meter.Meter.PointReads, Is.LessThanOrEqualTo(4), meter.Meter.ToString());
            Assert.That(meter.Meter.Writes, Is.LessThanOrEqualTo(3), meter.Meter.ToString());
            Assert.That(meter.Meter.Queries, Is.Zero, meter.Meter.ToString());
        }
        var again = await lifecycle.RevokeAsync(a, secret.ConversationId, secret.Id, default);

        var stored = (await store.GetMessageAsync(secret.ConversationId, secret.Id, default))!;
        Assert.That(again.Error, Is.Null);
        Assert.That((stored.IsRevoke, stored.Seq, stored.Body.ValueKind), Is.EqualTo((true, secret.Seq, JsonValueKind.Null)));
        Assert.That(stored.UpdateTime, Is.GreaterThan(secret.CreateTime));
        foreach (var user in new[] { a, b })
        {
            var row = (await store.GetConversationAsync(user.Id, secret.ConversationId, default))!;
            Assert.That(row.LastMsgNote, Is.EqualTo(MessageNotes.Revoked));
            Assert.That(JsonSerializer.Serialize(row, ImJson.Options), Does.Not.Contain("secret"));
        }
        Assert.That(await Search(secret.ConversationId, "secret"), Is.Empty);
        Assert.That(await Search(secret.ConversationId, "机密"), Is.Empty);
        Assert.That(await Search(secret.ConversationId, "first"), Has.Count.EqualTo(1));
        var updates = await store.ReadMessagesUpdatedSinceAsync(secret.ConversationId, secret.CreateTime, 10, default);
        Assert.That(updates.Single(m => m.Id == secret.Id).IsRevoke, Is.True);
    }

    [Test]
    public async Task A_sender_who_gives_up_once_the_message_is_revoked_still_clears_both_rows_and_pushes_the_revoke()
    {
        var (a, b) = (await NewUserAsync(), await NewUserAsync());
        var sent = Ok(await Services().Messenger.SendAsync(a, Text(b.Id, "oops"), default));
        using var giveUp = new CancellationTokenSource();
        var pushed = new RecordingPushGateway();
        var (_, lifecycle) = Services(GivesUpAfter.Write(Lifecycle, nameof(IMessageLifecycleStore.UpdateMessageAsync), giveUp), pushed);

        Ok(await lifecycle.RevokeAsync(a, sent.ConversationId, sent.Id, giveUp.Token));

        Assert.That(giveUp.IsCancellationRequested, Is.True);
        Assert.That((await store.GetConversationAsync(a.Id, sent.ConversationId, default))!.LastMsgNote, Is.EqualTo(MessageNotes.Revoked), "sender's row");
        Assert.That((await store.GetConversationAsync(b.Id, sent.ConversationId, default))!.LastMsgNote, Is.EqualTo(MessageNotes.Revoked), "receiver's row");
        Assert.That(await pushed.ReachesAsync("user:" + b.Id, "\"revoke\""), Is.True, "push to the receiver");
    }

    [Test]
    public async Task An_edit_changes_the_body_the_row_and_what_search_finds()
    {
        var (a, b) = (await NewUserAsync(), await NewUserAsync());
        var (messenger, lifecycle) = Services();
        var sent = Ok(await messenger.SendAsync(a, Text(b.Id, "typo helo"), default));

        using (var meter = StoreMeter.Start())
        {
            Ok(await lifecycle.EditAsync(a, sent.ConversationId, sent.Id, JsonSerializer.SerializeToElement("fixed hello"), default));
            Assert.That(meter.Meter.Writes, Is.LessThanOrEqualTo(3), meter.Meter.ToString());
            Assert.That(meter.Meter.Queries, Is.Zero, meter.Meter.ToString());
        }

        var stored = (await store.GetMessageAsync(sent.ConversationId, sent.Id, default))!;
        Assert.That((stored.Body.GetString(), stored.EditTime is not null), Is.EqualTo(("fixed hello", true)));
        Assert.That((await store.GetConversationAsync(b.Id, sent.ConversationId, default))!.LastMsgNote, Is.EqualTo("fixed hello"));
        Assert.That(await Search(sent.ConversationId, "helo"), Is.Empty);
        Assert.That(await Search(sent.ConversationId, "fixed"), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task A_user_who_gives_up_once_their_account_is_marked_for_deletion_still_has_it_erased_to_the_end()
    {
        var (a, b) = (await NewUserAsync(), await NewUserAsync());
        var sent = Ok(await Services().Messenger.SendAsync(a, Text(b.Id, "forget me"), default));
        using var giveUp = new CancellationTokenSource();
        // The marker on the user record commits a deletion; the caller may never log in again to finish it.
        var givingUp = GivesUpAfter.Write(store, nameof(IImStore.SaveUserAsync), giveUp);
        var pushes = new PushDispatcher(new RecordingPushGateway(), NullLogger<PushDispatcher>.Instance, new PushDispatchOptions());
        var deletion = new AccountDeletion(givingUp, (IAccountStore)store, new UserDirectory(givingUp, new MemoryCache(new MemoryCacheOptions())),
            pushes, [], TimeProvider.System);

        await deletion.DeleteAsync(a, giveUp.Token);

        Assert.That(giveUp.IsCancellationRequested, Is.True);
        Assert.That(AccountDeletion.IsErased((await store.GetMessageAsync(sent.ConversationId, sent.Id, default))!), Is.True, "the message");
        Assert.That((await store.GetConversationAsync(b.Id, sent.ConversationId, default))!.LastMsgNote, Is.EqualTo(AccountDeletion.ErasedNote));
        Assert.That((await store.GetUserAsync(a.Id, default))!.Deletion, Is.EqualTo(AccountDeletion.Deleted));
    }

    [Test]
    public async Task A_message_erased_by_account_deletion_is_no_longer_found_by_search()
    {
        var (a, b) = (await NewUserAsync(), await NewUserAsync());
        var (messenger, _) = Services();
        var sent = Ok(await messenger.SendAsync(a, Text(b.Id, "erase this unicorn 独角兽"), default));
        Ok(await messenger.SendAsync(b, Text(a.Id, "keep this unicorn"), default));
        var stored = (await store.GetMessageAsync(sent.ConversationId, sent.Id, default))!;

        await ((IAccountStore)store).ReplaceMessageAsync(AccountDeletion.Erase(stored, stored.UpdateTime + 1), default);

        Assert.That((await Search(sent.ConversationId, "unicorn")).Select(m => m.Body.GetString()), Is.EqualTo(new[] { "keep this unicorn" }));
        Assert.That(await Search(sent.ConversationId, "独角兽"), Is.Empty);
        Assert.That(await Search(sent.ConversationId, "er"), Is.Empty, "the short-keyword scan reads the same index");
    }
}
