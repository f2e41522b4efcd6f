using System.Net.WebSockets;

namespace ImFunctions.Core.Push.LocalHub;

/// <summary>
/// A logical client connection. On the reliable protocol it outlives its socket: data messages get a sequenceId,
/// stay buffered until the client acks them, and are replayed when the client recovers on a new socket.
/// </summary>
public sealed class LocalHubConnection
{
    /// <summary>Frames a plain-JSON or raw client may have waiting before it counts as too slow.</summary>
    const int MaxQueuedFrames = 1000;
    const int MaxRememberedAckIds = 10_000;

    readonly Lock sync = new();
    readonly LocalHubOptions limits;
    readonly Queue<(long SequenceId, ReadOnlyMemory<byte> Frame)> unacked = new();
    readonly HashSet<ulong> ackIds = [];
    readonly Queue<ulong> ackOrder = new();
    LocalHubTransport? transport;
    long lastSequenceId, unackedBytes;
    int detachCount;
    bool closed;

    internal LocalHubConnection(string id, LocalHubClientIdentity identity, LocalHubProtocol protocol, string? reconnectionToken,
        LocalHubOptions limits)
    {
        Id = id;
        UserId = identity.UserId;
        Roles = identity.Roles;
        Protocol = protocol;
        ReconnectionToken = reconnectionToken;
        this.limits = limits;
    }

    public string Id { get; }
    public string? UserId { get; }
    public IReadOnlySet<string> Roles { get; }
    public LocalHubProtocol Protocol { get; }
    internal string? ReconnectionToken { get; }
    /// <summary>Guarded by the hub's lock.</summary>
    internal HashSet<string> Groups { get; } = new(StringComparer.Ordinal);

    public bool IsReliable => Protocol == LocalHubProtocol.ReliableJson;

    /// <summary>
    /// Queues a data message built for this connection (with its sequenceId when reliable). False when the connection
    /// cannot keep up: its un-acked buffer or its socket queue is over the limit, and the hub must close it.
    /// </summary>
    /// <param name="starts">Where to leave a socket this frame wakes, for the caller to start (a large fan-out spreads
    /// them over threads); null sends at once.</param>
    internal bool TrySendData(Func<long?, Outbound> frame, List<(LocalHubTransport, Outbound)>? starts = null)
    {
        lock (sync)
        {
            if (closed) return true;
            if (!IsReliable)
            {
                if (transport is null) return true;
                if (transport.QueuedFrames >= MaxQueuedFrames) return false;
                Hand(transport, frame(null), starts);
                return true;
            }
            var sequenceId = ++lastSequenceId;
            var built = frame(sequenceId);
            unacked.Enqueue((sequenceId, built.Bytes));
            unackedBytes += built.Bytes.Length;
            if (unacked.Count > limits.MaxUnackedMessages || unackedBytes > limits.MaxUnackedBytes) return false;
            if (transport is not null) Hand(transport, built, starts);
            return true;
        }
    }

    static void Hand(LocalHubTransport socket, Outbound frame, List<(LocalHubTransport, Outbound)>? starts)
    {
        if (starts is null) socket.Send(frame);
        else if (socket.Queue(frame)) starts.Add((socket, frame));
    }

    /// <summary>System frames (acks, pong): only to the current socket, never buffered.</summary>
    internal void SendSystem(Outbound frame)
    {
        lock (sync)
            if (!closed) transport?.Send(frame);
    }

    /// <summary>sequenceAck is cumulative: everything up to <paramref name="sequenceId"/> has arrived.</summary>
    internal void Acknowledge(long sequenceId)
    {
        lock (sync)
            while (unacked.TryPeek(out var head) && head.SequenceId <= sequenceId)
            {
                unacked.Dequeue();
                unackedBytes -= head.Frame.Length;
            }
    }

    internal bool HasProcessed(ulong ackId)
    {
        lock (sync) return ackIds.Contains(ackId);
    }

    /// <summary>Only successful requests are remembered, so a client may retry a refused one with the same ackId.</summary>
    internal void MarkProcessed(ulong ackId)
    {
        lock (sync)
        {
            if (!ackIds.Add(ackId)) return;
            ackOrder.Enqueue(ackId);
            if (ackOrder.Count > MaxRememberedAckIds) ackIds.Remove(ackOrder.Dequeue());
        }
    }

    /// <summary>Puts a socket under this connection: connected first, then every un-acked message in order.</summary>
    internal bool Attach(LocalHubTransport socket)
    {
        LocalHubTransport? previous;
        lock (sync)
        {
            if (closed) return false;
            previous = transport;
            transport = socket;
            // Raw clients get payloads only, never system messages.
            if (Protocol != LocalHubProtocol.Raw) socket.Send(LocalHubFrames.Connected(UserId, Id, ReconnectionToken));
            foreach (var (_, frame) in unacked) socket.Send(new Outbound(frame));
        }
        // A client may recover before the hub noticed its old socket broke.
        previous?.Abort();
        return true;
    }

    /// <summary>Takes <paramref name="socket"/> off the connection; a mark to check later, or null if it was not current.</summary>
    internal int? Detach(LocalHubTransport socket)
    {
        lock (sync)
        {
            if (transport != socket || closed) return null;
            transport = null;
            return ++detachCount;
        }
    }

    /// <summary>True while no socket came back since <see cref="Detach"/> returned <paramref name="mark"/>.</summary>
    internal bool StillDetached(int mark)
    {
        lock (sync) return !closed && transport is null && detachCount == mark;
    }

    internal bool IsCurrent(LocalHubTransport socket)
    {
        lock (sync) return transport == socket;
    }

    /// <summary>Ends the connection for good: a disconnected message, then the close frame. False if it was already closed.</summary>
    internal bool Close(string reason, WebSocketCloseStatus status)
    {
        lock (sync)
        {
            if (closed) return false;
            closed = true;
            unacked.Clear();
            unackedBytes = 0;
            if (transport is { } socket)
            {
                if (Protocol != LocalHubProtocol.Raw) socket.Send(LocalHubFrames.Disconnected(reason));
                socket.Close(status, reason);
                transport = null;
            }
            return true;
        }
    }
}
