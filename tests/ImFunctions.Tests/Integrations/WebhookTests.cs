using System.Text.Json;
using ImFunctions.Tests.Groups;
using ImFunctions.Tests.Support;

namespace ImFunctions.Tests.Integrations;

/// <summary>
/// Webhooks against a real receiver: events leave the durable outbox at least once, signed, whatever the receiver
/// does; the before-send hook can allow, refuse or rewrite a message before anything is written.
/// </summary>
public sealed class WebhookTests
{
    static Dictionary<string, string?> Settings(Uri? eventsUrl = null, Uri? beforeSendUrl = null, bool failOpen = false)
    {
        var settings = new Dictionary<string, string?>(S2SSigner.Settings)
        {
            ["Webhooks:Secret"] = WebhookReceiver.Secret,
            ["Webhooks:EventsUrl"] = eventsUrl?.ToString(),
            ["Webhooks:BeforeSendUrl"] = beforeSendUrl?.ToString(),
            ["Webhooks:BeforeSendFailOpen"] = failOpen ? "true" : "false",
            ["Webhooks:BeforeSendTimeout"] = "00:00:01",
            ["Webhooks:EventsTimeout"] = "00:00:01",
            ["Webhooks:EventsPollInterval"] = "00:00:00.2",
            ["Webhooks:EventsFirstRetryDelay"] = "00:00:00.1",
            ["Webhooks:EventsMaxRetryDelay"] = "00:00:00.5",
        };
        return settings;
    }

    static string EventId(ApiReply sent) => "message.sent:" + sent.Data.GetProperty("_id").GetString();

    [Test]
    public async Task Every_sent_message_reaches_the_events_url_signed_with_an_id_to_dedupe_on()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var app = await TestApp.StartAsync(Settings(eventsUrl: new Uri(receiver.Url, "/events")));
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());

        var sent = (await alice.SendTextAsync(bob.Uid, "hello")).AssertOk();
        await receiver.WaitForAsync(EventId(sent));

        var received = receiver.Events.Single(e => e.GetProperty("id").GetString() == EventId(sent));
        Assert.That(received.GetProperty("type").GetString(), Is.EqualTo("message.sent"));
        Assert.That(received.GetProperty("time").GetInt64(), Is.GreaterThan(0));
        var data = received.GetProperty("data");
        Assert.That((data.GetProperty("from_uid").GetString(), data.GetProperty("to_uid").GetString(), data.GetProperty("body").GetString(), data.GetProperty("seq").GetInt64()),
            Is.EqualTo((alice.Uid, bob.Uid, "hello", 1L)));
        Assert.That(receiver.BadSignatures, Is.EqualTo(0));
    }

    [Test]
    public async Task A_retried_send_publishes_the_same_event_id_not_a_second_event()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var app = await TestApp.StartAsync(Settings(eventsUrl: receiver.Url));
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());

        var first = (await alice.SendTextAsync(bob.Uid, "once", clientMsgId: "c-1")).AssertOk();
        var retry = (await alice.SendTextAsync(bob.Uid, "once", clientMsgId: "c-1")).AssertOk();
        var marker = (await alice.SendTextAsync(bob.Uid, "after")).AssertOk();
        await receiver.WaitForAsync(EventId(first), EventId(marker));

        Assert.That(EventId(retry), Is.EqualTo(EventId(first)));
        Assert.That(receiver.Events.Select(e => e.GetProperty("id").GetString()), Is.EquivalentTo(new[] { EventId(first), EventId(marker) }));
    }

    [Test]
    public async Task Sends_succeed_while_the_receiver_answers_500_and_every_event_arrives_once_it_recovers()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Failing = true;
        await using var app = await TestApp.StartAsync(Settings(eventsUrl: receiver.Url));
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());

        var sent = new List<ApiReply>();
        for (var i = 0; i < 3; i++) sent.Add((await alice.SendTextAsync(bob.Uid, "m" + i)).AssertOk());
        while (Volatile.Read(ref receiver.Calls) < 2) await Task.Delay(50);   // it was really tried, and failed
        Assert.That(receiver.Events, Is.Empty);

        receiver.Failing = false;
        await receiver.WaitForAsync(sent.Select(EventId).ToArray());
        Assert.That(receiver.Events.Select(e => e.GetProperty("id").GetString()), Is.EquivalentTo(sent.Select(EventId)));
    }

    [Test]
    public async Task A_slow_receiver_never_holds_up_a_send()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Hold();   // every call waits until released: far past the events timeout
        await using var app = await TestApp.StartAsync(Settings(eventsUrl: receiver.Url));
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());

        var first = (await alice.SendTextAsync(bob.Uid, "one")).AssertOk();
        while (Volatile.Read(ref receiver.Calls) < 1) await Task.Delay(50);   // the delivery is stuck in the receiver now
        var second = (await alice.SendTextAsync(bob.Uid, "two")).AssertOk();   // and the send still answers

        receiver.Release();
        await receiver.WaitForAsync(EventId(first), EventId(second));
    }

    [Test]
    public async Task Events_survive_a_restart_while_the_receiver_is_down()
    {
        var port = WebhookReceiver.FreePort();   // nobody listens here yet: connections are refused
        var url = new Uri($"http://127.0.0.1:{port}/events");
        var first = await TestApp.StartAsync(Settings(eventsUrl: url));
        first.KeepDataOnDispose = true;
        var (alice, bob) = (await first.LoginAsync(), await first.LoginAsync());
        var sent = new List<ApiReply>();
        for (var i = 0; i < 3; i++) sent.Add((await alice.SendTextAsync(bob.Uid, "m" + i)).AssertOk());
        await first.DisposeAsync();

        await using var receiver = await WebhookReceiver.StartAsync(port);
        await using var restarted = await TestApp.StartAsync(Settings(eventsUrl: url), first.DataDirectory);
        await receiver.WaitForAsync(sent.Select(EventId).ToArray());
        Assert.That(receiver.Events.Select(e => e.GetProperty("id").GetString()), Is.EquivalentTo(sent.Select(EventId)));
    }

    [Test]
    public async Task A_before_send_hook_rejection_reaches_the_sender_as_403_and_nothing_is_stored()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.BeforeSend = data => data.GetProperty("body").GetString()!.Contains("spam")
            ? new { action = "reject", reason = "No spam here." }
            : new { action = "allow" };
        await using var app = await TestApp.StartAsync(Settings(beforeSendUrl: receiver.Url));
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());

        var refused = await alice.SendTextAsync(bob.Uid, "buy spam");
        refused.AssertError(403, "uni-im-no-permission");
        Assert.That(refused.Body.GetProperty("errMsg").GetString(), Is.EqualTo("No spam here."));
        Assert.That((await bob.PostAsync("getConversationList")).AssertOk().Data.GetArrayLength(), Is.EqualTo(0));

        (await alice.SendTextAsync(bob.Uid, "hello")).AssertOk();
    }

    [Test]
    public async Task A_before_send_hook_can_rewrite_the_body_and_a_bad_rewrite_is_refused()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.BeforeSend = data => data.GetProperty("body").GetString() == "break"
            ? new { action = "rewrite", body = (object)12 }
            : new { action = "rewrite", body = (object)data.GetProperty("body").GetString()!.Replace("darn", "****") };
        await using var app = await TestApp.StartAsync(Settings(beforeSendUrl: receiver.Url));
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());

        var sent = (await alice.SendTextAsync(bob.Uid, "oh darn")).AssertOk();
        (await alice.SendTextAsync(bob.Uid, "break")).AssertError(400, "uni-im-invalid-param");

        var history = (await bob.PostAsync("getMsgList", new { conversation_id = sent.Data.GetProperty("conversation_id").GetString() })).AssertOk().Data;
        Assert.That(history.EnumerateArray().Select(m => m.GetProperty("body").GetString()), Is.EqualTo(new[] { "oh ****" }));
    }

    [Test]
    public async Task A_group_message_goes_through_the_same_hook_and_reaches_the_events_url_without_the_senders_address()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.BeforeSend = data => data.GetProperty("body").GetString()!.Contains("spam")
            ? new { action = "reject", reason = "No spam here." }
            : new { action = "rewrite", body = (object)data.GetProperty("body").GetString()!.Replace("darn", "****") };
        var settings = Settings(eventsUrl: new Uri(receiver.Url, "/events"), beforeSendUrl: receiver.Url);
        settings["UniIm:RecordIp"] = "true";
        await using var app = await TestApp.StartAsync(settings);
        var (owner, bob) = (await app.LoginAsync(), await app.LoginAsync());
        var groupId = await owner.CreateGroupAsync(bob);
        var headBefore = (await bob.HistoryAsync(groupId)).Length;

        var refused = await owner.SayAsync(groupId, "buy spam");
        refused.AssertError(403, "uni-im-no-permission");
        Assert.That(refused.Body.GetProperty("errMsg").GetString(), Is.EqualTo("No spam here."));
        Assert.That(await bob.HistoryAsync(groupId), Has.Length.EqualTo(headBefore), "a refused group send stores nothing");

        var sent = (await owner.SayAsync(groupId, "oh darn")).AssertOk();
        Assert.That((await bob.HistoryAsync(groupId)).Last().GetProperty("body").GetString(), Is.EqualTo("oh ****"));
        await receiver.WaitForAsync(EventId(sent));
        var data = receiver.Events.Single(e => e.GetProperty("id").GetString() == EventId(sent)).GetProperty("data");
        Assert.That((data.GetProperty("group_id").GetString(), data.GetProperty("body").GetString()), Is.EqualTo((groupId, "oh ****")));
        Assert.That(data.TryGetProperty("from_ip", out _), Is.False, "the sender's address never leaves the store");
    }

    [TestCase(false, TestName = "A_before_send_hook_that_is_down_refuses_sends_with_503_when_fail_closed")]
    [TestCase(true, TestName = "A_before_send_hook_that_is_down_lets_sends_through_when_fail_open")]
    public async Task A_before_send_hook_that_is_down(bool failOpen)
    {
        var down = new Uri($"http://127.0.0.1:{WebhookReceiver.FreePort()}/before-send");
        await using var app = await TestApp.StartAsync(Settings(beforeSendUrl: down, failOpen: failOpen));
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());

        var reply = await alice.SendTextAsync(bob.Uid, "anyone there?");
        if (failOpen) reply.AssertOk();
        else
        {
            reply.AssertError(503, "uni-im-unavailable");
            Assert.That((await bob.PostAsync("getConversationList")).AssertOk().Data.GetArrayLength(), Is.EqualTo(0));
        }
    }

    [Test]
    public async Task An_events_url_without_a_secret_stops_the_app_at_start()
    {
        var settings = Settings(eventsUrl: new Uri("http://127.0.0.1:9/"));
        settings["Webhooks:Secret"] = null;
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(async () => await TestApp.StartAsync(settings));
        Assert.That(failure!.Message, Does.Contain("Webhooks__Secret"));
    }
}
