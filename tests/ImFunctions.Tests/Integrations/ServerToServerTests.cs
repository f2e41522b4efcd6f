using ImFunctions.Tests.Support;

namespace ImFunctions.Tests.Integrations;

/// <summary>Signed server-to-server calls (SPEC §13), over real HTTP: what a valid signature may do, and every way a forged or replayed one is refused.</summary>
public sealed class ServerToServerTests
{
    TestApp app = null!;

    [OneTimeSetUp]
    public async Task Start() => app = await TestApp.StartAsync(S2SSigner.Settings);

    [OneTimeTearDown]
    public async Task Stop() => await app.DisposeAsync();

    static object Text(string to, string text) => new { to_uid = to, appId = "__UNI__TEST", type = "text", body = text };

    /// <summary>Nothing reached the receiver: no conversation row, so nothing was written for this pair.</summary>
    static async Task AssertNothingSentTo(TestUser receiver)
    {
        var rows = (await receiver.PostAsync("getConversationList")).AssertOk().Data;
        Assert.That(rows.GetArrayLength(), Is.EqualTo(0), rows.ToString());
    }

    [Test]
    public async Task A_signed_call_sends_as_the_named_user_by_uid_or_by_ext_uid()
    {
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());

        var byUid = (await app.SignedAsync("sendMsg", Text(bob.Uid, "by uid"), alice.Uid)).AssertOk();
        (await app.SignedAsync("sendMsg", Text(bob.Uid, "by ext uid"), "ext:" + alice.Openid)).AssertOk();

        var history = (await bob.PostAsync("getMsgList", new { conversation_id = byUid.Data.GetProperty("conversation_id").GetString() })).AssertOk().Data;
        Assert.That(history.EnumerateArray().Select(m => (m.GetProperty("from_uid").GetString(), m.GetProperty("body").GetString())),
            Is.EqualTo(new[] { (alice.Uid, "by ext uid"), (alice.Uid, "by uid") }));
    }

    [Test]
    public async Task Every_configured_key_signs_so_keys_can_be_rotated()
    {
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        (await app.SendAsync(S2SSigner.Call("sendMsg", Text(bob.Uid, "old key"), alice.Uid))).AssertOk();
        (await app.SendAsync(S2SSigner.Call("sendMsg", Text(bob.Uid, "new key"), alice.Uid) with { KeyId = S2SSigner.SecondKeyId, Key = S2SSigner.SecondKey })).AssertOk();
    }

    [TestCase(-6 * 60_000L, TestName = "A_timestamp_older_than_five_minutes_is_refused")]
    [TestCase(6 * 60_000L, TestName = "A_timestamp_more_than_five_minutes_ahead_is_refused")]
    public async Task Timestamps_outside_the_window_are_refused(long offsetMs)
    {
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        var call = S2SSigner.Call("sendMsg", Text(bob.Uid, "stale"), alice.Uid) with { Timestamp = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + offsetMs };
        (await app.SendAsync(call)).AssertError(401, "uni-im-signature-invalid");
        await AssertNothingSentTo(bob);
    }

    [Test]
    public async Task A_call_missing_its_timestamp_is_refused()
    {
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        var call = S2SSigner.Call("sendMsg", Text(bob.Uid, "no time"), alice.Uid);
        (await app.SendAsync(call, headers: h => h.Remove("X-ImF-Timestamp"))).AssertError(401, "uni-im-signature-invalid");
        await AssertNothingSentTo(bob);
    }

    [Test]
    public async Task A_replayed_call_is_refused_and_stores_nothing_more()
    {
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        var call = S2SSigner.Call("sendMsg", Text(bob.Uid, "once"), alice.Uid);
        var first = (await app.SendAsync(call)).AssertOk();
        (await app.SendAsync(call)).AssertError(401, "uni-im-signature-invalid");

        var history = (await bob.PostAsync("getMsgList", new { conversation_id = first.Data.GetProperty("conversation_id").GetString() })).AssertOk().Data;
        Assert.That(history.GetArrayLength(), Is.EqualTo(1));
    }

    [Test]
    public async Task A_nonce_is_refused_by_another_instance_on_the_same_store()
    {
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        var settings = S2SSigner.Settings;
        settings["Storage:Sqlite:Path"] = Path.Combine(app.DataDirectory, "imfunctions.db");
        await using var second = await TestApp.StartAsync(settings);

        var call = S2SSigner.Call("sendMsg", Text(bob.Uid, "once"), alice.Uid);
        (await app.SendAsync(call)).AssertOk();
        (await second.SendAsync(call)).AssertError(401, "uni-im-signature-invalid");
    }

    [Test]
    public async Task The_old_signature_is_refused_when_the_body_path_act_as_or_method_changes()
    {
        var (alice, bob, carol) = (await app.LoginAsync(), await app.LoginAsync(), await app.LoginAsync());
        var call = S2SSigner.Call("sendMsg", Text(bob.Uid, "signed"), alice.Uid);

        (await app.SendAsync(call with { Nonce = Guid.NewGuid().ToString("N") }, sendBody: System.Text.Json.JsonSerializer.Serialize(Text(bob.Uid, "forged"))))
            .AssertError(401, "uni-im-signature-invalid");
        var signedForGetMsgList = S2SSigner.Call("getMsgList", Text(bob.Uid, "signed"), alice.Uid);
        (await app.SendAsync(signedForGetMsgList, sendTo: "sendMsg")).AssertError(401, "uni-im-signature-invalid");
        (await app.SendAsync(call with { Nonce = Guid.NewGuid().ToString("N") }, sendActAs: carol.Uid)).AssertError(401, "uni-im-signature-invalid");
        var signedAsGet = call with { Method = "GET", Nonce = Guid.NewGuid().ToString("N") };
        (await app.SendAsync(signedAsGet with { Signature = signedAsGet.Sign(), Method = "POST" })).AssertError(401, "uni-im-signature-invalid");

        await AssertNothingSentTo(bob);
        await AssertNothingSentTo(carol);
    }

    [Test]
    public async Task An_unknown_key_id_or_a_wrong_key_is_refused()
    {
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        (await app.SendAsync(S2SSigner.Call("sendMsg", Text(bob.Uid, "x"), alice.Uid) with { KeyId = "nobody" })).AssertError(401, "uni-im-signature-invalid");
        (await app.SendAsync(S2SSigner.Call("sendMsg", Text(bob.Uid, "x"), alice.Uid) with { Key = S2SSigner.SecondKey })).AssertError(401, "uni-im-signature-invalid");
        await AssertNothingSentTo(bob);
    }

    [Test]
    public async Task Acting_as_a_user_who_does_not_exist_is_not_found_and_creates_no_one()
    {
        var bob = await app.LoginAsync();
        var ghost = "ghost-" + Guid.NewGuid().ToString("N");
        (await app.SignedAsync("sendMsg", Text(bob.Uid, "boo"), "ext:" + ghost)).AssertError(404, "uni-im-not-found");
        (await app.SignedAsync("sendMsg", Text(bob.Uid, "boo"), "0123456789abcdef01234567")).AssertError(404, "uni-im-not-found");

        (await bob.PostAsync("getUserIdByExtUid", new { ext_uid = ghost })).AssertError(404, "uni-im-not-found");
        await AssertNothingSentTo(bob);
    }

    [Test]
    public async Task A_signed_caller_has_the_users_stored_rights_and_no_header_raises_them()
    {
        var admin = "admin-" + Guid.NewGuid().ToString("N")[..8];
        var settings = S2SSigner.Settings;
        settings["UniIm:AdminUid"] = admin;
        await using var guarded = await TestApp.StartAsync(settings);
        var (alice, bob) = (await guarded.LoginAsync(), await guarded.LoginAsync());

        // uni-im's HTTP entry took roles from the caller; here nothing the caller says about roles counts.
        var reply = await guarded.SendAsync(S2SSigner.Call("sendMsg", Text(bob.Uid, "let me in"), alice.Uid),
            headers: h => { h.Add("X-ImF-Role", "admin"); h.Add("X-ImF-Act-As-Role", "uni-im-admin"); });
        reply.AssertError(403, "40001");
        await AssertNothingSentTo(bob);
    }

    [Test]
    public async Task Server_methods_refuse_user_tokens_unsigned_calls_and_an_act_as()
    {
        var alice = await app.LoginAsync();
        var body = new { ext_uid = "made-" + Guid.NewGuid().ToString("N") };
        (await alice.PostAsync("upsertUser", body)).AssertError(401, "uni-im-signature-invalid");
        (await app.PostAsync("upsertUser", body)).AssertError(401, "uni-im-signature-invalid");
        (await app.SignedAsync("upsertUser", body, alice.Uid)).AssertError(400, "uni-im-invalid-param");
        (await alice.PostAsync("getUserIdByExtUid", body)).AssertError(404, "uni-im-not-found");
    }

    [Test]
    public async Task A_user_method_needs_someone_to_act_as()
    {
        var bob = await app.LoginAsync();
        (await app.SignedAsync("sendMsg", Text(bob.Uid, "from nobody"))).AssertError(400, "uni-im-invalid-param");
        await AssertNothingSentTo(bob);
    }

    [Test]
    public async Task UpsertUser_creates_a_user_by_ext_uid_then_updates_only_what_it_is_given()
    {
        var ext = "crm-" + Guid.NewGuid().ToString("N");
        var created = (await app.SignedAsync("upsertUser", new { ext_uid = ext, nickname = "First", gender = 1 })).AssertOk().Data.GetProperty("uid").GetString()!;
        var again = (await app.SignedAsync("upsertUser", new { ext_uid = ext, nickname = "Second" })).AssertOk().Data.GetProperty("uid").GetString();
        Assert.That(again, Is.EqualTo(created));

        // The user logs in later with the same openid and is the same user.
        var user = await app.LoginAsync(ext);
        Assert.That(user.Uid, Is.EqualTo(created));
        var profile = (await user.PostAsync("getUserInfo", new { user_ids = new[] { created } })).AssertOk().Data[0];
        Assert.That(profile.GetProperty("_id").GetString(), Is.EqualTo(created));
    }

    [Test]
    public async Task SendSystemMsg_puts_a_system_message_in_the_users_history()
    {
        var bob = await app.LoginAsync();
        var sent = (await app.SignedAsync("sendSystemMsg", new { to_uid = bob.Uid, body = new { text = "Welcome!" }, action = "welcome" })).AssertOk().Data;

        var history = (await bob.PostAsync("getMsgList", new { conversation_id = sent.GetProperty("conversation_id").GetString() })).AssertOk().Data;
        var message = history[0];
        Assert.That((message.GetProperty("type").GetString(), message.GetProperty("from_uid").GetString(), message.GetProperty("seq").GetInt64()),
            Is.EqualTo(("system", "system", 1L)));
        Assert.That(message.GetProperty("body").GetProperty("action").GetString(), Is.EqualTo("welcome"));
        Assert.That(message.GetProperty("body").GetProperty("text").GetString(), Is.EqualTo("Welcome!"));
    }

    [Test]
    public async Task SendSystemMsg_to_an_unknown_user_or_group_is_not_found()
    {
        (await app.SignedAsync("sendSystemMsg", new { to_uid = "0123456789abcdef01234567", body = "hi" })).AssertError(404, "uni-im-not-found");
        (await app.SignedAsync("sendSystemMsg", new { group_id = "no-such-group", body = "hi" })).AssertError(404, "uni-im-not-found");
    }

    [Test]
    public async Task Users_cannot_send_system_messages_themselves()
    {
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        (await alice.PostAsync("sendMsg", new { to_uid = bob.Uid, appId = "__UNI__TEST", type = "system", body = new { action = "x" } }))
            .AssertError(400, "uni-im-invalid-param");
        (await app.SignedAsync("sendMsg", new { to_uid = bob.Uid, appId = "__UNI__TEST", type = "system", body = new { action = "x" } }, alice.Uid))
            .AssertError(400, "uni-im-invalid-param");
        await AssertNothingSentTo(bob);
    }

    [Test]
    public async Task RevokeUserTokens_ends_every_session_of_the_user()
    {
        var alice = await app.LoginAsync();
        (await alice.PostAsync("getConversationList")).AssertOk();
        (await app.SignedAsync("revokeUserTokens", new { user_id = alice.Uid })).AssertOk();
        (await alice.PostAsync("getConversationList")).AssertError(401, "uni-id-check-token-failed");
        (await app.SignedAsync("revokeUserTokens", new { user_id = "0123456789abcdef01234567" })).AssertError(404, "uni-im-not-found");
    }

    [TestCase(TestApp.JwtSecret, "S2S__Keys__reused", TestName = "An_s2s_key_equal_to_another_secret_stops_the_app_at_start")]
    [TestCase("short", "32 bytes", TestName = "An_s2s_key_shorter_than_32_bytes_stops_the_app_at_start")]
    public async Task A_bad_s2s_key_stops_the_app_at_start(string key, string expected)
    {
        var settings = S2SSigner.Settings;
        settings["S2S:Keys:reused"] = key;
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(async () => await TestApp.StartAsync(settings));
        Assert.That(failure!.Message, Does.Contain(expected));
    }
}
