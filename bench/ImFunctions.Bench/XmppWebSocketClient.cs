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
    readonly PolledWebSocket socket;

    XmppWebSocketClient(PolledWebSocket socket) => this.socket = socket;

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
                return await Task.Run(() => ConnectOnce(endpoint, domain, user, password, onMessage), ct);
            }
            catch (IOException) when (attempt < 3 && !ct.IsCancellationRequested)
            {
            }
            catch (SaslRefusedException) when (attempt < 3 && !ct.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), ct);
            }
        }
    }

    sealed class SaslRefusedException(string message) : InvalidOperationException(message);

    /// <summary>The handshake blocks its thread (the socket's reads time out after 10 s); then the socket is polled.</summary>
    static XmppWebSocketClient ConnectOnce(Uri endpoint, string domain, string user, string password, Action<string, long> onMessage)
    {
        var client = new XmppWebSocketClient(PolledWebSocket.Connect(endpoint, "xmpp", TimeSpan.FromSeconds(10), 8 * 1024));
        try
        {
            client.Handshake(domain, user, password);
        }
        catch
        {
            client.socket.Dispose();
            throw;
        }
        client.socket.Start((frame, arrived) => OnFrame(frame, arrived, onMessage));
        return client;
    }

    void Handshake(string domain, string user, string password)
    {
        var open = $"""<open xmlns="{Framing}" to="{domain}" version="1.0"/>""";
        Send(open);
        var features = Expect(f => f.Contains("<mechanisms"), "stream features");
        if (!features.Contains(">PLAIN<")) throw new InvalidOperationException($"XMPP: the server offers no SASL PLAIN: {features}");

        var credentials = Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{user}\0{password}"));
        Send($"""<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="PLAIN">{credentials}</auth>""");
        Expect(f => f.StartsWith("<success", StringComparison.Ordinal), "SASL success");

        // After SASL the stream restarts (RFC 6120 §6.4.6).
        Send(open);
        Expect(f => f.Contains("<bind"), "bind feature");
        Send("""<iq type="set" id="bind"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"><resource>bench</resource></bind></iq>""");
        Expect(f => IsReply(f, "bind") && f.Contains("result"), "bind result");

        // A c2s session handles its stanzas in order: once the ping is answered (mod_ping is not loaded, so with an
        // error), the presence before it has made this resource available.
        Send("<presence/>");
        Send("""<iq type="get" id="ready"><ping xmlns="urn:xmpp:ping"/></iq>""");
        Expect(f => IsReply(f, "ready"), "ping reply");
    }

    static bool IsReply(string frame, string id) =>
        frame.StartsWith("<iq", StringComparison.Ordinal) && (frame.Contains($"id='{id}'") || frame.Contains($"id=\"{id}\""));

    string Expect(Func<string, bool> wanted, string what)
    {
        while (true)
        {
            string frame;
            try
            {
                frame = Encoding.UTF8.GetString(socket.Receive());
            }
            catch (IOException e)
            {
                throw new IOException($"XMPP: {e.Message} while we waited for {what}", e);
            }
            if (frame.StartsWith("<failure", StringComparison.Ordinal) && frame.Contains("urn:ietf:params:xml:ns:xmpp-sasl"))
                throw new SaslRefusedException($"XMPP: {frame} while we waited for {what}");
            if (frame.StartsWith("<failure", StringComparison.Ordinal) || frame.Contains("<stream:error") || frame.StartsWith("<close", StringComparison.Ordinal))
                throw new InvalidOperationException($"XMPP: {frame} while we waited for {what}");
            if (wanted(frame)) return frame;
        }
    }

    void Send(string stanza) => socket.Send(Encoding.UTF8.GetBytes(stanza));

    /// <summary>A message's body, found by its bytes: the receiver's share of the work is kept as small as ours.</summary>
    static void OnFrame(ReadOnlySpan<byte> frame, long arrived, Action<string, long> onMessage)
    {
        if (!frame.StartsWith("<message"u8)) return;
        var start = frame.IndexOf("<body>"u8);
        if (start < 0) return;
        var body = frame[(start + "<body>".Length)..];
        var end = body.IndexOf("</body>"u8);
        if (end >= 0) onMessage(Encoding.UTF8.GetString(body[..end]), arrived);
    }

    public ValueTask DisposeAsync()
    {
        if (socket.IsOpen) Send($"""<close xmlns="{Framing}"/>""");
        socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
