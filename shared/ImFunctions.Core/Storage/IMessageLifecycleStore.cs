using ImFunctions.Core.Domain;

namespace ImFunctions.Core.Storage;

/// <summary>
/// What revoke and edit need beyond appending: changing one stored message in place, safely against a concurrent
/// change of the same message (a revoke racing an edit), on a store without transactions.
/// </summary>
public interface IMessageLifecycleStore
{
    /// <summary>
    /// Optimistic read-modify-write of one message: <paramref name="apply"/> gets the stored message (null when there is
    /// none) and returns its new version, or null to leave it as it is; it may run again when someone else changed the
    /// message first. Returns the message as stored afterwards. Cost: one point read and at most one write, uncontended.
    /// </summary>
    Task<Message?> UpdateMessageAsync(string conversationId, string messageId, Func<Message?, Message?> apply, CancellationToken ct);
}
