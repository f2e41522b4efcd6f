using ImFunctions.Core.Push.WebPubSub;

namespace ImFunctions.Core.Push.LocalHub;

/// <summary>
/// The push port in local mode: the production REST client, pointed at this app's own hub endpoints, so local runs
/// and tests exercise the same code path as Azure. The address is known only once the server listens.
/// </summary>
public sealed class LocalHubPushGateway(LocalHubOptions options, WebPubSubSettings settings) : IPushGateway
{
    WebPubSubRestClient? client;

    public WebPubSubRestClient Client
    {
        get
        {
            if (Volatile.Read(ref client) is { } created) return created;
            var connectionString = options.ConnectionString
                ?? throw new InvalidOperationException("The local hub does not know its address yet.");
            var fresh = new WebPubSubRestClient(WebPubSubConnectionString.Parse(connectionString), options.Hub, settings.ToClientOptions());
            return Interlocked.CompareExchange(ref client, fresh, null) ?? fresh;
        }
    }

    public Task SendToUserAsync(string userId, ReadOnlyMemory<byte> json, CancellationToken ct) => Client.SendToUserAsync(userId, json, ct);
    public Task SendToGroupAsync(string group, ReadOnlyMemory<byte> json, CancellationToken ct) => Client.SendToGroupAsync(group, json, ct);
    public Task AddUserToGroupAsync(string userId, string group, CancellationToken ct) => Client.AddUserToGroupAsync(userId, group, ct);
    public Task RemoveUserFromGroupAsync(string userId, string group, CancellationToken ct) => Client.RemoveUserFromGroupAsync(userId, group, ct);
    public Task RemoveUserFromAllGroupsAsync(string userId, CancellationToken ct) => Client.RemoveUserFromAllGroupsAsync(userId, ct);
    public Task CloseUserConnectionsAsync(string userId, string? reason, CancellationToken ct) => Client.CloseUserConnectionsAsync(userId, reason, ct);
    public Task<bool> UserExistsAsync(string userId, CancellationToken ct) => Client.UserExistsAsync(userId, ct);
    public Task<ClientAccess> GetClientAccessAsync(string userId, TimeSpan lifetime, CancellationToken ct) => Client.GetClientAccessAsync(userId, lifetime, ct);
    public Task<ClientAccess> GetClientAccessAsync(string userId, IReadOnlyCollection<string> groups, TimeSpan lifetime, CancellationToken ct) =>
        Client.GetClientAccessAsync(userId, groups, lifetime, ct);
}
