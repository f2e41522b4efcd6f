using System.Net;
using Microsoft.Azure.Cosmos;

namespace ImFunctions.Core.Storage.Cosmos;

/// <summary>
/// The integrations' containers. A nonce is a document whose id is the nonce: the create is the atomic
/// "first one wins", and its ttl removes it once its window has passed. The outbox is one partition (events are
/// deleted once delivered, so it stays small) queried by due time; claims are etag-guarded replaces.
/// </summary>
public sealed partial class CosmosImStore : INonceStore, IOutboxStore
{
    const string OutboxLane = "events";

    Container Nonces => client.GetContainer(options.Database, "nonces");
    Container Outbox => client.GetContainer(options.Database, "outbox");

    static IEnumerable<ContainerProperties> IntegrationsSchema()
    {
        var nonces = Define("nonces", "/id", []);
        nonces.DefaultTimeToLive = -1;
        yield return nonces;
        yield return Define("outbox", "/lane", ["/lane/?", "/due_at/?"]);
    }

    public async Task<bool> TryRememberNonceAsync(string nonce, DateTimeOffset expiresAt, CancellationToken ct)
    {
        var seconds = (int)Math.Clamp(Math.Ceiling((expiresAt - DateTimeOffset.UtcNow).TotalSeconds), 1, int.MaxValue);
        var created = await WriteAsync(Nonces, () => Nonces.CreateItemAsync(new NonceDocument(nonce, seconds), new PartitionKey(nonce),
            cancellationToken: ct), ct, HttpStatusCode.Conflict);
        return created.Status != HttpStatusCode.Conflict;
    }

    public Task AddOutboxEventAsync(OutboxEvent outboxEvent, CancellationToken ct) =>
        // 409: a retried request published the same event id; the first copy stands.
        WriteAsync(Outbox, () => Outbox.CreateItemAsync(OutboxDocument.From(outboxEvent), new PartitionKey(OutboxLane), cancellationToken: ct),
            ct, HttpStatusCode.Conflict);

    public async Task<IReadOnlyList<OutboxEvent>> ListDueOutboxEventsAsync(long now, int limit, CancellationToken ct)
    {
        var due = await QueryAsync<OutboxDocument>(Outbox, OutboxLane, limit,
            "SELECT TOP @limit * FROM c WHERE c.lane = @pk AND c.due_at <= @now ORDER BY c.due_at", ct, ("@limit", limit), ("@now", now));
        return due.Select(d => d.ToEvent()).ToList();
    }

    public async Task<OutboxEvent?> TryReplaceOutboxEventAsync(OutboxEvent outboxEvent, CancellationToken ct)
    {
        var written = await WriteAsync(Outbox, () => Outbox.ReplaceItemAsync(OutboxDocument.From(outboxEvent), outboxEvent.Id,
            new PartitionKey(OutboxLane), new ItemRequestOptions { IfMatchEtag = outboxEvent.ETag }, ct),
            ct, HttpStatusCode.PreconditionFailed, HttpStatusCode.NotFound);
        return written.Response is { } response ? outboxEvent with { ETag = response.ETag } : null;
    }

    public Task DeleteOutboxEventAsync(string id, CancellationToken ct) =>
        WriteAsync(Outbox, () => Outbox.DeleteItemAsync<OutboxDocument>(id, new PartitionKey(OutboxLane), cancellationToken: ct),
            ct, HttpStatusCode.NotFound);

    sealed record NonceDocument(string Id, int Ttl);

    sealed record OutboxDocument(string Id, string Lane, string Type, long CreateTime, string Body, long DueAt, int Attempts,
        [property: System.Text.Json.Serialization.JsonPropertyName("_etag"),
            System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? ETag)
    {
        public static OutboxDocument From(OutboxEvent e) => new(e.Id, OutboxLane, e.Type, e.CreateTime, e.Body, e.DueAt, e.Attempts, null);
        public OutboxEvent ToEvent() => new(Id, Type, CreateTime, Body, DueAt, Attempts, ETag);
    }
}
