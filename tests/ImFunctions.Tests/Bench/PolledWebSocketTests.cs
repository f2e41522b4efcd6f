using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using ImFunctions.Bench;

namespace ImFunctions.Tests.Bench;

/// <summary>
/// The bench's receiving socket (bench/ImFunctions.Bench/PolledWebSocket.cs) against a server that writes RFC 6455
/// frames by hand: whole messages in order whatever the frames' lengths and however the bytes are split, fragments
/// joined, pings answered with masked pongs, a close answered, and an upgrade that is not one refused.
/// </summary>
public sealed class PolledWebSocketTests
{
    const string Subprotocol = "json.webpubsub.azure.v1";

    [Test]
    public async Task Messages_of_every_length_arrive_whole_and_in_order_even_split_byte_by_byte()
    {
        await using var server = await HandServer.StartAsync();
        var messages = new[] { Text(5), Text(300), Text(70_000), Text(125), Text(126), Text(65_535), Text(65_536) };
        var client = await server.ConnectAsync(bufferSize: 64, early: Frame(0x81, Encoding.UTF8.GetBytes("early")));
        Assert.That(Encoding.UTF8.GetString(client.Receive()), Is.EqualTo("early"), "a message sent along with the 101 answer");

        var got = new BlockingCollection<string>();
        client.Start((message, at) => got.Add(Encoding.UTF8.GetString(message)));
        foreach (var (message, i) in messages.Select((m, i) => (m, i)))
            await server.WriteAsync(Frame(0x81, Encoding.UTF8.GetBytes(message)), byteByByte: i < 2);
        foreach (var message in messages) Assert.That(Take(got), Is.EqualTo(message));
        client.Dispose();
    }

    [Test]
    public async Task Fragments_join_into_one_message_and_a_ping_between_them_is_answered_with_a_masked_pong()
    {
        await using var server = await HandServer.StartAsync();
        var client = await server.ConnectAsync();
        var got = new BlockingCollection<string>();
        client.Start((message, at) => got.Add(Encoding.UTF8.GetString(message)));

        await server.WriteAsync([.. Frame(0x01, "hel"u8.ToArray()), .. Frame(0x89, "p1"u8.ToArray()), .. Frame(0x00, "lo "u8.ToArray()),
            .. Frame(0x80, "world"u8.ToArray()), .. Frame(0x81, "next"u8.ToArray())]);
        Assert.That(Take(got), Is.EqualTo("hello world"));
        Assert.That(Take(got), Is.EqualTo("next"));
        var (opcode, payload) = await server.ReadClientFrameAsync();
        Assert.That((opcode, Encoding.UTF8.GetString(payload)), Is.EqualTo((0xA, "p1")));
        client.Dispose();
    }

    [Test]
    public async Task A_close_from_the_server_is_answered_closes_the_socket_and_is_told_once_and_ours_says_goodbye()
    {
        await using (var server = await HandServer.StartAsync())
        {
            var client = await server.ConnectAsync();
            var closes = 0;
            client.Start((_, _) => { }, () => Interlocked.Increment(ref closes));
            await server.WriteAsync(Frame(0x88, [0x03, 0xE8]));
            Assert.That(await server.ReadClientFrameAsync(), Is.EqualTo((0x8, new byte[] { 0x03, 0xE8 })).Using<(int, byte[])>(SameFrame));
            Assert.That(() => client.IsOpen, Is.False.After(5000, 20));
            client.Dispose();
            Assert.That(closes, Is.EqualTo(1), "told once that the socket closed");
        }
        await using (var server = await HandServer.StartAsync())
        {
            var client = await server.ConnectAsync();
            client.Send("bye?"u8);
            Assert.That(await server.ReadClientFrameAsync(), Is.EqualTo((0x1, "bye?"u8.ToArray())).Using<(int, byte[])>(SameFrame));
            client.Dispose();
            Assert.That(await server.ReadClientFrameAsync(), Is.EqualTo((0x8, new byte[] { 0x03, 0xE8 })).Using<(int, byte[])>(SameFrame));
            Assert.That(client.IsOpen, Is.False);
        }
    }

    [Test]
    public async Task An_answer_that_is_not_this_upgrade_is_refused()
    {
        await using (var server = await HandServer.StartAsync(answer: _ => "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"))
            Assert.That(async () => await server.ConnectAsync(), Throws.InstanceOf<IOException>().With.Message.Contains("403"));
        await using (var server = await HandServer.StartAsync(answer: _ => Upgrade("not-the-accept-value")))
            Assert.That(async () => await server.ConnectAsync(), Throws.InstanceOf<IOException>());
    }

    static bool SameFrame((int Opcode, byte[] Payload) a, (int Opcode, byte[] Payload) b) => a.Opcode == b.Opcode && a.Payload.SequenceEqual(b.Payload);

    static string Take(BlockingCollection<string> got) =>
        got.TryTake(out var message, TimeSpan.FromSeconds(10)) ? message : throw new AssertionException("no message within 10 s");

    static string Text(int length) => string.Create(length, length, (span, n) =>
    {
        for (var i = 0; i < span.Length; i++) span[i] = (char)('a' + (n + i) % 26);
    });

    /// <summary>An unmasked server frame; <paramref name="first"/> is FIN and the opcode.</summary>
    static byte[] Frame(byte first, byte[] payload)
    {
        var header = payload.Length < 126 ? new byte[] { first, (byte)payload.Length }
            : payload.Length <= ushort.MaxValue ? [first, 126, (byte)(payload.Length >> 8), (byte)payload.Length]
            : [first, 127, 0, 0, 0, 0, (byte)(payload.Length >> 24), (byte)(payload.Length >> 16), (byte)(payload.Length >> 8), (byte)payload.Length];
        return [.. header, .. payload];
    }

    static string Upgrade(string accept) =>
        $"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Protocol: {Subprotocol}\r\n\r\n";

    /// <summary>One connection on loopback, answered and written to by hand.</summary>
    sealed class HandServer : IAsyncDisposable
    {
        readonly TcpListener listener = new(IPAddress.Loopback, 0);
        readonly Func<string, string> answer;
        Socket? accepted;

        HandServer(Func<string, string> answer) => this.answer = answer;

        public static Task<HandServer> StartAsync(Func<string, string>? answer = null)
        {
            var server = new HandServer(answer ?? (key => Upgrade(Convert.ToBase64String(
                SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))))));
            server.listener.Start();
            return Task.FromResult(server);
        }

        public async Task<PolledWebSocket> ConnectAsync(int bufferSize = 4096, byte[]? early = null)
        {
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            var connecting = Task.Run(() => PolledWebSocket.Connect(new Uri($"ws://127.0.0.1:{port}/client?x=1"), Subprotocol, TimeSpan.FromSeconds(10), bufferSize));
            accepted = await listener.AcceptSocketAsync();
            var request = await ReadRequestAsync(accepted);
            Assert.That(request, Does.StartWith("GET /client?x=1 HTTP/1.1\r\n"));
            Assert.That(request, Does.Contain($"Sec-WebSocket-Protocol: {Subprotocol}\r\n"));
            var key = request.Split("\r\n").Single(l => l.StartsWith("Sec-WebSocket-Key: "))["Sec-WebSocket-Key: ".Length..];
            await accepted.SendAsync((byte[])[.. Encoding.ASCII.GetBytes(answer(key)), .. early ?? []]);
            return await connecting;
        }

        static async Task<string> ReadRequestAsync(Socket socket)
        {
            var request = new List<byte>();
            var one = new byte[1];
            while (!Encoding.ASCII.GetString([.. request]).EndsWith("\r\n\r\n"))
            {
                if (await socket.ReceiveAsync(one) == 0) throw new IOException("the client closed during its request");
                request.Add(one[0]);
            }
            return Encoding.ASCII.GetString([.. request]);
        }

        public async Task WriteAsync(byte[] bytes, bool byteByByte = false)
        {
            if (!byteByByte)
            {
                await accepted!.SendAsync(bytes);
                return;
            }
            foreach (var b in bytes)
            {
                await accepted!.SendAsync(new[] { b });
                await Task.Delay(1);
            }
        }

        /// <summary>The next frame the client sent, unmasked; client frames must be masked.</summary>
        public async Task<(int Opcode, byte[] Payload)> ReadClientFrameAsync()
        {
            var head = await ReadExactlyAsync(2);
            Assert.That(head[1] & 0x80, Is.EqualTo(0x80), "a client frame must be masked");
            long length = head[1] & 0x7F;
            if (length == 126) length = BinaryPrimitives.ReadUInt16BigEndian(await ReadExactlyAsync(2));
            else if (length == 127) length = (long)BinaryPrimitives.ReadUInt64BigEndian(await ReadExactlyAsync(8));
            var mask = await ReadExactlyAsync(4);
            var payload = await ReadExactlyAsync((int)length);
            for (var i = 0; i < payload.Length; i++) payload[i] ^= mask[i % 4];
            return (head[0] & 0x0F, payload);
        }

        async Task<byte[]> ReadExactlyAsync(int count)
        {
            var bytes = new byte[count];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            for (var read = 0; read < count; )
            {
                var n = await accepted!.ReceiveAsync(bytes.AsMemory(read), SocketFlags.None, timeout.Token);
                if (n == 0) throw new IOException("the client closed the socket");
                read += n;
            }
            return bytes;
        }

        public ValueTask DisposeAsync()
        {
            accepted?.Dispose();
            listener.Stop();
            return ValueTask.CompletedTask;
        }
    }
}
