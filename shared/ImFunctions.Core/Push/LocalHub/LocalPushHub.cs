using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace ImFunctions.Core.Push.LocalHub;

/// <summary>
/// The in-process stand-in for Azure Web PubSub: tracks live client connections by user and group and
/// delivers server messages to them in Web PubSub's JSON client protocol.
/// </summary>
public sealed class LocalPushHub(ILogger<LocalPushHub> logger)
{
    readonly ConcurrentDictionary<string, LocalHubConnection> connections = new();
    readonly ConcurrentDictionary<string, ConcurrentDictionary<string, LocalHubConnection>> byUser = new();
    readonly ConcurrentDictionary<string, ConcurrentDictionary<string, LocalHubConnection>> byGroup = new();
    readonly ConcurrentDictionary<string, ConcurrentDictionary<string, byte>> userGroups = new();

    public int ConnectionCount => connections.Count;

    public LocalHubConnection Register(WebSocket socket, string userId, string? subprotocol)
    {
        var connection = new LocalHubConnection(Guid.NewGuid().ToString("N"), userId, socket, subprotocol);
        connections[connection.Id] = connection;
        byUser.GetOrAdd(userId, _ => new())[connection.Id] = connection;
        foreach (var group in userGroups.GetValueOrDefault(userId)?.Keys ?? Enumerable.Empty<string>())
            byGroup.GetOrAdd(group, _ => new())[connection.Id] = connection;
        return connection;
    }

    public void Unregister(LocalHubConnection connection)
    {
        connections.TryRemove(connection.Id, out _);
        if (byUser.TryGetValue(connection.UserId, out var mine)) mine.TryRemove(connection.Id, out _);
        foreach (var members in byGroup.Values) members.TryRemove(connection.Id, out _);
    }

    public void SendToUser(string userId, ReadOnlyMemory<byte> json)
    {
        if (byUser.TryGetValue(userId, out var targets)) Deliver(targets.Values, json);
    }

    public void SendToGroup(string group, ReadOnlyMemory<byte> json)
    {
        if (byGroup.TryGetValue(group, out var targets)) Deliver(targets.Values, json);
    }

    /// <summary>Adds the user's current and future connections to a group (Web PubSub's add-user-to-group).</summary>
    public void AddUserToGroup(string userId, string group)
    {
        userGroups.GetOrAdd(userId, _ => new())[group] = 0;
        var members = byGroup.GetOrAdd(group, _ => new());
        foreach (var connection in byUser.GetValueOrDefault(userId)?.Values ?? Enumerable.Empty<LocalHubConnection>())
            members[connection.Id] = connection;
    }

    public void RemoveUserFromGroup(string userId, string group)
    {
        if (userGroups.TryGetValue(userId, out var groups)) groups.TryRemove(group, out _);
        if (byGroup.TryGetValue(group, out var members))
            foreach (var connection in members.Values.Where(c => c.UserId == userId)) members.TryRemove(connection.Id, out _);
    }

    public void RemoveUserFromAllGroups(string userId)
    {
        foreach (var group in userGroups.GetValueOrDefault(userId)?.Keys.ToArray() ?? []) RemoveUserFromGroup(userId, group);
    }

    public bool UserExists(string userId) => byUser.TryGetValue(userId, out var mine) && !mine.IsEmpty;

    public async Task CloseUserConnectionsAsync(string userId, string? reason)
    {
        if (!byUser.TryGetValue(userId, out var mine)) return;
        await Task.WhenAll(mine.Values.Select(c => c.CloseAsync(reason ?? "ClosedByAppServer")));
    }

    /// <summary>Serves one accepted socket until it closes: the connected message, then pings and pongs.</summary>
    public async Task RunAsync(LocalHubConnection connection, CancellationToken ct)
    {
        var writer = connection.RunWriterAsync(logger, ct);
        try
        {
            connection.Enqueue(Encoding.UTF8.GetBytes(
                $$"""{"type":"system","event":"connected","userId":{{Json(connection.UserId)}},"connectionId":"{{connection.Id}}"}"""));
            await connection.ReadLoopAsync(ct);
        }
        finally
        {
            Unregister(connection);
            connection.Complete();
            await writer;
        }
    }

    /// <summary>Subprotocol clients get Web PubSub's server-message frame; plain WebSocket clients get the payload alone.</summary>
    static void Deliver(IEnumerable<LocalHubConnection> targets, ReadOnlyMemory<byte> json)
    {
        ReadOnlyMemory<byte>? frame = null;
        foreach (var connection in targets)
            connection.Enqueue(connection.Subprotocol is null ? json : frame ??= ServerMessage(json));
    }

    static ReadOnlyMemory<byte> ServerMessage(ReadOnlyMemory<byte> json)
    {
        ReadOnlySpan<byte> prefix = """{"type":"message","from":"server","dataType":"json","data":"""u8;
        var frame = new byte[prefix.Length + json.Length + 1];
        prefix.CopyTo(frame);
        json.Span.CopyTo(frame.AsSpan(prefix.Length));
        frame[^1] = (byte)'}';
        return frame;
    }

    static string Json(string value) => System.Text.Json.JsonSerializer.Serialize(value);
}

/// <summary>One client socket. Writes go through a queue because a WebSocket allows one send at a time.</summary>
public sealed class LocalHubConnection(string id, string userId, WebSocket socket, string? subprotocol)
{
    const int MaxQueuedFrames = 1000;
    readonly Channel<ReadOnlyMemory<byte>> outbound = Channel.CreateBounded<ReadOnlyMemory<byte>>(
        new BoundedChannelOptions(MaxQueuedFrames) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });

    public string Id { get; } = id;
    public string UserId { get; } = userId;
    public string? Subprotocol { get; } = subprotocol;

    public void Enqueue(ReadOnlyMemory<byte> frame) => outbound.Writer.TryWrite(frame);
    public void Complete() => outbound.Writer.TryComplete();

    public async Task RunWriterAsync(ILogger logger, CancellationToken ct)
    {
        try
        {
            await foreach (var frame in outbound.Reader.ReadAllAsync(ct))
                await socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, ct);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            logger.LogDebug("Socket {ConnectionId} stopped writing: {Error}", Id, e.GetType().Name);
        }
    }

    public async Task ReadLoopAsync(CancellationToken ct)
    {
        var buffer = new byte[4096];
        using var message = new MemoryStream();
        try
        {
            while (socket.State == WebSocketState.Open)
            {
                var result = await socket.ReceiveAsync(buffer, ct);
                if (result.MessageType == WebSocketMessageType.Close) break;
                message.Write(buffer, 0, result.Count);
                if (message.Length > 1024 * 1024) break;   // Web PubSub's 1 MB frame limit
                if (!result.EndOfMessage) continue;
                HandleClientMessage(message.ToArray());
                message.SetLength(0);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException) { }
    }

    void HandleClientMessage(byte[] json)
    {
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(json);
            if (doc.RootElement.TryGetProperty("type", out var type) && type.GetString() == "ping")
                Enqueue("""{"type":"pong"}"""u8.ToArray());
        }
        catch (System.Text.Json.JsonException) { }
    }

    public async Task CloseAsync(string reason)
    {
        Enqueue(Encoding.UTF8.GetBytes($$"""{"type":"system","event":"disconnected","message":{{System.Text.Json.JsonSerializer.Serialize(reason)}}}"""));
        Complete();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, reason, timeout.Token);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException) { }
    }
}
