using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;

namespace ImFunctions.Bench;

/// <summary>
/// The least XMPP a receiver needs, over WebSocket (RFC 7395): open the stream, SASL PLAIN, bind a resource, send
/// available presence (ejabberd routes a message for a bare JID only to available resources), then hand every
/// message's body to <c>onMessage</c> with the time its frame arrived. The receiving side of the ejabberd scenario,
/// as <see cref="PushReceiver"/> is ours.
/// </summary>
public sealed class XmppWebSocketClient : IAsyncDisposable
{
    const string Framing = "urn:ietf:params:xml:ns:xmpp-framing";
    readonly ClientWebSocket socket = new();
    byte[] buffer = new byte[8 * 1024];
    int length;
    Task? loop;

    /// <summary>
    /// Connects and logs in; a handshake that gets no answer is tried again on a new socket (twice at most): once in a
    /// full run of 2026-12-01 one of 200 handshakes hung for its whole timeout and took the run down with it. So is a
    /// SASL refusal, a second later: the accounts were registered just before, and ejabberd answers "not-authorized"
    /// when its SQL lookup of the password fails, which a smoke run beside two busy cores saw once.
    /// </summary>
    public static async Task<XmppWebSocketClient> ConnectAsync(Uri endpoint, string domain, string user, string password,
        Action<string, long> onMessage, CancellationToken ct = default)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await ConnectOnceAsync(endpoint, domain, user, password, onMessage, ct);
            }
            catch (Exception e) when (attempt < 3 && !ct.IsCancellationRequested && e is OperationCanceledException or WebSocketException or IOException)
            {
            }
            catch (SaslRefusedException) when (attempt < 3 && !ct.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), ct);
            }
        }
    }

    sealed class SaslRefusedException(string message) : InvalidOperationException(message);

    static async Task<XmppWebSocketClient> ConnectOnceAsync(Uri endpoint, string domain, string user, string password,
        Action<string, long> onMessage, CancellationToken ct)
    {
        var client = new XmppWebSocketClient();
        client.socket.Options.AddSubProtocol("xmpp");
        client.socket.Options.KeepAliveInterval = TimeSpan.Zero;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        try
        {
            await client.socket.ConnectAsync(endpoint, timeout.Token);
            await client.HandshakeAsync(domain, user, password, timeout.Token);
        }
        catch
        {
            client.socket.Dispose();
            throw;
        }
        client.loop = client.ReadAsync(onMessage);
        return client;
    }

    async Task HandshakeAsync(string domain, string user, string password, CancellationToken ct)
    {
        var open = $"""<open xmlns="{Framing}" to="{domain}" version="1.0"/>""";
        await SendAsync(open, ct);
        var features = await ExpectAsync(f => f.Contains("<mechanisms"), "stream features", ct);
        if (!features.Contains(">PLAIN<")) throw new InvalidOperationException($"XMPP: the server offers no SASL PLAIN: {features}");

        var credentials = Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{user}\0{password}"));
        await SendAsync($"""<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="PLAIN">{credentials}</auth>""", ct);
        await ExpectAsync(f => f.StartsWith("<success", StringComparison.Ordinal), "SASL success", ct);

        // After SASL the stream restarts (RFC 6120 §6.4.6).
        await SendAsync(open, ct);
        await ExpectAsync(f => f.Contains("<bind"), "bind feature", ct);
        await SendAsync("""<iq type="set" id="bind"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"><resource>bench</resource></bind></iq>""", ct);
        await ExpectAsync(f => IsReply(f, "bind") && f.Contains("result"), "bind result", ct);

        // A c2s session handles its stanzas in order: once the ping is answered (mod_ping is not loaded, so with an
        // error), the presence before it has made this resource available.
        await SendAsync("<presence/>", ct);
        await SendAsync("""<iq type="get" id="ready"><ping xmlns="urn:xmpp:ping"/></iq>""", ct);
        await ExpectAsync(f => IsReply(f, "ready"), "ping reply", ct);
    }

    static bool IsReply(string frame, string id) =>
        frame.StartsWith("<iq", StringComparison.Ordinal) && (frame.Contains($"id='{id}'") || frame.Contains($"id=\"{id}\""));

    async Task<string> ExpectAsync(Func<string, bool> wanted, string what, CancellationToken ct)
    {
        while (true)
        {
            if (!await ReceiveAsync(ct)) throw new IOException($"XMPP: the server closed the socket while we waited for {what}");
            var frame = Encoding.UTF8.GetString(buffer, 0, length);
            if (frame.StartsWith("<failure", StringComparison.Ordinal) && frame.Contains("urn:ietf:params:xml:ns:xmpp-sasl"))
                throw new SaslRefusedException($"XMPP: {frame} while we waited for {what}");
            if (frame.StartsWith("<failure", StringComparison.Ordinal) || frame.Contains("<stream:error") || frame.StartsWith("<close", StringComparison.Ordinal))
                throw new InvalidOperationException($"XMPP: {frame} while we waited for {what}");
            if (wanted(frame)) return frame;
        }
    }

    /// <summary>Reads one whole frame into the buffer; false when the server closed.</summary>
    async Task<bool> ReceiveAsync(CancellationToken ct)
    {
        length = 0;
        ValueWebSocketReceiveResult result;
        do
        {
            if (length == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2);
            result = await socket.ReceiveAsync(buffer.AsMemory(length), ct);
            length += result.Count;
        } while (!result.EndOfMessage);
        return result.MessageType != WebSocketMessageType.Close;
    }

    Task SendAsync(string stanza, CancellationToken ct) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(stanza), WebSocketMessageType.Text, true, ct);

    async Task ReadAsync(Action<string, long> onMessage)
    {
        try
        {
            while (socket.State == WebSocketState.Open && await ReceiveAsync(CancellationToken.None))
            {
                var arrived = Stopwatch.GetTimestamp();
                var frame = buffer.AsSpan(0, length);
                if (!frame.StartsWith("<message"u8)) continue;
                var start = frame.IndexOf("<body>"u8);
                if (start < 0) continue;
                var body = frame[(start + "<body>".Length)..];
                var end = body.IndexOf("</body>"u8);
                if (end >= 0) onMessage(Encoding.UTF8.GetString(body[..end]), arrived);
            }
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or OperationCanceledException) { }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (socket.State == WebSocketState.Open)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await SendAsync($"""<close xmlns="{Framing}"/>""", timeout.Token);
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException) { }
        socket.Abort();
        if (loop is not null) await loop;
        socket.Dispose();
    }
}
