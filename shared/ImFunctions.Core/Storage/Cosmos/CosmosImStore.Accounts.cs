using System.Net;
using ImFunctions.Core.Domain;
using Microsoft.Azure.Cosmos;

namespace ImFunctions.Core.Storage.Cosmos;

/// <summary>
/// The accounts port on Cosmos: single-document operations only, each safe to repeat (a 404 on a delete means done).
/// Retention is the messages container's TTL: each message carries its own <c>ttl</c> when UniIm:MessageTtl is set.
/// </summary>
public sealed partial class CosmosImStore : IAccountStore
{
    Stored<Message> StoredMessage(Message message) =>
        new(message.Id, message, Ttl: options.MessageTtl is { } ttl ? (int)Math.Ceiling(ttl.TotalSeconds) : null);

    public async Task UnbindExtUidAsync(string extUid, string uid, CancellationToken ct)
    {
        var (binding, etag) = await ReadAsync<ExtUid>(extUids, extUid, extUid, ct);
        if (binding is null || binding.Uid != uid) return;
        // Only this binding: if the openid was bound again meanwhile (etag moved), that binding is not ours to remove.
        await WriteAsync(extUids, () => extUids.DeleteItemAsync<ExtUid>(extUid, new PartitionKey(extUid),
            new ItemRequestOptions { IfMatchEtag = etag }, ct), ct, HttpStatusCode.NotFound, HttpStatusCode.PreconditionFailed);
    }

    public async Task<IReadOnlyList<Message>> ReadMessagesSentAsync(string conversationId, string fromUid, long afterSeq, int limit,
        CancellationToken ct)
    {
        var page = await QueryAsync<Stored<Message>>(messages, conversationId, limit,
            "SELECT TOP @limit * FROM c WHERE c.conversation_id = @pk AND c.seq > @seq AND c.from_uid = @u ORDER BY c.seq", ct,
            ("@limit", limit), ("@seq", afterSeq), ("@u", fromUid));
        return page.Select(s => s.Value).ToList();
    }

    // A rewrite restarts the item's TTL clock (Cosmos counts from the last write): an erased message may outlive the
    // original by the time between send and erasure, never with its body.
    public Task ReplaceMessageAsync(Message message, CancellationToken ct) =>
        // Replace, not upsert: a message that expired meanwhile stays gone.
        WriteAsync(messages, () => messages.ReplaceItemAsync(StoredMessage(message), message.Id, new PartitionKey(message.ConversationId),
            cancellationToken: ct), ct, HttpStatusCode.NotFound);

    public Task DeleteConversationAsync(string userId, string conversationId, CancellationToken ct) =>
        WriteAsync(conversations, () => conversations.DeleteItemAsync<Stored<ConversationRow>>(conversationId, new PartitionKey(userId),
            cancellationToken: ct), ct, HttpStatusCode.NotFound);

    public Task<int> DeleteMessagesCreatedBeforeAsync(long cutoff, int batch, CancellationToken ct) => Task.FromResult(0);
}
