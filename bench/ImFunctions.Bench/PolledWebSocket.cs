using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace ImFunctions.Bench;

/// <summary>
/// The client end of a WebSocket (RFC 6455) that costs the generator as little as a receiver can: the bench's
/// receivers stand in for clients on other machines, yet share this box's two cores with the server they measure.
/// <see cref="System.Net.WebSockets.ClientWebSocket"/> took ~18 µs of the bench's CPU per message received (a wake of
/// the runtime's socket thread, a thread-pool hop, ~1.6 <c>recv</c> calls), so 500 group members receiving 50,000
/// messages a second took as much CPU as the server did. Here every socket is in one epoll set that one thread reads
/// (<see cref="Poller"/>): a message costs one <c>recv</c> when it arrives alone, and several arrivals share one
/// wait. The handshake is synchronous and the sockets never make an asynchronous call, so the runtime's own socket
/// engine never watches them.
/// <para>Messages are handed over whole, with the time the read that completed them returned. Server frames are
/// unmasked; ours are masked, as the protocol requires.</para>
/// </summary>
public sealed class PolledWebSocket : IDisposable
{
    const string AcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    const byte Continuation = 0x0, Text = 0x1, Binary = 0x2, Close = 0x8, Ping = 0x9, Pong = 0xA;

    readonly Socket socket;
    readonly Lock sync = new();
    readonly Queue<byte[]> early = new();
    byte[] buffer;
    int count;
    readonly List<byte> fragments = [];
    Action<ReadOnlySpan<byte>, long>? onMessage;
    Action? onClosed;
    long id;
    bool closed;

    PolledWebSocket(Socket socket, int bufferSize)
    {
        this.socket = socket;
        buffer = new byte[bufferSize];
    }

    /// <summary>True until the server closed the socket or <see cref="Dispose"/> did.</summary>
    public bool IsOpen
    {
        get { lock (sync) return !closed; }
    }

    /// <summary>Connects and upgrades <paramref name="endpoint"/> (<c>ws://</c>) with one subprotocol, blocking the calling thread.</summary>
    public static PolledWebSocket Connect(Uri endpoint, string subprotocol, TimeSpan timeout, int bufferSize = 4096)
    {
        if (endpoint.Scheme != "ws") throw new ArgumentException($"only ws:// is spoken here, not {endpoint.Scheme}", nameof(endpoint));
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp)
        {
            NoDelay = true, ReceiveTimeout = (int)timeout.TotalMilliseconds, SendTimeout = (int)timeout.TotalMilliseconds,
        };
        try
        {
            socket.Connect(endpoint.Host, endpoint.Port);
            var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
            socket.Send(Encoding.ASCII.GetBytes(
                $"GET {endpoint.PathAndQuery} HTTP/1.1\r\nHost: {endpoint.Authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
                $"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {subprotocol}\r\n\r\n"));
            var client = new PolledWebSocket(socket, bufferSize);
            var headers = client.ReadHandshakeAnswer();
            var accept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + AcceptGuid)));
            if (!headers.StartsWith("HTTP/1.1 101", StringComparison.Ordinal) || !HasHeader(headers, "Sec-WebSocket-Accept", accept)
                || !HasHeader(headers, "Sec-WebSocket-Protocol", subprotocol))
                throw new IOException($"WebSocket upgrade refused: {headers.Split("\r\n")[0]}");
            return client;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new IOException($"WebSocket to {endpoint.Authority}: {e.SocketErrorCode}", e);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    static bool HasHeader(string headers, string name, string value) =>
        headers.Split("\r\n").Any(line => line.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase)
                                          && line[(name.Length + 1)..].Trim() == value);

    /// <summary>The answer's status line and headers; what follows them (frames already sent) stays in the buffer.</summary>
    string ReadHandshakeAnswer()
    {
        while (true)
        {
            var end = buffer.AsSpan(0, count).IndexOf("\r\n\r\n"u8);
            if (end >= 0)
            {
                var headers = Encoding.ASCII.GetString(buffer, 0, end);
                count -= end + 4;
                buffer.AsSpan(end + 4, count).CopyTo(buffer);
                return headers;
            }
            if (count >= 64 * 1024) throw new IOException("WebSocket upgrade: the answer's headers are too long");
            if (ReadMore(out var error) == 0) throw ReadEnded("WebSocket upgrade", error);
        }
    }

    /// <summary>One read into the buffer's free end, grown when full: the bytes read, 0 when the socket closed or failed.</summary>
    int ReadMore(out SocketError error)
    {
        if (count == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2);
        var read = socket.Receive(buffer.AsSpan(count), SocketFlags.None, out error);
        if (error != SocketError.Success) return 0;
        count += read;
        return read;
    }

    static IOException ReadEnded(string during, SocketError error) => new(error == SocketError.Success
        ? $"{during}: the server closed the socket"
        : $"{during}: the socket's read failed ({error})");

    /// <summary>Blocks until the next whole message (for a handshake spoken over the socket before <see cref="Start"/>).</summary>
    public byte[] Receive()
    {
        lock (sync)
        {
            if (onMessage is not null) throw new InvalidOperationException("the socket is polled already");
            while (early.Count == 0)
            {
                if (!TakeFrames(Stopwatch.GetTimestamp(), (message, _) => early.Enqueue(message.ToArray())) && early.Count == 0)
                {
                    if (closed) throw new IOException("the server closed the socket");
                    if (ReadMore(out var error) == 0) throw ReadEnded("a message", error);
                }
            }
            return early.Dequeue();
        }
    }

    public void Send(ReadOnlySpan<byte> message) => SendFrame(Text, message);

    /// <summary>
    /// From now on every message goes to <paramref name="handler"/> on the poller's thread, those already read first;
    /// <paramref name="onClose"/> runs once when the socket closes, whoever closes it.
    /// </summary>
    public void Start(Action<ReadOnlySpan<byte>, long> handler, Action? onClose = null)
    {
        lock (sync)
        {
            (onMessage, onClosed) = (handler, onClose);
            var now = Stopwatch.GetTimestamp();
            while (early.TryDequeue(out var message)) handler(message, now);
            if (closed)
            {
                // Closed while a handshake read before polling began.
                onClose?.Invoke();
                return;
            }
            TakeFrames(now, handler);
            if (closed) return;
            socket.Blocking = false;
            id = Poller.Add(this, socket);
        }
    }

    /// <summary>On the poller's thread: the socket has bytes or was closed.</summary>
    void OnReadable()
    {
        lock (sync)
        {
            if (closed || onMessage is null) return;
            if (ReadMore(out var error) > 0) TakeFrames(Stopwatch.GetTimestamp(), onMessage);
            else if (error != SocketError.WouldBlock) Shut();
        }
    }

    /// <summary>Hands over every whole message in the buffer and keeps the rest; false when none was whole.</summary>
    bool TakeFrames(long arrived, Action<ReadOnlySpan<byte>, long> handler)
    {
        var (offset, needed) = (0, 0);
        var took = false;
        while (!closed)
        {
            var frame = buffer.AsSpan(offset, count - offset);
            if (frame.Length < 2) break;
            var (fin, opcode, length, header) = ((frame[0] & 0x80) != 0, (byte)(frame[0] & 0x0F), (long)(frame[1] & 0x7F), 2);
            if ((frame[1] & 0x80) != 0) throw new IOException("a server frame was masked");
            if (length == 126)
            {
                if (frame.Length < 4) break;
                (length, header) = (BinaryPrimitives.ReadUInt16BigEndian(frame[2..]), 4);
            }
            else if (length == 127)
            {
                if (frame.Length < 10) break;
                (length, header) = ((long)BinaryPrimitives.ReadUInt64BigEndian(frame[2..]), 10);
            }
            if (frame.Length < header + length)
            {
                needed = (int)(header + length);
                break;
            }
            var payload = frame.Slice(header, (int)length);
            offset += header + (int)length;
            switch (opcode)
            {
                case Text or Binary when fin && fragments.Count == 0:
                    handler(payload, arrived);
                    took = true;
                    break;
                case Text or Binary or Continuation:
                    fragments.AddRange(payload);
                    if (!fin) break;
                    handler(CollectionsMarshal.AsSpan(fragments), arrived);
                    fragments.Clear();
                    took = true;
                    break;
                case Ping:
                    SendFrame(Pong, payload);
                    break;
                case Close:
                    SendFrame(Close, payload[..Math.Min(2, payload.Length)]);
                    Shut();
                    break;
            }
        }
        count -= offset;
        buffer.AsSpan(offset, count).CopyTo(buffer);
        if (needed > buffer.Length) Array.Resize(ref buffer, needed);
        return took;
    }

    void SendFrame(byte opcode, ReadOnlySpan<byte> payload)
    {
        var header = payload.Length < 126 ? 2 : payload.Length <= ushort.MaxValue ? 4 : 10;
        var frame = new byte[header + 4 + payload.Length];
        frame[0] = (byte)(0x80 | opcode);
        if (header == 2) frame[1] = (byte)(0x80 | payload.Length);
        else if (header == 4) (frame[1], _) = ((byte)(0x80 | 126), BinaryPrimitives.TryWriteUInt16BigEndian(frame.AsSpan(2), (ushort)payload.Length));
        else (frame[1], _) = ((byte)(0x80 | 127), BinaryPrimitives.TryWriteUInt64BigEndian(frame.AsSpan(2), (ulong)payload.Length));
        var mask = frame.AsSpan(header, 4);
        RandomNumberGenerator.Fill(mask);
        for (var i = 0; i < payload.Length; i++) frame[header + 4 + i] = (byte)(payload[i] ^ mask[i % 4]);
        lock (sync)
        {
            if (closed) return;
            var sent = 0;
            // A non-blocking socket may take a frame in parts; ours are small, so waiting for room is rare and short.
            while (sent < frame.Length)
            {
                var n = socket.Send(frame.AsSpan(sent), SocketFlags.None, out var error);
                if (error == SocketError.WouldBlock) { Thread.Sleep(1); continue; }
                if (error != SocketError.Success) { Shut(); return; }
                sent += n;
            }
        }
    }

    /// <summary>Out of the poller's set, then closed; under <see cref="sync"/>.</summary>
    void Shut()
    {
        if (closed) return;
        closed = true;
        if (id != 0) Poller.Remove(id, socket);
        socket.Dispose();
        onClosed?.Invoke();
    }

    /// <summary>Says goodbye (a close frame, not waiting for the server's) and closes the socket.</summary>
    public void Dispose()
    {
        lock (sync)
        {
            if (closed) return;
            SendFrame(Close, [0x03, 0xE8]);
            Shut();
        }
    }

    /// <summary>One epoll set, level-triggered, read by one thread for the life of the process.</summary>
    static class Poller
    {
        const int CtlAdd = 1, CtlDelete = 2;
        const uint In = 0x001, ReadHangUp = 0x2000;
        const int Batch = 256;
        /// <summary>struct epoll_event: a 32-bit event mask and 64 bits of data, packed on x86-64 only.</summary>
        static readonly int EventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;

        static readonly ConcurrentDictionary<long, PolledWebSocket> Sockets = new();
        static readonly Lazy<int> Set = new(Create);
        static long lastId;

        [DllImport("libc", SetLastError = true)] static extern int epoll_create1(int flags);
        [DllImport("libc", SetLastError = true)] static extern int epoll_ctl(int set, int op, int fd, byte[] @event);
        [DllImport("libc", SetLastError = true)] static extern int epoll_wait(int set, byte[] events, int max, int timeoutMs);

        static int Create()
        {
            var set = epoll_create1(0);
            if (set < 0) throw new IOException($"epoll_create1 failed: errno {Marshal.GetLastPInvokeError()}");
            new Thread(() => Run(set)) { IsBackground = true, Name = "Bench socket poller" }.Start();
            return set;
        }

        public static long Add(PolledWebSocket client, Socket socket)
        {
            var id = Interlocked.Increment(ref lastId);
            Sockets[id] = client;
            var @event = new byte[EventSize];
            BinaryPrimitives.WriteUInt32LittleEndian(@event, In | ReadHangUp);
            BinaryPrimitives.WriteInt64LittleEndian(@event.AsSpan(EventSize - 8), id);
            if (epoll_ctl(Set.Value, CtlAdd, (int)socket.Handle, @event) != 0)
            {
                Sockets.TryRemove(id, out _);
                throw new IOException($"epoll_ctl ADD failed: errno {Marshal.GetLastPInvokeError()}");
            }
            return id;
        }

        public static void Remove(long id, Socket socket)
        {
            Sockets.TryRemove(id, out _);
            epoll_ctl(Set.Value, CtlDelete, (int)socket.Handle, new byte[EventSize]);
        }

        static void Run(int set)
        {
            var events = new byte[Batch * EventSize];
            while (true)
            {
                var ready = epoll_wait(set, events, Batch, -1);
                for (var i = 0; i < ready; i++)
                {
                    if (!Sockets.TryGetValue(BinaryPrimitives.ReadInt64LittleEndian(events.AsSpan(i * EventSize + EventSize - 8)), out var client))
                        continue;
                    try
                    {
                        client.OnReadable();
                    }
                    catch (Exception e)
                    {
                        // One socket's broken frame or handler must not stop the others: that socket is closed.
                        Console.Error.WriteLine($"bench socket poller: a socket closed after {e.GetType().Name}: {e.Message}");
                        lock (client.sync) client.Shut();
                    }
                }
            }
        }
    }
}
