using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace ImFunctions.Core.Push.LocalHub;

/// <summary>
/// The in-process stand-in for one Azure Web PubSub hub: connections by user and group, the JSON client protocols
/// (plain and reliable, with recovery), and the operations its REST API exposes.
/// </summary>
public sealed class LocalPushHub(LocalHubOptions options, TimeProvider clock, ILogger<LocalPushHub> logger)
{
    /// <summary>Sockets one thread starts in a fan-out (<see cref="Deliver"/>).</summary>
    const int FanOutSlice = 64;

    readonly Lock gate = new();
    readonly Dictionary<string, LocalHubConnection> connections = new(StringComparer.Ordinal);
    readonly Dictionary<string, HashSet<LocalHubConnection>> byUser = new(StringComparer.Ordinal);
    readonly Dictionary<string, HashSet<LocalHubConnection>> byGroup = new(StringComparer.Ordinal);
    // Add-user-to-group holds for the user's later connections too.
    readonly Dictionary<string, HashSet<string>> userGroups = new(StringComparer.Ordinal);

    public string Hub => options.Hub;

    public int ConnectionCount
    {
        get { lock (gate) return connections.Count; }
    }

    // ---- Connection lifecycle ----

    public LocalHubConnection Connect(LocalHubClientIdentity identity, LocalHubProtocol protocol, LocalHubTransport transport)
    {
        var reconnectionToken = protocol == LocalHubProtocol.ReliableJson
            ? Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))
            : null;
        var connection = new LocalHubConnection(Guid.NewGuid().ToString("N"), identity, protocol, reconnectionToken, options);
        // Attached before it is findable, so connected is its first frame and nothing sent to it is lost.
        connection.Attach(transport);
        lock (gate)
        {
            connections[connection.Id] = connection;
            if (connection.UserId is { } user)
            {
                Index(byUser, user).Add(connection);
                foreach (var group in userGroups.GetValueOrDefault(user) ?? []) Join(connection, group);
            }
            foreach (var group in identity.Groups) Join(connection, group);
        }
        return connection;
    }

    /// <summary>Puts a new socket under a dropped reliable connection; null when it is unknown, closed or the token is wrong.</summary>
    public LocalHubConnection? Recover(string connectionId, string reconnectionToken, LocalHubTransport transport)
    {
        LocalHubConnection? connection;
        lock (gate) connection = connections.GetValueOrDefault(connectionId);
        if (connection?.ReconnectionToken is not { } expected
            || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(expected), Encoding.UTF8.GetBytes(reconnectionToken)))
            return null;
        return connection.Attach(transport) ? connection : null;
    }

    /// <summary>
    /// A socket ended. A reliable connection whose socket broke (or closed with anything but 1000) waits for its
    /// client to recover it; every other connection ends with its socket, as does one closed for a protocol error.
    /// </summary>
    public void SocketEnded(LocalHubConnection connection, LocalHubTransport transport, TransportEnd end)
    {
        if (!connection.IsCurrent(transport)) return;   // taken over by a recovery, or already closed by the hub
        var recoverable = connection.IsReliable && end != TransportEnd.ClosedByHub
            && !(end == TransportEnd.ClientClosed && transport.ClientCloseStatus == WebSocketCloseStatus.NormalClosure);
        if (!recoverable)
        {
            Close(connection, "The client closed the connection.", WebSocketCloseStatus.NormalClosure);
            return;
        }
        if (connection.Detach(transport) is { } mark) _ = ExpireAsync(connection, mark);
    }

    async Task ExpireAsync(LocalHubConnection connection, int mark)
    {
        await Task.Delay(options.RecoveryWindow, clock);
        if (connection.StillDetached(mark) && Close(connection, "The connection was not recovered in time.", WebSocketCloseStatus.NormalClosure))
            logger.LogDebug("Connection {ConnectionId} expired after a drop", connection.Id);
    }

    /// <summary>Ends a connection for good (disconnected message, then close); a later recovery attempt is refused.</summary>
    public bool Close(LocalHubConnection connection, string reason, WebSocketCloseStatus status)
    {
        lock (gate)
        {
            if (!connections.Remove(connection.Id)) return false;
            if (connection.UserId is { } user) Unindex(byUser, user, connection);
            foreach (var group in connection.Groups) Unindex(byGroup, group, connection);
            connection.Groups.Clear();
        }
        connection.Close(reason, status);
        return true;
    }

    // ---- Client protocol ----

    /// <summary>One frame from a client of the JSON protocols: ping, sequenceAck, joinGroup, leaveGroup, sendToGroup, event.</summary>
    public FrameVerdict Receive(LocalHubConnection connection, ReadOnlyMemory<byte> frame, WebSocketMessageType type)
    {
        if (connection.Protocol == LocalHubProtocol.Raw) return FrameVerdict.Continue;   // no event handler upstream
        if (type != WebSocketMessageType.Text)
            return FrameVerdict.CloseWith(WebSocketCloseStatus.InvalidMessageType, "The JSON subprotocol requires text messages.");
        try
        {
            using var document = JsonDocument.Parse(frame);
            return Receive(connection, ClientRequest.Read(document.RootElement));
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or KeyNotFoundException)
        {
            return FrameVerdict.CloseWith(WebSocketCloseStatus.InvalidPayloadData, "The client message is not a valid JSON protocol message.");
        }
    }

    FrameVerdict Receive(LocalHubConnection connection, ClientRequest request)
    {
        switch (request.Type)
        {
            case "ping":
                connection.SendSystem(LocalHubFrames.Pong);
                return FrameVerdict.Continue;
            case "sequenceAck":
                if (connection.IsReliable) connection.Acknowledge(request.SequenceId ?? throw new FormatException("sequenceId"));
                return FrameVerdict.Continue;
        }

        if (request.AckId is { } seen && connection.HasProcessed(seen))
        {
            connection.SendSystem(LocalHubFrames.Ack(seen, "Duplicate", $"Message with ack-id: {seen} has been processed"));
            return FrameVerdict.Continue;
        }
        var error = request.Type switch
        {
            "joinGroup" => Allowed(connection, "joinLeaveGroup", request.RequireGroup()) ? JoinGroup(connection, request.Group!) : Forbidden("join", request.Group!),
            "leaveGroup" => Allowed(connection, "joinLeaveGroup", request.RequireGroup()) ? LeaveGroup(connection, request.Group!) : Forbidden("leave", request.Group!),
            "sendToGroup" => Allowed(connection, "sendToGroup", request.RequireGroup()) ? SendToGroup(connection, request) : Forbidden("send to", request.Group!),
            "event" => null,   // no event handler upstream: accepted and dropped, as by a hub without one
            _ => ("BadRequest", $"Unsupported message type '{request.Type}'."),
        };
        if (request.AckId is { } ackId)
        {
            if (error is null) connection.MarkProcessed(ackId);
            connection.SendSystem(LocalHubFrames.Ack(ackId, error?.Name, error?.Message));
        }
        return FrameVerdict.Continue;
    }

    static bool Allowed(LocalHubConnection connection, string permission, string group) =>
        connection.Roles.Contains("webpubsub." + permission) || connection.Roles.Contains($"webpubsub.{permission}.{group}");

    static (string Name, string Message)? Forbidden(string action, string group) =>
        ("Forbidden", $"The client has no permission to {action} group '{group}'.");

    (string Name, string Message)? JoinGroup(LocalHubConnection connection, string group)
    {
        lock (gate)
            if (connections.ContainsKey(connection.Id)) Join(connection, group);
        return null;
    }

    (string Name, string Message)? LeaveGroup(LocalHubConnection connection, string group)
    {
        lock (gate) Leave(connection, group);
        return null;
    }

    (string Name, string Message)? SendToGroup(LocalHubConnection sender, ClientRequest request)
    {
        LocalHubConnection[] targets;
        lock (gate) targets = Members(request.Group!).Where(c => !(request.NoEcho && c == sender)).ToArray();
        Deliver(targets, request.ReadData(), request.Group, sender.UserId);
        return null;
    }

    // ---- Server operations (the REST API) ----

    public void SendToAll(HubData data, IReadOnlyCollection<string> excluded) =>
        Deliver(Snapshot(() => connections.Values.Where(c => !excluded.Contains(c.Id))), data, group: null, fromUserId: null);

    public void SendToUser(string userId, HubData data) =>
        Deliver(Snapshot(() => byUser.GetValueOrDefault(userId) ?? []), data, group: null, fromUserId: null);

    public void SendToConnection(string connectionId, HubData data) =>
        Deliver(Snapshot(() => connections.TryGetValue(connectionId, out var c) ? [c] : []), data, group: null, fromUserId: null);

    public void SendToGroup(string group, HubData data, IReadOnlyCollection<string> excluded) =>
        Deliver(Snapshot(() => Members(group).Where(c => !excluded.Contains(c.Id))), data, group, fromUserId: null);

    public void AddUserToGroup(string userId, string group)
    {
        lock (gate)
        {
            Index(userGroups, userId).Add(group);
            foreach (var connection in byUser.GetValueOrDefault(userId) ?? []) Join(connection, group);
        }
    }

    public void RemoveUserFromGroup(string userId, string group)
    {
        lock (gate)
        {
            if (userGroups.TryGetValue(userId, out var groups) && groups.Remove(group) && groups.Count == 0) userGroups.Remove(userId);
            foreach (var connection in byUser.GetValueOrDefault(userId) ?? []) Leave(connection, group);
        }
    }

    public void RemoveUserFromAllGroups(string userId)
    {
        lock (gate)
        {
            userGroups.Remove(userId);
            foreach (var connection in byUser.GetValueOrDefault(userId) ?? [])
                foreach (var group in connection.Groups.ToArray()) Leave(connection, group);
        }
    }

    /// <summary>False when there is no such connection (the service answers 404).</summary>
    public bool AddConnectionToGroup(string connectionId, string group)
    {
        lock (gate)
        {
            if (!connections.TryGetValue(connectionId, out var connection)) return false;
            Join(connection, group);
            return true;
        }
    }

    public void RemoveConnectionFromGroup(string connectionId, string group)
    {
        lock (gate)
            if (connections.TryGetValue(connectionId, out var connection)) Leave(connection, group);
    }

    public void RemoveConnectionFromAllGroups(string connectionId)
    {
        lock (gate)
            if (connections.TryGetValue(connectionId, out var connection))
                foreach (var group in connection.Groups.ToArray()) Leave(connection, group);
    }

    public void CloseConnection(string connectionId, string? reason) =>
        CloseAll(Snapshot(() => connections.TryGetValue(connectionId, out var c) ? [c] : []), reason);

    public void CloseUserConnections(string userId, IReadOnlyCollection<string> excluded, string? reason) =>
        CloseAll(Snapshot(() => (byUser.GetValueOrDefault(userId) ?? []).Where(c => !excluded.Contains(c.Id))), reason);

    public void CloseGroupConnections(string group, IReadOnlyCollection<string> excluded, string? reason) =>
        CloseAll(Snapshot(() => Members(group).Where(c => !excluded.Contains(c.Id))), reason);

    public void CloseAllConnections(IReadOnlyCollection<string> excluded, string? reason) =>
        CloseAll(Snapshot(() => connections.Values.Where(c => !excluded.Contains(c.Id))), reason);

    public bool UserExists(string userId)
    {
        lock (gate) return byUser.ContainsKey(userId);
    }

    public bool GroupExists(string group)
    {
        lock (gate) return byGroup.ContainsKey(group);
    }

    public bool ConnectionExists(string connectionId)
    {
        lock (gate) return connections.ContainsKey(connectionId);
    }

    // ---- Delivery and bookkeeping ----

    void CloseAll(LocalHubConnection[] targets, string? reason)
    {
        foreach (var connection in targets) Close(connection, reason ?? "ClosedByAppServer", WebSocketCloseStatus.NormalClosure);
    }

    /// <summary>
    /// Plain and raw clients share one frame per message; reliable ones each get their own sequenceId. Every frame
    /// takes its place in its socket's line here, in call order; a large audience's sockets then start sending in
    /// slices spread over the thread pool, so a fan-out uses every core without a thread-pool hop per member.
    /// </summary>
    void Deliver(LocalHubConnection[] targets, HubData data, string? group, string? fromUserId)
    {
        Outbound? json = null, raw = null;
        var starts = targets.Length > FanOutSlice ? new List<(LocalHubTransport, Outbound)>(targets.Length) : null;
        foreach (var connection in targets)
        {
            var kept = connection.Protocol switch
            {
                LocalHubProtocol.Raw => connection.TrySendData(_ => raw ??= LocalHubFrames.Raw(data), starts),
                LocalHubProtocol.Json => connection.TrySendData(_ => json ??= LocalHubFrames.Message(data, group, fromUserId, null), starts),
                _ => connection.TrySendData(sequenceId => LocalHubFrames.Message(data, group, fromUserId, sequenceId), starts),
            };
            if (!kept && Close(connection, "SlowClient: too many messages are waiting for this client.", WebSocketCloseStatus.PolicyViolation))
                logger.LogWarning("Closed connection {ConnectionId}: its client fell too far behind", connection.Id);
        }
        if (starts is null) return;
        var all = starts.ToArray();
        for (var from = FanOutSlice; from < all.Length; from += FanOutSlice)
            ThreadPool.UnsafeQueueUserWorkItem(StartAll, new ArraySegment<(LocalHubTransport, Outbound)>(
                all, from, Math.Min(FanOutSlice, all.Length - from)), preferLocal: false);
        StartAll(new ArraySegment<(LocalHubTransport, Outbound)>(all, 0, Math.Min(FanOutSlice, all.Length)));
    }

    static void StartAll(ArraySegment<(LocalHubTransport Socket, Outbound First)> slice)
    {
        foreach (var (socket, first) in slice) socket.Start(first);
    }

    LocalHubConnection[] Snapshot(Func<IEnumerable<LocalHubConnection>> select)
    {
        lock (gate) return select().ToArray();
    }

    IEnumerable<LocalHubConnection> Members(string group) => byGroup.GetValueOrDefault(group) ?? [];

    void Join(LocalHubConnection connection, string group)
    {
        if (connection.Groups.Add(group)) Index(byGroup, group).Add(connection);
    }

    void Leave(LocalHubConnection connection, string group)
    {
        if (connection.Groups.Remove(group)) Unindex(byGroup, group, connection);
    }

    static HashSet<T> Index<T>(Dictionary<string, HashSet<T>> index, string key)
    {
        if (!index.TryGetValue(key, out var set)) index[key] = set = [];
        return set;
    }

    static void Unindex<T>(Dictionary<string, HashSet<T>> index, string key, T item)
    {
        if (index.TryGetValue(key, out var set) && set.Remove(item) && set.Count == 0) index.Remove(key);
    }

    /// <summary>A client request of the JSON protocols, read strictly: a malformed one closes the connection.</summary>
    sealed record ClientRequest(string Type, ulong? AckId, string? Group, long? SequenceId, bool NoEcho, string DataType, JsonElement? Data)
    {
        public static ClientRequest Read(JsonElement root)
        {
            if (root.ValueKind != JsonValueKind.Object) throw new FormatException("not an object");
            var type = root.GetProperty("type").GetString() ?? throw new FormatException("type");
            return new ClientRequest(
                type,
                root.TryGetProperty("ackId", out var ackId) && ackId.ValueKind != JsonValueKind.Null ? ackId.GetUInt64() : null,
                root.TryGetProperty("group", out var group) ? group.GetString() : null,
                root.TryGetProperty("sequenceId", out var sequenceId) ? sequenceId.GetInt64() : null,
                root.TryGetProperty("noEcho", out var noEcho) && noEcho.GetBoolean(),
                root.TryGetProperty("dataType", out var dataType) ? dataType.GetString() ?? "json" : "json",
                root.TryGetProperty("data", out var data) ? data.Clone() : null);
        }

        public string RequireGroup() =>
            string.IsNullOrWhiteSpace(Group) || Group.Length > 1024 ? throw new FormatException("group") : Group;

        /// <summary>The payload of a sendToGroup, copied out of the frame.</summary>
        public HubData ReadData()
        {
            var data = Data ?? throw new FormatException("data");
            return DataType switch
            {
                "json" => new HubData(HubDataType.Json, Encoding.UTF8.GetBytes(data.GetRawText())),
                "text" => new HubData(HubDataType.Text, Encoding.UTF8.GetBytes(data.GetString() ?? throw new FormatException("data"))),
                "binary" => new HubData(HubDataType.Binary, data.GetBytesFromBase64()),
                _ => throw new FormatException("dataType"),
            };
        }
    }
}
