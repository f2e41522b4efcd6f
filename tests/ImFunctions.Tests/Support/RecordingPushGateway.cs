using System.Collections.Concurrent;
using System.Text;
using ImFunctions.Core.Push;

namespace ImFunctions.Tests.Support;

/// <summary>A push gateway that only remembers what it was asked to send, for tests of the rules below the API.</summary>
public sealed class RecordingPushGateway : IPushGateway
{
    public ConcurrentQueue<(string Audience, string Json)> Sent { get; } = new();

    public Task SendToUserAsync(string userId, ReadOnlyMemory<byte> json, CancellationToken ct) => Record("user:" + userId, json);
    public Task SendToGroupAsync(string group, ReadOnlyMemory<byte> json, CancellationToken ct) => Record("group:" + group, json);
    public Task AddUserToGroupAsync(string userId, string group, CancellationToken ct) => Task.CompletedTask;
    public Task RemoveUserFromGroupAsync(string userId, string group, CancellationToken ct) => Task.CompletedTask;
    public Task RemoveUserFromAllGroupsAsync(string userId, CancellationToken ct) => Task.CompletedTask;
    public Task CloseUserConnectionsAsync(string userId, string? reason, CancellationToken ct) => Task.CompletedTask;
    public Task<bool> UserExistsAsync(string userId, CancellationToken ct) => Task.FromResult(false);
    public Task<ClientAccess> GetClientAccessAsync(string userId, TimeSpan lifetime, CancellationToken ct) =>
        Task.FromResult(new ClientAccess(new Uri("ws://127.0.0.1/client/hubs/im"), DateTimeOffset.UtcNow + lifetime));

    /// <summary>
    /// Whether a push to <paramref name="audience"/> (<c>user:uid</c>, <c>group:name</c>) whose JSON contains
    /// <paramref name="containing"/> arrives within 10 s: the dispatcher sends in the background.
    /// </summary>
    public async Task<bool> ReachesAsync(string audience, string containing = "")
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!Sent.Any(p => p.Audience == audience && p.Json.Contains(containing)))
        {
            if (waited.Elapsed > TimeSpan.FromSeconds(10)) return false;
            await Task.Delay(20);
        }
        return true;
    }

    Task Record(string audience, ReadOnlyMemory<byte> json)
    {
        Sent.Enqueue((audience, Encoding.UTF8.GetString(json.Span)));
        return Task.CompletedTask;
    }
}
