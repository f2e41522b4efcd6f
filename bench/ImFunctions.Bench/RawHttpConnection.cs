using System.Buffers.Text;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ImFunctions.Bench;

/// <summary>
/// One keep-alive HTTP/1.1 connection that sends prebuilt requests and reads status and body. The load generator
/// shares two cores with the server, so it must cost far less per request than HttpClient does.
/// </summary>
public sealed class RawHttpConnection : IDisposable
{
    readonly EndPoint endPoint;
    Socket? socket;
    byte[] buffer = new byte[16 * 1024];
    int start, end;

    public RawHttpConnection(int port) => endPoint = new IPEndPoint(IPAddress.Loopback, port);

    public static byte[] Post(int port, string path, string? bearer, ReadOnlySpan<byte> json)
    {
        var head = new StringBuilder()
            .Append("POST ").Append(path).Append(" HTTP/1.1\r\nHost: 127.0.0.1:").Append(port).Append("\r\n");
        if (bearer is not null) head.Append("Authorization: Bearer ").Append(bearer).Append("\r\n");
        head.Append("Content-Type: application/json\r\nContent-Length: ").Append(json.Length).Append("\r\n\r\n");
        var headBytes = Encoding.ASCII.GetBytes(head.ToString());
        var request = new byte[headBytes.Length + json.Length];
        headBytes.CopyTo(request, 0);
        json.CopyTo(request.AsSpan(headBytes.Length));
        return request;
    }

    /// <summary>Sends one request and returns the status and the (de-chunked) body; reconnects when the server closed.</summary>
    public async Task<(int Status, byte[] Body)> SendAsync(byte[] request, CancellationToken ct)
    {
        if (socket is null)
        {
            socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(endPoint, ct);
            start = end = 0;
        }
        try
        {
            await socket.SendAsync(request, SocketFlags.None, ct);
            return await ReadResponseAsync(ct);
        }
        catch
        {
            Close();
            throw;
        }
    }

    async Task<(int Status, byte[] Body)> ReadResponseAsync(CancellationToken ct)
    {
        int headerEnd;
        while ((headerEnd = buffer.AsSpan(start, end - start).IndexOf("\r\n\r\n"u8)) < 0) await FillAsync(ct);
        var head = Encoding.ASCII.GetString(buffer, start, headerEnd);
        start += headerEnd + 4;

        var status = int.Parse(head.AsSpan(9, 3));
        long contentLength = -1;
        var chunked = false;
        var close = false;
        foreach (var line in head.Split("\r\n").Skip(1))
        {
            var colon = line.IndexOf(':');
            if (colon < 0) continue;
            var name = line.AsSpan(0, colon).Trim();
            var value = line.AsSpan(colon + 1).Trim();
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)) contentLength = long.Parse(value);
            else if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)) chunked = value.Contains("chunked", StringComparison.OrdinalIgnoreCase);
            else if (name.Equals("Connection", StringComparison.OrdinalIgnoreCase)) close = value.Equals("close", StringComparison.OrdinalIgnoreCase);
        }

        byte[] body;
        if (chunked)
        {
            using var collected = new MemoryStream();
            while (true)
            {
                int lineEnd;
                while ((lineEnd = buffer.AsSpan(start, end - start).IndexOf("\r\n"u8)) < 0) await FillAsync(ct);
                var sizeText = buffer.AsSpan(start, lineEnd);
                var semi = sizeText.IndexOf((byte)';');
                if (semi >= 0) sizeText = sizeText[..semi];
                if (!Utf8Parser.TryParse(sizeText, out int size, out _, 'X')) throw new InvalidDataException("bad chunk size");
                start += lineEnd + 2;
                while (end - start < size + 2) await FillAsync(ct);
                collected.Write(buffer, start, size);
                start += size + 2;
                if (size == 0) break;   // no trailers from Kestrel
            }
            body = collected.ToArray();
        }
        else
        {
            var length = (int)Math.Max(0, contentLength);
            while (end - start < length) await FillAsync(ct);
            body = buffer.AsSpan(start, length).ToArray();
            start += length;
        }
        if (close) Close();
        return (status, body);
    }

    async Task FillAsync(CancellationToken ct)
    {
        if (start == end) start = end = 0;
        if (end == buffer.Length)
        {
            if (start > 0)
            {
                Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
                end -= start;
                start = 0;
            }
            else Array.Resize(ref buffer, buffer.Length * 2);
        }
        var read = await socket!.ReceiveAsync(buffer.AsMemory(end), SocketFlags.None, ct);
        if (read == 0) throw new IOException("server closed the connection");
        end += read;
    }

    void Close()
    {
        socket?.Dispose();
        socket = null;
    }

    public void Dispose() => Close();
}
