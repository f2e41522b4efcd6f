using Microsoft.Data.Sqlite;

namespace ImFunctions.Core.Storage.Sqlite;

/// <summary>The integrations' tables: server-to-server nonces and the webhook outbox.</summary>
public sealed partial class SqliteImStore : INonceStore, IOutboxStore
{
    Task InitializeIntegrationsAsync(SqliteConnection connection, CancellationToken ct) => ExecuteAsync(connection, """
        CREATE TABLE IF NOT EXISTS s2s_nonces (nonce TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS s2s_nonces_by_expiry ON s2s_nonces (expires_at);
        CREATE TABLE IF NOT EXISTS outbox (id TEXT PRIMARY KEY, due_at INTEGER NOT NULL, version INTEGER NOT NULL, doc TEXT NOT NULL) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS outbox_by_due ON outbox (due_at);
        """, ct);

    public Task<bool> TryRememberNonceAsync(string nonce, DateTimeOffset expiresAt, CancellationToken ct) =>
        RunAsync(StoreOp.Write, async connection =>
        {
            // An expired nonce may be taken again (its timestamp could no longer pass the window anyway); a few
            // expired ones are swept with each insert, so the table holds about one window's worth.
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            await using var command = Command(connection, """
                DELETE FROM s2s_nonces WHERE nonce IN (SELECT nonce FROM s2s_nonces WHERE expires_at < $now LIMIT 16);
                INSERT INTO s2s_nonces (nonce, expires_at) VALUES ($n, $e)
                    ON CONFLICT (nonce) DO UPDATE SET expires_at = excluded.expires_at WHERE s2s_nonces.expires_at < $now;
                SELECT changes();
                """, ("$n", nonce), ("$e", expiresAt.ToUnixTimeMilliseconds()), ("$now", now));
            return (long)(await command.ExecuteScalarAsync(ct))! == 1;
        }, ct);

    public Task AddOutboxEventAsync(OutboxEvent outboxEvent, CancellationToken ct) =>
        RunAsync(StoreOp.Write, connection => ExecuteAsync(connection, """
            INSERT INTO outbox (id, due_at, version, doc) VALUES ($id, $due, 1, $doc) ON CONFLICT (id) DO NOTHING
            """, ct, ("$id", outboxEvent.Id), ("$due", outboxEvent.DueAt), ("$doc", Serialize(outboxEvent))), ct);

    public Task<IReadOnlyList<OutboxEvent>> ListDueOutboxEventsAsync(long now, int limit, CancellationToken ct) =>
        RunAsync(StoreOp.Query, async connection =>
        {
            await using var command = Command(connection, "SELECT doc, version FROM outbox WHERE due_at <= $now ORDER BY due_at LIMIT $limit",
                ("$now", now), ("$limit", limit));
            await using var reader = await command.ExecuteReaderAsync(ct);
            var due = new List<OutboxEvent>();
            while (await reader.ReadAsync(ct))
                due.Add(Deserialize<OutboxEvent>(reader.GetString(0)) with { ETag = reader.GetInt64(1).ToString() });
            return (IReadOnlyList<OutboxEvent>)due;
        }, ct);

    public Task<OutboxEvent?> TryReplaceOutboxEventAsync(OutboxEvent outboxEvent, CancellationToken ct) =>
        RunAsync(StoreOp.Write, async connection =>
        {
            var version = long.Parse(outboxEvent.ETag!);
            var changed = await ExecuteAsync(connection, """
                UPDATE outbox SET due_at = $due, doc = $doc, version = version + 1 WHERE id = $id AND version = $v
                """, ct, ("$id", outboxEvent.Id), ("$due", outboxEvent.DueAt), ("$v", version), ("$doc", Serialize(outboxEvent)));
            return changed == 1 ? outboxEvent with { ETag = (version + 1).ToString() } : null;
        }, ct);

    public Task DeleteOutboxEventAsync(string id, CancellationToken ct) =>
        RunAsync(StoreOp.Write, connection => ExecuteAsync(connection, "DELETE FROM outbox WHERE id = $id", ct, ("$id", id)), ct);
}
