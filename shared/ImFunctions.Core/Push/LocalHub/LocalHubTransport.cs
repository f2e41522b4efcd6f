using System.Net.WebSockets;

namespace ImFunctions.Core.Push.LocalHub;

/// <summary>How a socket ended, which decides whether its logical connection may be recovered.</summary>
public enum TransportEnd
{
    /// <summary>The client sent a close frame; its status is in <see cref="LocalHubTransport.ClientCloseStatus"/>.</summary>
    ClientClosed,
    /// <summary>The socket broke (no close frame): a reliable client will try to recover.</summary>
    Dropped,
    /// <summary>The hub closed it.</summary>
    ClosedByHub,
}

/// <summary>What the hub makes of one client frame.</summary>
public readonly record struct FrameVerdict(WebSocketCloseStatus? Close = null, string? Reason = null)
{
    public static readonly FrameVerdict Continue = new();
    public static FrameVerdict CloseWith(WebSocketCloseStatus status, string reason) => new(status, reason);
}

/// <summary>
/// One client socket: frames leave in the order they were handed over (a WebSocket allows one send at a time, and a
/// close must follow the frames queued before it); frames arrive through <see cref="ReadAsync"/>. A frame handed to an
/// idle socket is sent on the thread that starts it (for a WebSocket over Kestrel: copied into the connection's output
/// pipe, no waiting), not on a thread-pool hop of its own; frames handed over while a send is under way queue behind
/// it and go out from the thread that sends them.
/// </summary>
public sealed class LocalHubTransport(WebSocket socket)
{
    /// <summary>Web PubSub's limit for one client frame.</summary>
    public const int MaxFrameBytes = 1024 * 1024;
    static readonly TimeSpan CloseHandshakeTimeout = TimeSpan.FromSeconds(2);

    readonly Lock sendLock = new();
    readonly Queue<Outbound> queued = new();
    readonly TaskCompletionSource sent = new(TaskCreationOptions.RunContinuationsAsynchronously);
    readonly CancellationTokenSource lifetime = new();
    readonly Lock closeLock = new();
    (WebSocketCloseStatus Status, string Reason)? closing;
    bool sending, completed, broken;

    /// <summary>Frames waiting behind the one being sent.</summary>
    public int QueuedFrames
    {
        get { lock (sendLock) return queued.Count; }
    }

    public WebSocketCloseStatus? ClientCloseStatus { get; private set; }

    public void Send(Outbound frame)
    {
        if (Queue(frame)) Start(frame);
    }

    /// <summary>
    /// Takes <paramref name="frame"/> in its place in line. True when the socket was idle: the frame is then the
    /// first of a new run of sends, which the caller must begin with <see cref="Start"/> (at once or from another
    /// thread; frames handed over meanwhile queue behind it).
    /// </summary>
    internal bool Queue(Outbound frame)
    {
        lock (sendLock)
        {
            if (completed) return false;
            if (sending)
            {
                queued.Enqueue(frame);
                return false;
            }
            sending = true;
            return true;
        }
    }

    /// <summary>Sends <paramref name="frame"/> (the one <see cref="Queue"/> said begins a run), then whatever queued behind it.</summary>
    internal void Start(Outbound frame) => _ = SendFromAsync(frame);

    async Task SendFromAsync(Outbound frame)
    {
        try
        {
            while (true)
            {
                // No token: a send waits only for room in the output pipe, and the close timeout aborts the socket.
                await socket.SendAsync(frame.Bytes, frame.Type, endOfMessage: true, CancellationToken.None);
                lock (sendLock)
                {
                    if (!queued.TryDequeue(out frame))
                    {
                        sending = false;
                        if (completed) sent.TrySetResult();
                        return;
                    }
                }
            }
        }
        catch (Exception e)
        {
            lock (sendLock)
            {
                (completed, broken, sending) = (true, true, false);
                queued.Clear();
            }
            if (e is WebSocketException or OperationCanceledException or ObjectDisposedException) sent.TrySetResult();
            else
            {
                // A defect, not the socket ending: drop the socket and let the endpoint's await of the writer throw it.
                socket.Abort();
                sent.TrySetException(e);
            }
        }
    }

    /// <summary>Sends what is queued, then a close frame; a client that does not answer it is cut off shortly after.</summary>
    public void Close(WebSocketCloseStatus status, string reason)
    {
        lock (closeLock)
        {
            if (closing is not null) return;
            closing = (status, reason);
        }
        Complete();
        try
        {
            lifetime.Token.Register(socket.Abort);
            lifetime.CancelAfter(CloseHandshakeTimeout);
        }
        catch (ObjectDisposedException) { }
    }

    /// <summary>Drops the socket without a close frame (a recovered connection took over).</summary>
    public void Abort()
    {
        Complete();
        socket.Abort();
    }

    /// <summary>Waits until every frame handed over before <see cref="Complete"/> or <see cref="Close"/> is sent, then closes the socket's output.</summary>
    public async Task RunWriterAsync()
    {
        await sent.Task;
        if (broken) return;
        try
        {
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                var (status, reason) = closing ?? (WebSocketCloseStatus.NormalClosure, "");
                await socket.CloseOutputAsync(status, Truncate(reason), lifetime.Token);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException) { }
    }

    /// <summary>Reads until the socket ends, handing each complete frame to <paramref name="onFrame"/>.</summary>
    public async Task<TransportEnd> ReadAsync(Func<ReadOnlyMemory<byte>, WebSocketMessageType, FrameVerdict> onFrame)
    {
        var buffer = new byte[8192];
        using var message = new MemoryStream();
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer, lifetime.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    ClientCloseStatus = result.CloseStatus;
                    return closing is null ? TransportEnd.ClientClosed : TransportEnd.ClosedByHub;
                }
                if (closing is not null) continue;   // draining until the client answers the close
                message.Write(buffer, 0, result.Count);
                if (message.Length > MaxFrameBytes)
                {
                    Close(WebSocketCloseStatus.MessageTooBig, "A client message is limited to 1 MB.");
                    continue;
                }
                if (!result.EndOfMessage) continue;
                var verdict = onFrame(message.GetBuffer().AsMemory(0, (int)message.Length), result.MessageType);
                message.SetLength(0);
                if (verdict.Close is { } status) Close(status, verdict.Reason ?? "");
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            return closing is null ? TransportEnd.Dropped : TransportEnd.ClosedByHub;
        }
    }

    /// <summary>No more frames: the writer finishes once those handed over are sent (the endpoint calls this before the request ends).</summary>
    public void Complete()
    {
        lock (sendLock)
        {
            if (completed) return;
            completed = true;
            if (sending) return;
        }
        sent.TrySetResult();
    }

    // A close reason is at most 123 bytes of UTF-8.
    static string Truncate(string reason) =>
        System.Text.Encoding.UTF8.GetByteCount(reason) <= 123 ? reason : reason[..Math.Min(reason.Length, 40)];
}
