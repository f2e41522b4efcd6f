using System.Net.WebSockets;
using System.Text;
using ImFunctions.Core.Push.LocalHub;

namespace ImFunctions.Tests.Push;

// One socket's outbound line, step by step, over a WebSocket whose sends finish when the test says so: frames leave in
// the order they were handed over whichever thread starts them, a close follows them, and a socket that stops
// reading is cut off instead of holding its writer forever.
[TestFixture]
public class LocalHubTransportTests
{
    static Outbound Frame(string text) => new(Encoding.UTF8.GetBytes(text));

    [Test]
    public async Task Frames_handed_over_while_a_send_is_under_way_follow_it_in_order_then_the_close()
    {
        var socket = new ScriptedSocket();
        var transport = new LocalHubTransport(socket);
        var writer = transport.RunWriterAsync();
        var first = socket.HoldNextSend();

        transport.Send(Frame("a"));
        transport.Send(Frame("b"));
        transport.Send(Frame("c"));
        Assert.That(socket.Sent, Is.EqualTo(new[] { "a" }), "b and c wait behind a");
        Assert.That(transport.QueuedFrames, Is.EqualTo(2));

        transport.Complete();
        first.SetResult();
        await writer.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.That(socket.Sent, Is.EqualTo(new[] { "a", "b", "c", "close 1000" }));
    }

    [Test]
    public async Task A_run_started_later_sends_its_first_frame_and_everything_queued_behind_it_in_order()
    {
        var socket = new ScriptedSocket();
        var transport = new LocalHubTransport(socket);

        Assert.That(transport.Queue(Frame("a")), Is.True, "an idle socket: the caller starts the run");
        Assert.That(transport.Queue(Frame("b")), Is.False);
        Assert.That(socket.Sent, Is.Empty, "nothing leaves before the run is started");

        await Task.Run(() => transport.Start(Frame("a")));   // as a fan-out slice does, from another thread
        transport.Send(Frame("c"));
        Assert.That(socket.Sent, Is.EqualTo(new[] { "a", "b", "c" }));
    }

    [Test]
    public async Task A_failed_send_ends_the_writer_without_a_close_and_later_frames_are_dropped()
    {
        var socket = new ScriptedSocket { FailSends = true };
        var transport = new LocalHubTransport(socket);
        var writer = transport.RunWriterAsync();

        transport.Send(Frame("a"));
        await writer.WaitAsync(TimeSpan.FromSeconds(10));
        socket.FailSends = false;
        transport.Send(Frame("b"));

        Assert.That(socket.Sent, Is.EqualTo(new[] { "a" }), "no close frame after a broken send, and nothing after it");
        Assert.That(transport.QueuedFrames, Is.Zero);
    }

    [Test]
    public async Task A_close_behind_a_send_that_never_finishes_cuts_the_socket_off()
    {
        var socket = new ScriptedSocket();
        var transport = new LocalHubTransport(socket);
        var writer = transport.RunWriterAsync();
        socket.HoldNextSend();   // a client that stopped reading: its socket never takes the frame

        transport.Send(Frame("a"));
        transport.Send(Frame("b"));
        transport.Close(WebSocketCloseStatus.PolicyViolation, "SlowClient");
        Assert.That(writer.IsCompleted, Is.False, "the close waits for the frames ahead of it");

        await writer.WaitAsync(TimeSpan.FromSeconds(10));   // the close handshake's 2 s, then the abort
        Assert.That(socket.Aborted, Is.True);
        Assert.That(socket.Sent, Is.EqualTo(new[] { "a" }));
    }

    [Test]
    public async Task A_defect_in_a_send_reaches_the_writer_instead_of_leaving_it_waiting()
    {
        var socket = new ScriptedSocket { Defect = new InvalidOperationException("bug") };
        var transport = new LocalHubTransport(socket);
        var writer = transport.RunWriterAsync();

        transport.Send(Frame("a"));

        Assert.That(async () => await writer.WaitAsync(TimeSpan.FromSeconds(10)), Throws.InvalidOperationException);
        Assert.That(socket.Aborted, Is.True);
    }

    /// <summary>A WebSocket that records what is sent; a send can be held until the test releases it, or fail.</summary>
    sealed class ScriptedSocket : WebSocket
    {
        readonly List<string> sent = [];
        TaskCompletionSource? hold, held;
        WebSocketState state = WebSocketState.Open;

        public bool FailSends { get; set; }
        public Exception? Defect { get; init; }
        public bool Aborted { get; private set; }

        public IReadOnlyList<string> Sent
        {
            get { lock (sent) return sent.ToList(); }
        }

        /// <summary>The next send stays under way until the returned source completes (or the socket is aborted).</summary>
        public TaskCompletionSource HoldNextSend() => hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        public override ValueTask SendAsync(ReadOnlyMemory<byte> buffer, WebSocketMessageType messageType, bool endOfMessage,
            CancellationToken cancellationToken)
        {
            if (Defect is { } defect) throw defect;
            if (state != WebSocketState.Open) return ValueTask.FromException(new WebSocketException(WebSocketError.InvalidState));
            lock (sent) sent.Add(Encoding.UTF8.GetString(buffer.Span));
            if (FailSends) return ValueTask.FromException(new WebSocketException(WebSocketError.ConnectionClosedPrematurely));
            if (hold is null) return ValueTask.CompletedTask;
            (held, hold) = (hold, null);
            return new ValueTask(held.Task);
        }

        public override Task CloseOutputAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken)
        {
            lock (sent) sent.Add($"close {(int)closeStatus}");
            state = WebSocketState.CloseSent;
            return Task.CompletedTask;
        }

        public override void Abort()
        {
            Aborted = true;
            state = WebSocketState.Aborted;
            held?.TrySetException(new WebSocketException(WebSocketError.ConnectionClosedPrematurely));
        }

        public override WebSocketState State => state;
        public override WebSocketCloseStatus? CloseStatus => null;
        public override string? CloseStatusDescription => null;
        public override string? SubProtocol => null;
        public override Task CloseAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken) =>
            CloseOutputAsync(closeStatus, statusDescription, cancellationToken);
        public override Task<WebSocketReceiveResult> ReceiveAsync(ArraySegment<byte> buffer, CancellationToken cancellationToken) =>
            throw new NotSupportedException();
        public override Task SendAsync(ArraySegment<byte> buffer, WebSocketMessageType messageType, bool endOfMessage,
            CancellationToken cancellationToken) => SendAsync(buffer.AsMemory(), messageType, endOfMessage, cancellationToken).AsTask();
        public override void Dispose() { }
    }
}
