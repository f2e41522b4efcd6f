using System.Net.WebSockets;
using System.Threading.Channels;

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
/// One client socket: frames leave through one ordered queue (a WebSocket allows one send at a time, and a close must
/// follow the frames queued before it); frames arrive through <see cref="ReadAsync"/>.
/// </summary>
public sealed class LocalHubTransport(WebSocket socket)
{
    /// <summary>Web PubSub's limit for one client frame.</summary>
    public const int MaxFrameBytes = 1024 * 1024;
    static readonly TimeSpan CloseHandshakeTimeout = TimeSpan.FromSeconds(2);

    readonly Channel<Outbound> outbound = Channel.CreateUnbounded<Outbound>();   // (a single-reader channel cannot count)
    readonly CancellationTokenSource lifetime = new();
    readonly Lock closeLock = new();
    (WebSocketCloseStatus Status, string Reason)? closing;

    public int QueuedFrames => outbound.Reader.Count;
    public WebSocketCloseStatus? ClientCloseStatus { get; private set; }

    public void Send(Outbound frame) => outbound.Writer.TryWrite(frame);

    /// <summary>Sends what is queued, then a close frame; a client that does not answer it is cut off shortly after.</summary>
    public void Close(WebSocketCloseStatus status, string reason)
    {
        lock (closeLock)
        {
            if (closing is not null) return;
            closing = (status, reason);
        }
        outbound.Writer.TryComplete();
        try { lifetime.CancelAfter(CloseHandshakeTimeout); } catch (ObjectDisposedException) { }
    }

    /// <summary>Drops the socket without a close frame (a recovered connection took over).</summary>
    public void Abort()
    {
        outbound.Writer.TryComplete();
        socket.Abort();
    }

    public async Task RunWriterAsync()
    {
        try
        {
            await foreach (var frame in outbound.Reader.ReadAllAsync(lifetime.Token))
                await socket.SendAsync(frame.Bytes, frame.Type, endOfMessage: true, lifetime.Token);
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

    /// <summary>Lets the writer finish and waits for it (the endpoint calls this before the request ends).</summary>
    public void Complete() => outbound.Writer.TryComplete();

    // A close reason is at most 123 bytes of UTF-8.
    static string Truncate(string reason) =>
        System.Text.Encoding.UTF8.GetByteCount(reason) <= 123 ? reason : reason[..Math.Min(reason.Length, 40)];
}
