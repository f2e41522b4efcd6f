using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using ImFunctions.Core.Storage;
using ImFunctions.Core.Telemetry;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ImFunctions.Core.Push;

/// <summary>
/// Takes pushes off the request path. A send has already stored its message when it gets here, so a push that
/// keeps failing is retried until a short deadline, then dropped, logged and counted: clients catch up by seq.
/// </summary>
/// <remarks>
/// Each audience (a user's connections, a group's) has at most one call in flight, so its pushes leave in the order
/// they were queued; whatever queued up behind that call leaves in the next one, as one <c>batch</c> frame
/// (<see cref="PushEvents.Batch"/>). So an audience's rate is no longer capped at one push per round trip, and
/// audiences never wait on each other's calls, only for a free call slot (<see cref="PushDispatchOptions.MaxConcurrentCalls"/>).
/// </remarks>
public sealed class PushDispatcher : IHostedService
{
    public const string MeterName = ImDiagnostics.Name;
    static readonly Counter<long> Delivered = ImDiagnostics.Meter.CreateCounter<long>("im.push.delivered", description: "Pushes the service accepted (each push in a batch counts)");
    static readonly Counter<long> Calls = ImDiagnostics.Meter.CreateCounter<long>("im.push.calls", description: "Push calls made, retries included (a batch is one call)");
    static readonly Counter<long> Failed = ImDiagnostics.Meter.CreateCounter<long>("im.push.failed", description: "Push calls that failed (each is retried or dropped)");
    static readonly Counter<long> Dropped = ImDiagnostics.Meter.CreateCounter<long>("im.push.dropped", description: "Pushes given up: queue full or deadline passed (each push in a batch counts)");
    static readonly Counter<long> Retried = ImDiagnostics.Meter.CreateCounter<long>("im.push.retried", description: "Push calls retried");

    readonly IPushGateway gateway;
    readonly ILogger<PushDispatcher> logger;
    readonly PushDispatchOptions options;
    readonly ConcurrentDictionary<string, Audience> audiences = new(StringComparer.Ordinal);
    readonly SemaphoreSlim callSlots;
    readonly CancellationTokenSource stopping = new();
    int queued;

    public PushDispatcher(IPushGateway gateway, ILogger<PushDispatcher> logger, PushDispatchOptions options)
    {
        this.gateway = gateway;
        this.logger = logger;
        this.options = options;
        callSlots = new SemaphoreSlim(options.MaxConcurrentCalls);
    }

    public void ToUser(string userId, ReadOnlyMemory<byte> json) => Enqueue(AudienceKind.User, userId, json);

    public void ToGroup(string group, ReadOnlyMemory<byte> json) => Enqueue(AudienceKind.Group, group, json);

    void Enqueue(AudienceKind kind, string id, ReadOnlyMemory<byte> json)
    {
        // Counted when handed over, dropped or not: the request log's "pushes" is what a request asked for.
        StoreMeter.RecordPush();
        var key = (kind == AudienceKind.User ? "user:" : "group:") + id;
        if (Interlocked.Increment(ref queued) > options.QueueCapacity)
        {
            Interlocked.Decrement(ref queued);
            Dropped.Add(1);
            logger.LogWarning("Push queue full; dropped a push to {Audience}", key);
            return;
        }
        var push = new QueuedPush(json, DateTimeOffset.UtcNow, Activity.Current?.Context ?? default);
        while (true)
        {
            var audience = audiences.GetOrAdd(key, static (key, a) => new Audience(key, a.kind, a.id), (kind, id));
            lock (audience)
            {
                // A sender that found its audience idle has retired it; the next push starts a fresh one.
                if (audience.Retired) continue;
                audience.Waiting.Enqueue(push);
                if (audience.Sending) return;
                audience.Sending = true;
            }
            // Never on the request's thread: the call must not hold up the answer.
            audience.Sender = Task.Run(() => SendWhileWaitingAsync(audience));
            return;
        }
    }

    async Task SendWhileWaitingAsync(Audience audience)
    {
        while (true)
        {
            List<QueuedPush> batch;
            lock (audience)
            {
                if (audience.Waiting.Count == 0 || stopping.IsCancellationRequested)
                {
                    Interlocked.Add(ref queued, -audience.Waiting.Count);   // abandoned at shutdown
                    audience.Waiting.Clear();
                    audience.Retired = true;
                    audiences.TryRemove(KeyValuePair.Create(audience.Key, audience));
                    return;
                }
                batch = TakeBatch(audience.Waiting);
            }
            try { await DeliverAsync(audience, batch); }
            catch (Exception) when (stopping.IsCancellationRequested) { }
            finally { Interlocked.Add(ref queued, -batch.Count); }
        }
    }

    /// <summary>The oldest waiting push and as many after it as fit one batch frame.</summary>
    static List<QueuedPush> TakeBatch(Queue<QueuedPush> waiting)
    {
        var first = waiting.Dequeue();
        var batch = new List<QueuedPush> { first };
        var bytes = first.Json.Length;
        while (batch.Count < PushEvents.MaxBatchEvents && waiting.TryPeek(out var next)
               && PushEvents.BatchLength(batch.Count + 1, bytes + next.Json.Length) <= PushEvents.MaxBatchBytes)
        {
            batch.Add(waiting.Dequeue());
            bytes += next.Json.Length;
        }
        return batch;
    }

    async Task DeliverAsync(Audience audience, List<QueuedPush> batch)
    {
        // A lone push goes out as it was queued: a quiet system's frames are unchanged.
        var json = batch.Count == 1 ? batch[0].Json : PushEvents.Batch(batch.ConvertAll(p => p.Json));
        // A dependency span under the request that queued the first push (linked to the others'), though it ends after
        // that request has answered.
        var links = batch.Count > 1 && ImDiagnostics.Source.HasListeners()
            ? batch.Skip(1).Where(p => p.Parent != default).Select(p => new ActivityLink(p.Parent)).ToList()
            : null;
        using var span = ImDiagnostics.Source.StartActivity("push " + audience.KindName, ActivityKind.Client, batch[0].Parent, links: links);
        span?.SetTag("imf.push.audience", audience.KindName).SetTag("imf.push.count", batch.Count);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stopping.Token);
        deadline.CancelAfter(options.Deadline);
        var delay = options.FirstRetryDelay;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await callSlots.WaitAsync(deadline.Token);
                try
                {
                    Calls.Add(1);
                    await (audience.Kind == AudienceKind.User
                        ? gateway.SendToUserAsync(audience.Id, json, deadline.Token)
                        : gateway.SendToGroupAsync(audience.Id, json, deadline.Token));
                }
                finally { callSlots.Release(); }
                Delivered.Add(batch.Count);
                span?.SetTag("imf.push.attempts", attempt).SetTag("imf.push.outcome", "delivered");
                return;
            }
            catch (Exception ex) when (!stopping.IsCancellationRequested)
            {
                Failed.Add(1);
                span?.AddEvent(new ActivityEvent("push.failed", tags: new ActivityTagsCollection { ["error.type"] = ex.GetType().Name }));
                // The oldest push in the call sets the deadline for all of them.
                if (deadline.IsCancellationRequested || DateTimeOffset.UtcNow + delay > batch[0].QueuedAt + options.Deadline)
                {
                    Dropped.Add(batch.Count);
                    span?.SetTag("imf.push.attempts", attempt).SetTag("imf.push.outcome", "dropped").SetStatus(ActivityStatusCode.Error);
                    logger.LogWarning("{Count} push(es) to {Audience} dropped after {Attempts} attempts: {Error}",
                        batch.Count, audience.Key, attempt, ex.GetType().Name + ": " + ex.Message);
                    return;
                }
                Retried.Add(1);
                try { await Task.Delay(delay, deadline.Token); } catch (OperationCanceledException) { }
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, options.MaxRetryDelay.Ticks));
            }
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Stops retrying and abandons what is still queued (it is stored; clients catch up by seq).</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await stopping.CancelAsync();
        try { await Task.WhenAll(audiences.Values.Select(a => a.Sender)).WaitAsync(cancellationToken); }
        catch (OperationCanceledException) { }
    }

    enum AudienceKind { User, Group }

    /// <summary>One audience's waiting pushes; lives while it has some, guarded by locking it.</summary>
    sealed class Audience(string key, AudienceKind kind, string id)
    {
        public string Key { get; } = key;
        public AudienceKind Kind { get; } = kind;
        public string Id { get; } = id;
        /// <summary>"user" or "group": the audience without its id.</summary>
        public string KindName => Kind == AudienceKind.User ? "user" : "group";
        public Queue<QueuedPush> Waiting { get; } = new();
        public bool Sending { get; set; }
        public bool Retired { get; set; }
        public Task Sender { get; set; } = Task.CompletedTask;
    }

    /// <param name="Parent">The span of the request that queued this push, if any.</param>
    readonly record struct QueuedPush(ReadOnlyMemory<byte> Json, DateTimeOffset QueuedAt, ActivityContext Parent);
}

public sealed class PushDispatchOptions
{
    /// <summary>Push calls in flight at once, across audiences (each audience has at most one).</summary>
    public int MaxConcurrentCalls { get; set; } = 64;
    /// <summary>Pushes waiting across all audiences; beyond this new ones are dropped.</summary>
    public int QueueCapacity { get; set; } = 100_000;
    /// <summary>How long a push may keep retrying after it was queued.</summary>
    public TimeSpan Deadline { get; set; } = TimeSpan.FromSeconds(10);
    public TimeSpan FirstRetryDelay { get; set; } = TimeSpan.FromMilliseconds(100);
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(2);
}
