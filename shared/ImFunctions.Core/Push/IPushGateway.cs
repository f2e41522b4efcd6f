namespace ImFunctions.Core.Push;

/// <summary>
/// The push port, shaped after Web PubSub's data-plane API: one call per audience (a user's connections,
/// a group's connections), never a loop over recipients. Payloads are serialized once by the caller.
/// </summary>
public interface IPushGateway
{
    Task SendToUserAsync(string userId, ReadOnlyMemory<byte> json, CancellationToken ct);
    Task SendToGroupAsync(string group, ReadOnlyMemory<byte> json, CancellationToken ct);
    Task AddUserToGroupAsync(string userId, string group, CancellationToken ct);
    Task RemoveUserFromGroupAsync(string userId, string group, CancellationToken ct);
    Task RemoveUserFromAllGroupsAsync(string userId, CancellationToken ct);
    Task CloseUserConnectionsAsync(string userId, string? reason, CancellationToken ct);
    Task<bool> UserExistsAsync(string userId, CancellationToken ct);
    /// <summary>The WebSocket URL a client opens for this user (negotiate).</summary>
    Task<ClientAccess> GetClientAccessAsync(string userId, TimeSpan lifetime, CancellationToken ct);

    /// <summary>
    /// The WebSocket URL for a connection that joins <paramref name="groups"/> as it opens (Web PubSub's
    /// <c>webpubsub.group</c> token claim): how chat-group membership reaches connections opened after joining.
    /// </summary>
    Task<ClientAccess> GetClientAccessAsync(string userId, IReadOnlyCollection<string> groups, TimeSpan lifetime, CancellationToken ct) =>
        GetClientAccessAsync(userId, lifetime, ct);
}

/// <param name="ExpiresAt">When the URL's token stops working.</param>
public sealed record ClientAccess(Uri Url, DateTimeOffset ExpiresAt);
