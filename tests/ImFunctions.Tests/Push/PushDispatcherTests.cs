using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using ImFunctions.Core.Push;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImFunctions.Tests.Push;

// The dispatcher against a gateway whose calls finish only when the test says so: what queues up behind a call in
// flight, and who waits for whom, is decided by the test, not by timing.
[TestFixture]
public class PushDispatcherTests
{
    static ReadOnlyMemory<byte> Payload(int n, int padding = 0) =>
        Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { type = "im", @event = "msg", data = new { seq = n, body = new string('x', padding) } }));

    static PushDispatcher Dispatcher(IPushGateway gateway, PushDispatchOptions? options = null) =>
        new(gateway, NullLogger<PushDispatcher>.Instance, options ?? new PushDispatchOptions());

    /// <summary>The seqs a frame carries: one for a lone push, each event's in order for a batch.</summary>
    static long[] Seqs(string frame)
    {
        var root = JsonDocument.Parse(frame).RootElement;
        Assert.That(root.GetProperty("type").GetString(), Is.EqualTo("im"));
        return root.GetProperty("event").GetString() == "batch"
            ? root.GetProperty("data").EnumerateArray().Select(e => e.GetProperty("data").GetProperty("seq").GetInt64()).ToArray()
            : [root.GetProperty("data").GetProperty("seq").GetInt64()];
    }

    [Test]
    public async Task Pushes_queued_behind_a_call_in_flight_leave_in_one_batch_frame_in_order()
    {
        var gateway = new HeldPushGateway();
        var dispatcher = Dispatcher(gateway);

        dispatcher.ToUser("bob", Payload(1));
        var first = await gateway.NextCallAsync();
        for (var n = 2; n <= 50; n++) dispatcher.ToUser("bob", Payload(n));
        first.Finish();
        var second = await gateway.NextCallAsync();
        second.Finish();

        // A lone push is sent exactly as queued, no wrapper.
        Assert.That(first.Json, Is.EqualTo(Encoding.UTF8.GetString(Payload(1).Span)));
        Assert.That(second.Audience, Is.EqualTo("user:bob"));
        Assert.That(second.Json, Does.StartWith("""{"type":"im","event":"batch","data":[{"""));
        Assert.That(Seqs(second.Json), Is.EqualTo(Enumerable.Range(2, 49).Select(n => (long)n)));
        // The events are the queued bytes, copied as they were.
        var events = JsonDocument.Parse(second.Json).RootElement.GetProperty("data").EnumerateArray().Select(e => e.GetRawText());
        Assert.That(events, Is.EqualTo(Enumerable.Range(2, 49).Select(n => Encoding.UTF8.GetString(Payload(n).Span))));
        Assert.That(await gateway.IsQuietAsync(TimeSpan.FromMilliseconds(200)), Is.True, "50 pushes, 2 calls");
    }

    [TestCase(0, Description = "small pushes: 100 per frame")]
    [TestCase(9_000, Description = "9 KB pushes: as many as fit 64 KiB")]
    public async Task A_batch_frame_holds_at_most_100_pushes_and_64_KiB_and_nothing_is_lost_or_reordered(int padding)
    {
        var gateway = new HeldPushGateway();
        var dispatcher = Dispatcher(gateway);

        dispatcher.ToGroup("group_g1", Payload(1, padding));
        var held = await gateway.NextCallAsync();
        for (var n = 2; n <= 250; n++) dispatcher.ToGroup("group_g1", Payload(n, padding));
        held.Finish();
        var frames = new List<string> { held.Json };
        while (frames.Sum(f => Seqs(f).Length) < 250)
        {
            var call = await gateway.NextCallAsync();
            call.Finish();
            frames.Add(call.Json);
        }

        Assert.That(frames.SelectMany(Seqs), Is.EqualTo(Enumerable.Range(1, 250).Select(n => (long)n)));
        Assert.That(frames.Select(f => Seqs(f).Length), Has.All.LessThanOrEqualTo(PushEvents.MaxBatchEvents));
        Assert.That(frames.Select(f => Encoding.UTF8.GetByteCount(f)), Has.All.LessThanOrEqualTo(PushEvents.MaxBatchBytes));
        Assert.That(frames.Count, Is.LessThan(padding == 0 ? 5 : 50));
        TestContext.Out.WriteLine($"250 pushes of {Payload(1, padding).Length} bytes: {frames.Count} calls");
    }

    [Test]
    public async Task An_audience_whose_call_hangs_does_not_hold_up_other_audiences()
    {
        var gateway = new HeldPushGateway();
        var dispatcher = Dispatcher(gateway);

        dispatcher.ToUser("slow", Payload(1));
        var hanging = await gateway.NextCallAsync();
        dispatcher.ToUser("slow", Payload(2));
        var others = new List<string>();
        for (var i = 0; i < 40; i++) dispatcher.ToUser("other" + i, Payload(1));
        for (var i = 0; i < 40; i++)
        {
            var call = await gateway.NextCallAsync();
            call.Finish();
            others.Add(call.Audience);
        }

        Assert.That(others, Is.EquivalentTo(Enumerable.Range(0, 40).Select(i => "user:other" + i)));
        Assert.That(hanging.Task.IsCompleted, Is.False, "the slow audience's first call is still in flight");
        // And the slow audience's own order holds: its second push waits for its first call.
        Assert.That(await gateway.IsQuietAsync(TimeSpan.FromMilliseconds(200)), Is.True);
        hanging.Finish();
        var next = await gateway.NextCallAsync();
        Assert.That((next.Audience, Seqs(next.Json).Single()), Is.EqualTo(("user:slow", 2L)));
        next.Finish();
    }

    [Test]
    public async Task A_failed_batch_is_retried_whole_and_counted_per_push()
    {
        using var metrics = new PushMetrics();
        var gateway = new HeldPushGateway();
        var dispatcher = Dispatcher(gateway, new PushDispatchOptions { FirstRetryDelay = TimeSpan.FromMilliseconds(10) });

        dispatcher.ToUser("carol", Payload(1));
        var first = await gateway.NextCallAsync();
        for (var n = 2; n <= 20; n++) dispatcher.ToUser("carol", Payload(n));
        first.Finish();
        var failing = await gateway.NextCallAsync();
        failing.Fail(new HttpRequestException("503"));
        var retry = await gateway.NextCallAsync();
        retry.Finish();

        Assert.That(retry.Json, Is.EqualTo(failing.Json));
        Assert.That(Seqs(retry.Json), Is.EqualTo(Enumerable.Range(2, 19).Select(n => (long)n)));
        await LocalHubRestTests.WaitUntil(() => Task.FromResult(metrics.Delivered >= 20));
        Assert.That(metrics.Delivered, Is.EqualTo(20), "each push in the batch counts once");
        Assert.That(metrics.Retried, Is.EqualTo(1), "one call was retried");
        Assert.That(metrics.Dropped, Is.Zero);
    }

    [Test]
    public async Task A_batch_past_its_deadline_is_dropped_whole_and_later_pushes_still_go()
    {
        using var metrics = new PushMetrics();
        var gateway = new HeldPushGateway();
        var dispatcher = Dispatcher(gateway, new PushDispatchOptions
        {
            Deadline = TimeSpan.FromMilliseconds(300),
            FirstRetryDelay = TimeSpan.FromMilliseconds(20),
        });

        dispatcher.ToUser("dave", Payload(1));
        var first = await gateway.NextCallAsync();
        for (var n = 2; n <= 10; n++) dispatcher.ToUser("dave", Payload(n));
        first.Finish();
        // Every attempt at the batch of 2..10 fails until its deadline.
        while (metrics.Dropped < 9)
        {
            var call = await gateway.NextCallAsync(TimeSpan.FromSeconds(5));
            Assert.That(Seqs(call.Json), Is.EqualTo(Enumerable.Range(2, 9).Select(n => (long)n)));
            call.Fail(new HttpRequestException("500"));
            await LocalHubRestTests.WaitUntil(() => Task.FromResult(metrics.Dropped >= 9 || gateway.HasWaitingCall), TimeSpan.FromSeconds(5));
        }
        dispatcher.ToUser("dave", Payload(11));
        var after = await gateway.NextCallAsync();
        after.Finish();

        Assert.That(metrics.Dropped, Is.EqualTo(9));
        Assert.That(metrics.Retried, Is.GreaterThan(0));
        Assert.That(Seqs(after.Json), Is.EqualTo(new[] { 11L }));
    }

    [Test]
    public async Task A_full_queue_drops_new_pushes_and_counts_them()
    {
        using var metrics = new PushMetrics();
        var gateway = new HeldPushGateway();
        var dispatcher = Dispatcher(gateway, new PushDispatchOptions { QueueCapacity = 5 });

        // Nothing finishes while the 8 are queued: 5 are waiting or in flight when the last 3 come.
        for (var n = 1; n <= 8; n++) dispatcher.ToUser("erin", Payload(n));
        var sent = new List<long>();
        while (sent.Count < 5)
        {
            var call = await gateway.NextCallAsync();
            call.Finish();
            sent.AddRange(Seqs(call.Json));
        }

        Assert.That(sent, Is.EqualTo(new long[] { 1, 2, 3, 4, 5 }));
        Assert.That(metrics.Dropped, Is.EqualTo(3));
        Assert.That(await gateway.IsQuietAsync(TimeSpan.FromMilliseconds(200)), Is.True);
    }

    /// <summary>A push gateway whose send calls wait until the test finishes or fails them.</summary>
    sealed class HeldPushGateway : IPushGateway
    {
        readonly Channel<Call> calls = Channel.CreateUnbounded<Call>();

        public bool HasWaitingCall => calls.Reader.Count > 0;

        public async Task<Call> NextCallAsync(TimeSpan? timeout = null)
        {
            using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
            return await calls.Reader.ReadAsync(cts.Token);
        }

        public async Task<bool> IsQuietAsync(TimeSpan wait)
        {
            using var cts = new CancellationTokenSource(wait);
            try { return !await calls.Reader.WaitToReadAsync(cts.Token); }
            catch (OperationCanceledException) { return true; }
        }

        public Task SendToUserAsync(string userId, ReadOnlyMemory<byte> json, CancellationToken ct) => Hold("user:" + userId, json, ct);
        public Task SendToGroupAsync(string group, ReadOnlyMemory<byte> json, CancellationToken ct) => Hold("group:" + group, json, ct);

        Task Hold(string audience, ReadOnlyMemory<byte> json, CancellationToken ct)
        {
            var call = new Call(audience, Encoding.UTF8.GetString(json.Span));
            calls.Writer.TryWrite(call);
            return call.Task.WaitAsync(ct);
        }

        public Task AddUserToGroupAsync(string userId, string group, CancellationToken ct) => Task.CompletedTask;
        public Task RemoveUserFromGroupAsync(string userId, string group, CancellationToken ct) => Task.CompletedTask;
        public Task RemoveUserFromAllGroupsAsync(string userId, CancellationToken ct) => Task.CompletedTask;
        public Task CloseUserConnectionsAsync(string userId, string? reason, CancellationToken ct) => Task.CompletedTask;
        public Task<bool> UserExistsAsync(string userId, CancellationToken ct) => Task.FromResult(false);
        public Task<ClientAccess> GetClientAccessAsync(string userId, TimeSpan lifetime, CancellationToken ct) => throw new NotSupportedException();

        public sealed class Call(string audience, string json)
        {
            readonly TaskCompletionSource done = new(TaskCreationOptions.RunContinuationsAsynchronously);
            public string Audience { get; } = audience;
            public string Json { get; } = json;
            public Task Task => done.Task;
            public void Finish() => done.SetResult();
            public void Fail(Exception e) => done.SetException(e);
        }
    }
}
