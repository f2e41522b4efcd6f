using ImFunctions.Core.Push.WebPubSub;

namespace ImFunctions.Core.Push.LocalHub;

/// <summary>
/// The push port in local mode: hands each push straight to this app's own hub, in-process. Going through the hub's
/// REST API instead cost every message two extra HTTP round trips (served and made, each signed and logged).
/// The REST client stays the Azure path; the hub's REST API keeps serving it and Microsoft's SDKs (tests cover both).
/// </summary>
/// <remarks>
/// A call returns once the hub has queued the frame on every target connection, as the service's 202 does, so the
/// dispatcher's one worker per audience still delivers that audience's pushes in order.
/// </remarks>
public sealed class LocalHubPushGateway(LocalPushHub hub, LocalHubOptions options) : IPushGateway
{
    static readonly string[] NoneExcluded = [];
    WebPubSubRestClient? signer;

    public Task SendToUserAsync(string userId, ReadOnlyMemory<byte> json, CancellationToken ct)
    {
        hub.SendToUser(userId, HubData.Json(json));
        return Task.CompletedTask;
    }

    public Task SendToGroupAsync(string group, ReadOnlyMemory<byte> json, CancellationToken ct)
    {
        hub.SendToGroup(group, HubData.Json(json), NoneExcluded);
        return Task.CompletedTask;
    }

    public Task AddUserToGroupAsync(string userId, string group, CancellationToken ct)
    {
        hub.AddUserToGroup(userId, group);
        return Task.CompletedTask;
    }

    public Task RemoveUserFromGroupAsync(string userId, string group, CancellationToken ct)
    {
        hub.RemoveUserFromGroup(userId, group);
        return Task.CompletedTask;
    }

    public Task RemoveUserFromAllGroupsAsync(string userId, CancellationToken ct)
    {
        hub.RemoveUserFromAllGroups(userId);
        return Task.CompletedTask;
    }

    public Task CloseUserConnectionsAsync(string userId, string? reason, CancellationToken ct)
    {
        hub.CloseUserConnections(userId, NoneExcluded, reason);
        return Task.CompletedTask;
    }

    public Task<bool> UserExistsAsync(string userId, CancellationToken ct) => Task.FromResult(hub.UserExists(userId));

    public Task<ClientAccess> GetClientAccessAsync(string userId, TimeSpan lifetime, CancellationToken ct) =>
        Signer.GetClientAccessAsync(userId, lifetime, ct);

    public Task<ClientAccess> GetClientAccessAsync(string userId, IReadOnlyCollection<string> groups, TimeSpan lifetime, CancellationToken ct) =>
        Signer.GetClientAccessAsync(userId, groups, lifetime, ct);

    // Client URLs are signed locally in Web PubSub's format, exactly as the Azure path signs them; no request is made.
    // The address is known only once the server listens.
    WebPubSubRestClient Signer
    {
        get
        {
            if (Volatile.Read(ref signer) is { } created) return created;
            var connectionString = options.ConnectionString
                ?? throw new InvalidOperationException("The local hub does not know its address yet.");
            var fresh = new WebPubSubRestClient(WebPubSubConnectionString.Parse(connectionString), options.Hub);
            return Interlocked.CompareExchange(ref signer, fresh, null) ?? fresh;
        }
    }
}
