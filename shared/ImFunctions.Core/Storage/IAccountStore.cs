using ImFunctions.Core.Domain;

namespace ImFunctions.Core.Storage;

/// <summary>
/// The store port of accounts and data rights (export, deletion, retention), apart from <see cref="IImStore"/> so the
/// messaging port stays small. Every step is idempotent: deleteAccount runs it again after a crash.
/// </summary>
public interface IAccountStore
{
    /// <summary>Removes the binding of <paramref name="extUid"/> if it still points at <paramref name="uid"/>.</summary>
    Task UnbindExtUidAsync(string extUid, string uid, CancellationToken ct);

    /// <summary>One page of the messages <paramref name="fromUid"/> sent in a conversation, by seq, after <paramref name="afterSeq"/>.</summary>
    Task<IReadOnlyList<Message>> ReadMessagesSentAsync(string conversationId, string fromUid, long afterSeq, int limit, CancellationToken ct);

    /// <summary>Overwrites a stored message in place (same id and seq): erasure keeps the sequence gap-free.</summary>
    Task ReplaceMessageAsync(Message message, CancellationToken ct);

    /// <summary>Removes one of a user's conversation rows; nothing happens when it is gone already.</summary>
    Task DeleteConversationAsync(string userId, string conversationId, CancellationToken ct);

    /// <summary>
    /// Retention: deletes up to <paramref name="batch"/> messages created before <paramref name="cutoff"/> (epoch ms) and
    /// returns how many. A store that expires messages by itself (Cosmos TTL) returns 0.
    /// </summary>
    Task<int> DeleteMessagesCreatedBeforeAsync(long cutoff, int batch, CancellationToken ct);
}
