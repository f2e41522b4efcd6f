using System.Diagnostics.Metrics;
using ImFunctions.Core.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ImFunctions.Core.Integrations;

/// <summary>
/// Drains the outbox to <c>Webhooks:EventsUrl</c>: at least once, with exponential backoff per event. An instance
/// claims an event (an etag-guarded write that moves its due time past a lease) before posting it, so instances
/// rarely post the same event twice; a crash between the post and the delete can repeat it: receivers dedupe by id.
/// </summary>
public sealed class OutboxDelivery(IOutboxStore outbox, OutboxSignal signal, WebhookSigner signer, WebhookOptions options,
    IHttpClientFactory httpClients, TimeProvider clock, ILogger<OutboxDelivery> logger) : BackgroundService
{
    public const string HttpClientName = "webhooks";
    const int BatchSize = 50;
    static readonly Meter Meter = new("ImFunctions.Webhooks");
    static readonly Counter<long> Delivered = Meter.CreateCounter<long>("im.webhooks.delivered");
    static readonly Counter<long> Failed = Meter.CreateCounter<long>("im.webhooks.failed_attempts");
    static readonly Counter<long> Dropped = Meter.CreateCounter<long>("im.webhooks.dropped");

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var full = false;
            try { full = await DeliverDueAsync(stoppingToken) == BatchSize; }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { return; }
            catch (Exception e) { logger.LogWarning(e, "Webhook outbox: reading the outbox failed; trying again later"); }
            if (!full) await signal.WaitAsync(options.EventsPollInterval, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    /// <summary>One pass over the due events, in due order; returns how many were due.</summary>
    internal async Task<int> DeliverDueAsync(CancellationToken ct)
    {
        var due = await outbox.ListDueOutboxEventsAsync(clock.GetUtcNow().ToUnixTimeMilliseconds(), BatchSize, ct);
        foreach (var item in due) await DeliverAsync(item, ct);
        return due.Count;
    }

    async Task DeliverAsync(OutboxEvent item, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        if (now.ToUnixTimeMilliseconds() - item.CreateTime > options.EventsMaxAge.TotalMilliseconds)
        {
            logger.LogError("Webhook outbox: dropping event {EventId} ({Type}) after {Attempts} attempts: older than Webhooks:EventsMaxAge",
                item.Id, item.Type, item.Attempts);
            Dropped.Add(1);
            await outbox.DeleteOutboxEventAsync(item.Id, ct);
            return;
        }
        var claimed = await outbox.TryReplaceOutboxEventAsync(
            item with { DueAt = (now + options.EventsLease).ToUnixTimeMilliseconds(), Attempts = item.Attempts + 1 }, ct);
        if (claimed is null) return;   // another instance has it

        string? failure;
        try
        {
            using var request = signer.CreateRequest(options.EventsUrl!, claimed.Id, claimed.Body);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(options.EventsTimeout);
            using var response = await httpClients.CreateClient(HttpClientName).SendAsync(request, timeout.Token);
            failure = response.IsSuccessStatusCode ? null : $"HTTP {(int)response.StatusCode}";
        }
        catch (Exception e) when (e is HttpRequestException || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            failure = e is OperationCanceledException ? "timeout" : e.Message;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Shutting down mid-attempt: hand the event back now rather than leave it leased to a process that is going away.
            await outbox.TryReplaceOutboxEventAsync(claimed with { DueAt = now.ToUnixTimeMilliseconds() }, CancellationToken.None);
            throw;
        }

        // What the attempt decided is written even when shutdown began meanwhile (a quick local write): cancelled, it
        // would leave a delivered event to be posted again, or a failed one leased for EventsLease after a restart.
        if (failure is null)
        {
            Delivered.Add(1);
            await outbox.DeleteOutboxEventAsync(claimed.Id, CancellationToken.None);
            return;
        }
        Failed.Add(1);
        var delay = Backoff(claimed.Attempts);
        logger.LogWarning("Webhook outbox: event {EventId} attempt {Attempt} failed ({Failure}); next try in {Delay}",
            claimed.Id, claimed.Attempts, failure, delay);
        await outbox.TryReplaceOutboxEventAsync(claimed with { DueAt = (clock.GetUtcNow() + delay).ToUnixTimeMilliseconds() },
            CancellationToken.None);
    }

    /// <summary>First retry delay doubled per failed attempt, capped, with up to 20% jitter so instances do not retry in step.</summary>
    TimeSpan Backoff(int attempts)
    {
        var exponent = Math.Min(attempts - 1, 30);
        var delay = Math.Min(options.EventsFirstRetryDelay.TotalMilliseconds * Math.Pow(2, exponent), options.EventsMaxRetryDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(delay * (1 + Random.Shared.NextDouble() * 0.2));
    }
}
