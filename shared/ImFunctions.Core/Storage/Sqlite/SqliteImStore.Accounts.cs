using ImFunctions.Core.Domain;

namespace ImFunctions.Core.Storage.Sqlite;

/// <summary>The accounts port on SQLite: each step one statement, so each is atomic and can simply run again.</summary>
public sealed partial class SqliteImStore : IAccountStore
{
    public Task UnbindExtUidAsync(string extUid, string uid, CancellationToken ct) =>
        RunAsync(StoreOp.Write, connection => ExecuteAsync(connection,
            "DELETE FROM ext_uids WHERE ext_uid = $ext AND uid = $uid", ct, ("$ext", extUid), ("$uid", uid)), ct);

    public Task<IReadOnlyList<Message>> ReadMessagesSentAsync(string conversationId, string fromUid, long afterSeq, int limit,
        CancellationToken ct) =>
        QueryDocsAsync<Message>(StoreOp.Query, """
            SELECT doc FROM messages WHERE conversation_id = $c AND seq > $after AND json_extract(doc, '$.from_uid') = $u
            ORDER BY seq LIMIT $limit
            """, ct, ("$c", conversationId), ("$after", afterSeq), ("$u", fromUid), ("$limit", limit));

    public Task ReplaceMessageAsync(Message message, CancellationToken ct) =>
        RunAsync(StoreOp.Write, connection => ExecuteAsync(connection,
            "UPDATE messages SET doc = $doc, update_time = $t WHERE conversation_id = $c AND id = $id", ct,
            ("$c", message.ConversationId), ("$id", message.Id), ("$t", message.UpdateTime), ("$doc", Serialize(message))), ct);

    public Task DeleteConversationAsync(string userId, string conversationId, CancellationToken ct) =>
        RunAsync(StoreOp.Write, async connection =>
        {
            await ExecuteAsync(connection, "DELETE FROM conversations WHERE user_id = $u AND id = $id", ct,
                ("$u", userId), ("$id", conversationId));
            writtenRows.Add(((userId, conversationId), null));
        }, ct);

    /// <summary>
    /// One batch. A conversation's last message, when it goes, leaves its seq and time in <c>expired_heads</c> (the
    /// table's delete trigger, in the same statement): the next message follows it (<see cref="HeadSql"/>), not seq 1.
    /// </summary>
    public Task<int> DeleteMessagesCreatedBeforeAsync(long cutoff, int batch, CancellationToken ct) =>
        RunAsync(StoreOp.Write, connection => ExecuteAsync(connection, """
            DELETE FROM messages WHERE rid IN (SELECT rid FROM messages WHERE create_time < $cutoff LIMIT $batch)
            """, ct, ("$cutoff", cutoff), ("$batch", batch)), ct);
}
