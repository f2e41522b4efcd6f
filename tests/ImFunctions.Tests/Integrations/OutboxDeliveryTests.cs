using ImFunctions.Core.Integrations;
using ImFunctions.Core.Storage;
using ImFunctions.Core.Storage.Sqlite;
using ImFunctions.Tests.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImFunctions.Tests.Integrations;

/// <summary>The outbox delivery loop against the real SQLite store, with the webhook's HTTP side played by a handler.</summary>
public sealed class OutboxDeliveryTests
{
    readonly SqliteStoreFactory stores = new();

    [TearDown]
    public Task RemoveStores() => stores.DisposeAsync();

    [Test]
    public async Task An_attempt_that_fails_as_shutdown_begins_still_schedules_the_retry_instead_of_leaving_the_event_leased()
    {
        using var store = (SqliteImStore)await stores.CreateAsync();
        var options = new WebhookOptions { Secret = "s3cret-for-tests-only", EventsUrl = "http://127.0.0.1:9/events" };
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await store.AddOutboxEventAsync(new OutboxEvent("evt-1", "message.sent", now, "{}", now, 0), default);
        using var shutdown = new CancellationTokenSource();
        // The receiver answers 503, and the host starts stopping before the retry is scheduled (the claim is the
        // attempt's first replace, the retry its second).
        var http = new Handler(() => new HttpResponseMessage(System.Net.HttpStatusCode.ServiceUnavailable));
        var outbox = new StopsBeforeReplace(store, replace: 2, shutdown);
        var delivery = new OutboxDelivery(outbox, new OutboxSignal(), new WebhookSigner(options, TimeProvider.System), options,
            new Clients(http), TimeProvider.System, NullLogger<OutboxDelivery>.Instance);

        await delivery.DeliverDueAsync(shutdown.Token);

        var soon = DateTimeOffset.UtcNow.AddSeconds(5).ToUnixTimeMilliseconds();
        var due = await store.ListDueOutboxEventsAsync(soon, 10, default);
        Assert.That(due.Select(e => (e.Id, e.Attempts)), Is.EqualTo(new[] { ("evt-1", 1) }),
            "due again after the first retry delay, not after the 60 s lease of the attempt");
    }

    sealed class StopsBeforeReplace(IOutboxStore inner, int replace, CancellationTokenSource shutdown) : IOutboxStore
    {
        int replaces;
        public Task AddOutboxEventAsync(OutboxEvent e, CancellationToken ct) => inner.AddOutboxEventAsync(e, ct);
        public Task<IReadOnlyList<OutboxEvent>> ListDueOutboxEventsAsync(long now, int limit, CancellationToken ct) => inner.ListDueOutboxEventsAsync(now, limit, ct);
        public Task DeleteOutboxEventAsync(string id, CancellationToken ct) => inner.DeleteOutboxEventAsync(id, ct);
        public Task<OutboxEvent?> TryReplaceOutboxEventAsync(OutboxEvent e, CancellationToken ct)
        {
            if (++replaces == replace) shutdown.Cancel();
            return inner.TryReplaceOutboxEventAsync(e, ct);
        }
    }

    sealed class Handler(Func<HttpResponseMessage> respond) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct) => Task.FromResult(respond());
    }

    sealed class Clients(HttpMessageHandler handler) : IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => new(handler, disposeHandler: false);
    }
}
