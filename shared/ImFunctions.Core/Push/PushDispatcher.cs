using System.Diagnostics;
using System.Diagnostics.Metrics;
using ImFunctions.Core.Storage;
using ImFunctions.Core.Telemetry;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ImFunctions.Core.Push;

/// <summary>
/// Takes pushes off the request path. A send has already stored its message when it gets here, so a push that
/// keeps failing is retried until a short deadline, then dropped, logged and counted: clients catch up by seq.
/// Pushes to one audience go through one worker, so they leave in the order they were queued.
/// </summary>
public sealed class PushDispatcher : BackgroundService
{
    public const string MeterName = ImDiagnostics.Name;
    static readonly Counter<long> Delivered = ImDiagnostics.Meter.CreateCounter<long>("im.push.delivered", description: "Push calls the service accepted");
    static readonly Counter<long> Failed = ImDiagnostics.Meter.CreateCounter<long>("im.push.failed", description: "Push attempts that failed (each is retried or dropped)");
    static readonly Counter<long> Dropped = ImDiagnostics.Meter.CreateCounter<long>("im.push.dropped", description: "Pushes given up: queue full or deadline passed");
    static readonly Counter<long> Retried = ImDiagnostics.Meter.CreateCounter<long>("im.push.retried");

    readonly IPushGateway gateway;
    readonly ILogger<PushDispatcher> logger;
    readonly PushDispatchOptions options;
    readonly Channel<PushJob>[] lanes;

    public PushDispatcher(IPushGateway gateway, ILogger<PushDispatcher> logger, PushDispatchOptions options)
    {
        this.gateway = gateway;
        this.logger = logger;
        this.options = options;
        lanes = Enumerable.Range(0, options.Lanes)
            .Select(_ => Channel.CreateBounded<PushJob>(new BoundedChannelOptions(options.QueueCapacity)
            {
                SingleReader = true,
                FullMode = BoundedChannelFullMode.DropWrite,
            }))
            .ToArray();
    }

    public void ToUser(string userId, ReadOnlyMemory<byte> json) =>
        Enqueue(new PushJob("user:" + userId, (g, ct) => g.SendToUserAsync(userId, json, ct)));

    public void ToGroup(string group, ReadOnlyMemory<byte> json) =>
        Enqueue(new PushJob("group:" + group, (g, ct) => g.SendToGroupAsync(group, json, ct)));

    void Enqueue(PushJob job)
    {
        // Counted when handed over, dropped or not: the request log's "pushes" is what a request asked for.
        StoreMeter.RecordPush();
        var lane = lanes[(int)((uint)StringComparer.Ordinal.GetHashCode(job.Audience) % (uint)lanes.Length)];
        if (!lane.Writer.TryWrite(job))
        {
            Dropped.Add(1);
            logger.LogWarning("Push queue full; dropped a push to {Audience}", job.Audience);
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(lanes.Select(lane => Task.Run(() => DrainAsync(lane.Reader, stoppingToken), CancellationToken.None)));

    async Task DrainAsync(ChannelReader<PushJob> reader, CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var job in reader.ReadAllAsync(stoppingToken))
                await DeliverAsync(job, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
    }

    async Task DeliverAsync(PushJob job, CancellationToken stoppingToken)
    {
        // A dependency span under the request that queued the push, though it ends after that request has answered.
        using var span = ImDiagnostics.Source.StartActivity("push " + job.Kind, ActivityKind.Client, job.Parent);
        span?.SetTag("imf.push.audience", job.Kind);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        deadline.CancelAfter(options.Deadline);
        var delay = options.FirstRetryDelay;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await job.Send(gateway, deadline.Token);
                Delivered.Add(1);
                span?.SetTag("imf.push.attempts", attempt).SetTag("imf.push.outcome", "delivered");
                return;
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                Failed.Add(1);
                span?.AddEvent(new ActivityEvent("push.failed", tags: new ActivityTagsCollection { ["error.type"] = ex.GetType().Name }));
                if (deadline.IsCancellationRequested || DateTimeOffset.UtcNow + delay > job.QueuedAt + options.Deadline)
                {
                    Dropped.Add(1);
                    span?.SetTag("imf.push.attempts", attempt).SetTag("imf.push.outcome", "dropped").SetStatus(ActivityStatusCode.Error);
                    logger.LogWarning("Push to {Audience} dropped after {Attempts} attempts: {Error}",
                        job.Audience, attempt, ex.GetType().Name + ": " + ex.Message);
                    return;
                }
                Retried.Add(1);
                try { await Task.Delay(delay, deadline.Token); } catch (OperationCanceledException) { }
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, options.MaxRetryDelay.Ticks));
            }
        }
    }

    sealed record PushJob(string Audience, Func<IPushGateway, CancellationToken, Task> Send)
    {
        public DateTimeOffset QueuedAt { get; } = DateTimeOffset.UtcNow;
        /// <summary>The span of the request that queued this push, if any.</summary>
        public ActivityContext Parent { get; } = Activity.Current?.Context ?? default;
        /// <summary>"user" or "group": the audience without its id.</summary>
        public string Kind => Audience[..Audience.IndexOf(':')];
    }
}

public sealed class PushDispatchOptions
{
    /// <summary>Parallel workers; one audience always maps to the same one.</summary>
    public int Lanes { get; set; } = 16;
    public int QueueCapacity { get; set; } = 10_000;
    /// <summary>How long a push may keep retrying after it was queued.</summary>
    public TimeSpan Deadline { get; set; } = TimeSpan.FromSeconds(10);
    public TimeSpan FirstRetryDelay { get; set; } = TimeSpan.FromMilliseconds(100);
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(2);
}
