using System.Text.Json;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Messages;
using Microsoft.Data.Sqlite;

namespace ImFunctions.Core.Storage.Sqlite;

/// <summary>
/// Revoke and edit on SQLite. A changed message's search text follows it through the index's own file: see
/// SqliteImStore.Search.cs.
/// </summary>
public sealed partial class SqliteImStore : IMessageLifecycleStore
{
    public Task<Message?> UpdateMessageAsync(string conversationId, string messageId, Func<Message?, Message?> apply,
        CancellationToken ct) =>
        // As one write on the writer no other write of this process can slip in between; the WHERE on the old document
        // still guards against another process, and a lost race reads again and reapplies.
        WriteAsync(async connection =>
        {
            while (true)
            {
                StoreMeter.Record(StoreOp.PointRead);
                string? doc;
                await using (var read = Command(connection, "SELECT doc FROM messages WHERE conversation_id = $c AND id = $id",
                    ("$c", conversationId), ("$id", messageId)))
                    doc = (string?)await read.ExecuteScalarAsync(ct);
                var current = doc is null ? null : Deserialize<Message>(doc);
                var next = apply(current);
                if (next is null || current is null) return current;
                StoreMeter.Record(StoreOp.Write);
                var changed = await ExecuteAsync(connection, """
                    UPDATE messages SET doc = $doc, update_time = $t WHERE conversation_id = $c AND id = $id AND doc = $old
                    """, ct, ("$c", conversationId), ("$id", messageId), ("$doc", Serialize(next)), ("$t", next.UpdateTime), ("$old", doc));
                if (changed == 1) return next;
            }
        }, ct);
}
