namespace ImFunctions.Core.Storage;

/// <summary>
/// The webhook outbox: events waiting to reach the operator's events URL. Written by the request that made the
/// change, drained by a background service; an event stays until it is delivered, across restarts.
/// </summary>
public interface IOutboxStore
{
    /// <summary>Adds the event unless one with its id is there already (a retried request publishes the same id).</summary>
    Task AddOutboxEventAsync(OutboxEvent outboxEvent, CancellationToken ct);

    /// <summary>Events whose <see cref="OutboxEvent.DueAt"/> has come, oldest due first.</summary>
    Task<IReadOnlyList<OutboxEvent>> ListDueOutboxEventsAsync(long now, int limit, CancellationToken ct);

    /// <summary>
    /// Replaces the event if it is unchanged since it was read (its ETag): how an instance claims an event for a
    /// delivery attempt or schedules the next one. Null when another instance changed it first.
    /// </summary>
    Task<OutboxEvent?> TryReplaceOutboxEventAsync(OutboxEvent outboxEvent, CancellationToken ct);

    /// <summary>Removes a delivered event.</summary>
    Task DeleteOutboxEventAsync(string id, CancellationToken ct);
}

/// <param name="Id">What receivers dedupe on, e.g. <c>message.sent:&lt;message id&gt;</c>.</param>
/// <param name="Body">The exact JSON posted: <c>{id, type, time, data}</c>; signed as stored.</param>
/// <param name="DueAt">Epoch ms of the next attempt (or the end of the current attempt's lease).</param>
/// <param name="ETag">The store's concurrency token; never serialized into the body.</param>
public sealed record OutboxEvent(string Id, string Type, long CreateTime, string Body, long DueAt, int Attempts,
    [property: System.Text.Json.Serialization.JsonIgnore] string? ETag = null);
