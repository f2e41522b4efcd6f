using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace ImFunctions.Tests.Support;

/// <summary>A client socket speaking json.webpubsub.azure.v1, collecting what the server sends.</summary>
public sealed class PushClient : IAsyncDisposable
{
    readonly ClientWebSocket socket = new();
    readonly Channel<JsonElement> received = Channel.CreateUnbounded<JsonElement>();
    Task? reader;

    public static async Task<PushClient> ConnectAsync(string url, string subprotocol = "json.webpubsub.azure.v1")
    {
        var client = new PushClient();
        client.socket.Options.AddSubProtocol(subprotocol);
        await client.socket.ConnectAsync(new Uri(url), CancellationToken.None);
        client.reader = client.ReadAsync();
        return client;
    }

    public string? Subprotocol => socket.SubProtocol;

    /// <summary>The next frame the server sent, or a failure after <paramref name="timeout"/>.</summary>
    public async Task<JsonElement> NextAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        return await received.Reader.ReadAsync(cts.Token);
    }

    /// <summary>Skips system frames and returns the next server message's data.</summary>
    public async Task<JsonElement> NextServerDataAsync(TimeSpan? timeout = null)
    {
        while (true)
        {
            var frame = await NextAsync(timeout);
            if (frame.GetProperty("type").GetString() == "message") return frame.GetProperty("data");
        }
    }

    public Task SendAsync(string json) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, true, CancellationToken.None);

    async Task ReadAsync()
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (socket.State == WebSocketState.Open)
            {
                using var message = new MemoryStream();
                WebSocketReceiveResult result;
                do
                {
                    result = await socket.ReceiveAsync(buffer, CancellationToken.None);
                    message.Write(buffer, 0, result.Count);
                } while (!result.EndOfMessage);
                if (result.MessageType == WebSocketMessageType.Close) break;
                received.Writer.TryWrite(JsonDocument.Parse(message.ToArray()).RootElement.Clone());
            }
        }
        catch (WebSocketException) { }
        finally { received.Writer.TryComplete(); }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (socket.State == WebSocketState.Open)
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        }
        catch (WebSocketException) { }
        if (reader is not null) await reader;
        socket.Dispose();
    }
}
