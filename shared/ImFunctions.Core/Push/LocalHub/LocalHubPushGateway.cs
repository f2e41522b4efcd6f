namespace ImFunctions.Core.Push.LocalHub;

/// <summary>The push port served by the in-process hub.</summary>
public sealed class LocalHubPushGateway(LocalPushHub hub, LocalHubTokens tokens, LocalHubOptions options, TimeProvider clock)
    : IPushGateway
{
    public Task SendToUserAsync(string userId, ReadOnlyMemory<byte> json, CancellationToken ct)
    {
        hub.SendToUser(userId, json);
        return Task.CompletedTask;
    }

    public Task SendToGroupAsync(string group, ReadOnlyMemory<byte> json, CancellationToken ct)
    {
        hub.SendToGroup(group, json);
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

    public Task CloseUserConnectionsAsync(string userId, string? reason, CancellationToken ct) =>
        hub.CloseUserConnectionsAsync(userId, reason);

    public Task<bool> UserExistsAsync(string userId, CancellationToken ct) => Task.FromResult(hub.UserExists(userId));

    public Task<ClientAccess> GetClientAccessAsync(string userId, TimeSpan lifetime, CancellationToken ct) =>
        Task.FromResult(tokens.CreateClientAccess(
            options.PublicBaseUrl ?? throw new InvalidOperationException("The local hub does not know its address yet."),
            userId, lifetime, clock.GetUtcNow()));
}
