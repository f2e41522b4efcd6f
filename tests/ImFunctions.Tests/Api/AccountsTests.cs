using System.Collections.Concurrent;
using System.Text.Json;
using ImFunctions.Core.Accounts;
using ImFunctions.Core.Domain;
using ImFunctions.Tests.Push;
using ImFunctions.Tests.Storage;
using ImFunctions.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace ImFunctions.Tests.Api;

/// <summary>logout, logoutAll, updateUserInfo, exportMyData and deleteAccount through the real app, on every store.</summary>
[TestFixtureSource(typeof(StoreFactories), nameof(StoreFactories.Names))]
public sealed class AccountsTests(string storeName)
{
    IStoreFactory store = null!;
    TestApp app = null!;
    readonly CrashOnce crash = new();

    [OneTimeSetUp]
    public async Task Start()
    {
        store = StoreFactories.Create(storeName);
        app = await TestApp.StartAsync(store.AppSettings(""), builder => builder.Services.AddSingleton<IAccountDeletionStep>(crash));
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        await app.DisposeAsync();
        await store.DisposeAsync();
    }

    /// <summary>A deletion step that fails once for the users a test names: a crash between two steps.</summary>
    sealed class CrashOnce : IAccountDeletionStep
    {
        public readonly ConcurrentDictionary<string, bool> Armed = new();

        public Task RunAsync(User user, CancellationToken ct) =>
            Armed.TryRemove(user.Id, out _) ? throw new InvalidOperationException("simulated crash") : Task.CompletedTask;
    }

    Task<TestUser> LoginWithContactsAsync(string? openid = null) =>
        app.LoginAsync(openid, new { mobile = "13800138000", email = "someone@example.com", avatar_file = new { url = "https://cdn.example.com/a.png" } });

    [Test]
    public async Task Logout_refuses_that_token_and_keeps_the_users_other_logins()
    {
        var alice = await app.LoginAsync();
        var otherDevice = await app.LoginAsync(alice.Openid);

        (await alice.PostAsync("logout")).AssertOk();

        (await alice.PostAsync("getConversationList")).AssertError(401, "uni-id-check-token-failed");
        (await alice.PostAsync("logout")).AssertError(401, "uni-id-check-token-failed");
        (await otherDevice.PostAsync("getConversationList")).AssertOk();
    }

    [Test]
    public async Task LogoutAll_refuses_every_token_of_the_user_and_a_new_login_works()
    {
        var alice = await app.LoginAsync();
        var otherDevice = await app.LoginAsync(alice.Openid);

        (await alice.PostAsync("logoutAll")).AssertOk();

        (await alice.PostAsync("getConversationList")).AssertError(401, "uni-id-check-token-failed");
        (await otherDevice.PostAsync("getConversationList")).AssertError(401, "uni-id-check-token-failed");
        (await (await app.LoginAsync(alice.Openid)).PostAsync("getConversationList")).AssertOk();
    }

    [Test]
    public async Task Account_methods_refuse_callers_without_a_token()
    {
        foreach (var method in new[] { "logout", "logoutAll", "updateUserInfo", "exportMyData", "deleteAccount" })
            (await app.PostAsync(method, new { nickname = "x" })).AssertError(401, "uni-id-check-token-failed");
    }

    [Test]
    public async Task An_updated_profile_is_what_others_see_in_getUserInfo_and_new_messages()
    {
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        var avatar = new { extname = "png", name = "me.png", url = "https://cdn.example.com/me.png" };

        var updated = (await alice.PostAsync("updateUserInfo", new { nickname = "  Alice 爱丽丝 ", avatar_file = avatar, gender = 2 })).AssertOk().Data;
        Assert.That(updated.GetProperty("nickname").GetString(), Is.EqualTo("Alice 爱丽丝"));
        Assert.That(updated.GetProperty("gender").GetInt32(), Is.EqualTo(2));

        var seen = (await bob.PostAsync("getUserInfo", new { user_ids = new[] { alice.Uid } })).AssertOk().Data.EnumerateArray().Single();
        Assert.That(seen.GetProperty("nickname").GetString(), Is.EqualTo("Alice 爱丽丝"));
        Assert.That(seen.GetProperty("avatar_file").GetProperty("url").GetString(), Is.EqualTo(avatar.url));
        var sent = (await alice.SendTextAsync(bob.Uid, "hi")).AssertOk().Data;
        var message = (await bob.PostAsync("getMsgList", new { conversation_id = sent.GetProperty("conversation_id").GetString() }))
            .AssertOk().Data.EnumerateArray().Single();
        Assert.That(message.GetProperty("nickname").GetString(), Is.EqualTo("Alice 爱丽丝"));

        (await alice.PostAsync("updateUserInfo", new { gender = 1 })).AssertOk();   // one field leaves the others alone
        var after = (await bob.PostAsync("getUserInfo", new { user_ids = new[] { alice.Uid } })).AssertOk().Data.EnumerateArray().Single();
        Assert.That(after.GetProperty("nickname").GetString(), Is.EqualTo("Alice 爱丽丝"));
    }

    [TestCase("{}", "body")]
    [TestCase("""{"gender":3}""", "gender")]
    [TestCase("""{"gender":"1"}""", "gender")]
    [TestCase("""{"nickname":"   "}""", "nickname")]
    [TestCase("""{"nickname":"a\u0007b"}""", "nickname")]
    [TestCase("""{"nickname":"123456789012345678901234567890123456789012345678901"}""", "nickname")]
    [TestCase("""{"avatar_file":{"url":"http://cdn.example.com/a.png"}}""", "avatar_file.url")]
    [TestCase("""{"avatar_file":{"url":"javascript:alert(1)"}}""", "avatar_file.url")]
    [TestCase("""[]""", "body")]
    public async Task UpdateUserInfo_refuses_bad_input_and_changes_nothing(string json, string field)
    {
        var alice = await app.LoginAsync();
        var reply = await app.PostRawAsync("updateUserInfo", json, alice.Token);
        reply.AssertError(400, "uni-im-invalid-param");
        Assert.That(reply.Body.GetProperty("errMsg").GetString(), Does.StartWith(field));
        var profile = (await alice.PostAsync("getUserInfo", new { user_ids = new[] { alice.Uid } })).AssertOk().Data.EnumerateArray().Single();
        Assert.That(profile.GetProperty("nickname").GetString(), Is.EqualTo("nick " + alice.Openid[..8]));
    }

    [Test]
    public async Task The_export_holds_the_profile_the_binding_the_conversations_and_only_the_messages_the_user_sent()
    {
        var (alice, bob, carol) = (await LoginWithContactsAsync(), await app.LoginAsync(), await app.LoginAsync());
        for (var i = 0; i < 105; i++) (await alice.SendTextAsync(bob.Uid, "to bob " + i)).AssertOk();   // more than one store page
        (await bob.SendTextAsync(alice.Uid, "bob's own words")).AssertOk();
        (await alice.SendTextAsync(carol.Uid, "to carol")).AssertOk();

        var reply = (await alice.PostAsync("exportMyData")).AssertOk();
        var data = reply.Data;

        var profile = data.GetProperty("profile");
        Assert.That((profile.GetProperty("_id").GetString(), profile.GetProperty("mobile").GetString(), profile.GetProperty("email").GetString()),
            Is.EqualTo((alice.Uid, "13800138000", "someone@example.com")));
        Assert.That(data.GetProperty("ext_uid_binding").GetProperty("ext_uid").GetString(), Is.EqualTo(alice.Openid));
        Assert.That(data.GetProperty("conversations").EnumerateArray().Select(c => c.GetProperty("friend_uid").GetString()),
            Is.EquivalentTo(new[] { bob.Uid, carol.Uid }));
        var sent = data.GetProperty("messages_sent").EnumerateArray().ToList();
        Assert.That(sent, Has.Count.EqualTo(106));
        Assert.That(sent.Select(m => m.GetProperty("from_uid").GetString()).Distinct(), Is.EqualTo(new[] { alice.Uid }));
        Assert.That(sent.Select(m => m.GetProperty("body").GetString()), Does.Not.Contain("bob's own words"));
        Assert.That(reply.Body.ToString(), Does.Not.Contain("token_version").And.Not.Contain("revoked_sessions"), "token internals are not the user's data");
    }

    [Test]
    public async Task After_deleteAccount_no_read_path_shows_the_users_personal_data()
    {
        var (alice, bob) = (await LoginWithContactsAsync(), await app.LoginAsync());
        var sent = (await alice.SendTextAsync(bob.Uid, "alice's secret words")).AssertOk().Data;
        (await bob.SendTextAsync(alice.Uid, "bob answers")).AssertOk();
        (await alice.SendTextAsync(bob.Uid, "alice's last words")).AssertOk();
        var conversationId = sent.GetProperty("conversation_id").GetString()!;
        var negotiated = (await bob.PostAsync("negotiate")).AssertOk().Data;
        await using var socket = await HubSocket.ConnectAsync(new Uri(negotiated.GetProperty("url").GetString()!), HubSocket.Json);
        await socket.NextAsync();   // connected

        (await alice.PostAsync("deleteAccount")).AssertOk();

        var pushed = (await socket.NextOfTypeAsync("message")).GetProperty("data");
        Assert.That(pushed.GetProperty("event").GetString(), Is.EqualTo("user-deleted"));
        Assert.That(pushed.GetProperty("data").GetProperty("user_id").GetString(), Is.EqualTo(alice.Uid));
        (await alice.PostAsync("getConversationList")).AssertError(401, "uni-id-check-token-failed");
        (await alice.PostAsync("deleteAccount")).AssertError(401, "uni-id-check-token-failed");

        var seen = (await bob.PostAsync("getUserInfo", new { user_ids = new[] { alice.Uid } })).AssertOk().Data.EnumerateArray().Single();
        Assert.That(seen.GetProperty("nickname").GetString(), Is.EqualTo(AccountDeletion.DeletedNickname));
        Assert.That(seen.GetProperty("avatar_file").ValueKind, Is.EqualTo(JsonValueKind.Null));
        var row = (await bob.PostAsync("getConversationList")).AssertOk().Data.EnumerateArray().Single();
        Assert.That(row.GetProperty("user_info").GetProperty("nickname").GetString(), Is.EqualTo(AccountDeletion.DeletedNickname));
        Assert.That(row.GetProperty("last_msg_note").GetString(), Is.EqualTo(AccountDeletion.ErasedNote));
        var history = (await bob.PostAsync("getMsgList", new { conversation_id = conversationId })).AssertOk().Data.EnumerateArray().ToList();
        Assert.That(history.Select(m => m.GetProperty("seq").GetInt64()), Is.EqualTo(new long[] { 3, 2, 1 }), "erased messages keep their place");
        Assert.That(history.Select(m => m.GetProperty("body").GetString()), Is.EqualTo(new[] { "", "bob answers", "" }));
        Assert.That(history.Where(m => m.GetProperty("from_uid").GetString() == alice.Uid)
            .All(m => m.GetProperty("is_revoke").GetBoolean() && m.GetProperty("nickname").GetString() == AccountDeletion.DeletedNickname));
        var bobsExport = (await bob.PostAsync("exportMyData")).AssertOk().Body.ToString();
        var everything = string.Join("\n", seen, row, string.Join(",", history), bobsExport);
        Assert.That(everything, Does.Not.Contain("alice's").And.Not.Contain("13800138000").And.Not.Contain("someone@example.com")
            .And.Not.Contain("cdn.example.com").And.Not.Contain("nick " + alice.Openid[..8]));
        (await bob.PostAsync("getUserIdByExtUid", new { ext_uid = alice.Openid })).AssertError(404, "uni-im-not-found");

        var again = await app.LoginAsync(alice.Openid);
        Assert.That(again.Uid, Is.Not.EqualTo(alice.Uid));
        Assert.That((await again.PostAsync("getConversationList")).AssertOk().Data.GetArrayLength(), Is.Zero);
        Assert.That((await again.PostAsync("exportMyData")).AssertOk().Data.GetProperty("messages_sent").GetArrayLength(), Is.Zero);
    }

    [Test]
    public async Task A_deletion_that_crashed_half_way_only_lets_deleteAccount_through_and_finishes_on_retry()
    {
        var (alice, bob) = (await LoginWithContactsAsync(), await app.LoginAsync());
        var conversationId = (await alice.SendTextAsync(bob.Uid, "alice's words")).AssertOk().Data.GetProperty("conversation_id").GetString();
        crash.Armed[alice.Uid] = true;

        var crashed = await alice.PostAsync("deleteAccount");
        Assert.That(crashed.Status, Is.EqualTo(500));

        // Half-way: the profile is gone already, the account is usable for nothing but finishing the deletion.
        (await alice.PostAsync("getConversationList")).AssertError(401, "uni-id-check-token-failed");
        var seen = (await bob.PostAsync("getUserInfo", new { user_ids = new[] { alice.Uid } })).AssertOk().Data.EnumerateArray().Single();
        Assert.That(seen.GetProperty("nickname").GetString(), Is.EqualTo(AccountDeletion.DeletedNickname));

        (await alice.PostAsync("deleteAccount")).AssertOk();

        (await bob.PostAsync("getUserIdByExtUid", new { ext_uid = alice.Openid })).AssertError(404, "uni-im-not-found");
        var history = (await bob.PostAsync("getMsgList", new { conversation_id = conversationId })).AssertOk().Data.EnumerateArray().Single();
        Assert.That(history.GetProperty("body").GetString(), Is.Empty);
        Assert.That((await app.LoginAsync(alice.Openid)).Uid, Is.Not.EqualTo(alice.Uid));
    }

    [Test]
    public async Task A_deletion_that_crashed_half_way_is_finished_by_the_next_login_with_the_openid()
    {
        var (alice, bob) = (await LoginWithContactsAsync(), await app.LoginAsync());
        var conversationId = (await alice.SendTextAsync(bob.Uid, "alice's words")).AssertOk().Data.GetProperty("conversation_id").GetString();
        crash.Armed[alice.Uid] = true;
        Assert.That((await alice.PostAsync("deleteAccount")).Status, Is.EqualTo(500));

        var again = await app.LoginAsync(alice.Openid);

        Assert.That(again.Uid, Is.Not.EqualTo(alice.Uid));
        (await alice.PostAsync("deleteAccount")).AssertError(401, "uni-id-check-token-failed");
        var history = (await bob.PostAsync("getMsgList", new { conversation_id = conversationId })).AssertOk().Data.EnumerateArray().Single();
        Assert.That(history.GetProperty("body").GetString(), Is.Empty);
        var profile = (await again.PostAsync("exportMyData")).AssertOk().Data.GetProperty("profile");
        Assert.That(profile.GetProperty("mobile").ValueKind, Is.EqualTo(JsonValueKind.Null), "the new account starts without the old one's data");
    }
}
