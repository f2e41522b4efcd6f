using System.Text.Json;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Storage;

namespace ImFunctions.Core.Integrations;

/// <summary>
/// Events go to the store's outbox in the request that made the change (one conditional write, deduplicated by
/// the event id), and from there to the events URL by <see cref="OutboxDelivery"/>, never on the caller's path.
/// </summary>
public sealed class OutboxEvents(IOutboxStore outbox, OutboxSignal signal, TimeProvider clock) : IImEvents
{
    public async Task PublishAsync(string type, string id, object data, CancellationToken ct)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        // from_ip is for uni-im-admin only (docs/privacy.md): a message leaves for the operator's receiver without it.
        if (data is Message { FromIp: not null } message) data = message with { FromIp = null };
        // The body is fixed now, so every delivery attempt posts (and signs) the same bytes.
        var body = JsonSerializer.Serialize(new { id, type, time = now, data }, ImJson.Options);
        await outbox.AddOutboxEventAsync(new OutboxEvent(id, type, now, body, now, 0), ct);
        signal.Wake();
    }
}

/// <summary>Wakes this instance's delivery loop when it publishes, so events leave at once rather than at the next poll.</summary>
public sealed class OutboxSignal
{
    readonly SemaphoreSlim pending = new(0, 1);

    public void Wake()
    {
        try { pending.Release(); }
        catch (SemaphoreFullException) { }   // already awake
    }

    public Task WaitAsync(TimeSpan timeout, CancellationToken ct) => pending.WaitAsync(timeout, ct);
}
