using ImFunctions.Core.Storage;

namespace ImFunctions.Tests.Storage;

/// <summary>The nonce and outbox ports, on every store: what signed calls and webhooks rely on.</summary>
[TestFixtureSource(typeof(StoreFactories), nameof(StoreFactories.Names))]
public sealed class IntegrationsStoreContractTests(string storeName)
{
    IStoreFactory factory = null!;
    IImStore store = null!;

    [OneTimeSetUp]
    public async Task StartStore()
    {
        factory = StoreFactories.Create(storeName);
        store = await factory.CreateAsync();
    }

    [OneTimeTearDown]
    public Task StopStore() => factory.DisposeAsync();

    INonceStore Nonces => (INonceStore)store;
    IOutboxStore Outbox => (IOutboxStore)store;

    [Test]
    public async Task Of_concurrent_uses_of_one_nonce_exactly_one_is_accepted()
    {
        var nonce = "k:" + Guid.NewGuid().ToString("N");
        var until = DateTimeOffset.UtcNow.AddMinutes(5);
        var accepted = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Nonces.TryRememberNonceAsync(nonce, until, default)));
        Assert.That(accepted.Count(a => a), Is.EqualTo(1));
        Assert.That(await Nonces.TryRememberNonceAsync("k:" + Guid.NewGuid().ToString("N"), until, default), Is.True);
    }

    [Test]
    public async Task An_outbox_event_is_stored_once_per_id_and_listed_when_due()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var id = "test.event:" + Guid.NewGuid().ToString("N");
        await Outbox.AddOutboxEventAsync(new OutboxEvent(id, "test.event", now, "{\"first\":true}", now - 1000, 0), default);
        await Outbox.AddOutboxEventAsync(new OutboxEvent(id, "test.event", now, "{\"first\":false}", now - 1000, 0), default);

        var due = (await Outbox.ListDueOutboxEventsAsync(now, 1000, default)).Where(e => e.Id == id).ToList();
        Assert.That(due.Select(e => e.Body), Is.EqualTo(new[] { "{\"first\":true}" }));
        Assert.That(due[0].ETag, Is.Not.Null);
    }

    [Test]
    public async Task Only_one_instance_claims_an_event_and_a_claimed_event_is_not_due_until_its_lease_ends()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var id = "test.event:" + Guid.NewGuid().ToString("N");
        await Outbox.AddOutboxEventAsync(new OutboxEvent(id, "test.event", now, "{}", now - 1000, 0), default);
        var read = (await Outbox.ListDueOutboxEventsAsync(now, 1000, default)).Single(e => e.Id == id);

        var claims = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ =>
            Outbox.TryReplaceOutboxEventAsync(read with { DueAt = now + 60_000, Attempts = 1 }, default)));
        Assert.That(claims.Count(c => c is not null), Is.EqualTo(1));
        Assert.That((await Outbox.ListDueOutboxEventsAsync(now, 1000, default)).Any(e => e.Id == id), Is.False);
        Assert.That((await Outbox.ListDueOutboxEventsAsync(now + 60_000, 1000, default)).Single(e => e.Id == id).Attempts, Is.EqualTo(1));

        await Outbox.DeleteOutboxEventAsync(id, default);
        Assert.That((await Outbox.ListDueOutboxEventsAsync(now + 60_000, 1000, default)).Any(e => e.Id == id), Is.False);
    }
}
