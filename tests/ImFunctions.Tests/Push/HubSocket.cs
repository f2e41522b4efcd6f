using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace ImFunctions.Tests.Push;

/// <summary>
/// A bare WebSocket client for the hub's JSON protocols that shows everything: each frame, the close status,
/// and an <see cref="Abort"/> that drops the connection without a close frame, as a lost network does.
/// </summary>
public sealed class HubSocket : IAsyncDisposable
{
    public const string Json = "json.webpubsub.azure.v1";
    public const string Reliable = "json.reliable.webpubsub.azure.v1";

    readonly ClientWebSocket socket = new();
    readonly Channel<Frame> frames = Channel.CreateUnbounded<Frame>();
    readonly TaskCompletionSource<WebSocketCloseStatus?> closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    Task reader = Task.CompletedTask;

    public static async Task<HubSocket> ConnectAsync(Uri url, string? subprotocol = Reliable)
    {
        var client = new HubSocket();
        if (subprotocol is not null) client.socket.Options.AddSubProtocol(subprotocol);
        await client.socket.ConnectAsync(url, CancellationToken.None);
        client.reader = client.ReadAsync();
        return client;
    }

    /// <summary>Connects and reads the connected message.</summary>
    public static async Task<(HubSocket Socket, JsonElement Connected)> OpenAsync(Uri url, string? subprotocol = Reliable)
    {
        var client = await ConnectAsync(url, subprotocol);
        var connected = await client.NextAsync();
        Assert.That(connected.GetProperty("event").GetString(), Is.EqualTo("connected"), connected.ToString());
        return (client, connected);
    }

    public string? Subprotocol => socket.SubProtocol;

    /// <summary>The close status the server sent, once it closed (null when the connection just broke).</summary>
    public Task<WebSocketCloseStatus?> Closed => closed.Task;

    public async Task<Frame> NextFrameAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        return await frames.Reader.ReadAsync(cts.Token);
    }

    public async Task<JsonElement> NextAsync(TimeSpan? timeout = null) => (await NextFrameAsync(timeout)).Json;

    /// <summary>
    /// The next frame whose type is <paramref name="type"/> (message, ack, system, pong), skipping others. A message
    /// carrying an im <c>batch</c> push comes back as one message per event, in order, as the SDK delivers them.
    /// </summary>
    public async Task<JsonElement> NextOfTypeAsync(string type, TimeSpan? timeout = null)
    {
        if (type == "message" && unbatched.TryDequeue(out var waiting)) return waiting;
        while (true)
        {
            var frame = await NextAsync(timeout);
            if (frame.GetProperty("type").GetString() != type) continue;
            if (type != "message" || !IsBatch(frame)) return frame;
            foreach (var push in frame.GetProperty("data").GetProperty("data").EnumerateArray())
                unbatched.Enqueue(WithData(frame, push));
            return unbatched.Dequeue();
        }
    }

    readonly Queue<JsonElement> unbatched = new();

    static bool IsBatch(JsonElement message) =>
        message.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object
        && data.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() == "im"
        && data.TryGetProperty("event", out var name) && name.ValueKind == JsonValueKind.String && name.GetString() == "batch";

    static JsonElement WithData(JsonElement message, JsonElement data)
    {
        var copy = System.Text.Json.Nodes.JsonNode.Parse(message.GetRawText())!.AsObject();
        copy["data"] = System.Text.Json.Nodes.JsonNode.Parse(data.GetRawText());
        return JsonSerializer.SerializeToElement(copy);
    }

    /// <summary>True when no frame arrives within <paramref name="wait"/>.</summary>
    public async Task<bool> IsQuietAsync(TimeSpan wait)
    {
        using var cts = new CancellationTokenSource(wait);
        try { return !await frames.Reader.WaitToReadAsync(cts.Token); }
        catch (OperationCanceledException) { return true; }
    }

    public Task SendAsync(object message) =>
        socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(message), WebSocketMessageType.Text, true, CancellationToken.None);

    public Task SendRawAsync(byte[] bytes, WebSocketMessageType type) => socket.SendAsync(bytes, type, true, CancellationToken.None);

    /// <summary>Drops the TCP connection without a close frame.</summary>
    public void Abort() => socket.Abort();

    /// <summary>
    /// Sends a close frame and waits until the hub answers it. Only the reader loop receives: ClientWebSocket.CloseAsync
    /// would issue a receive of its own beside it, and the loser of that race sees the connection end without a close.
    /// </summary>
    public async Task CloseAsync(WebSocketCloseStatus status = WebSocketCloseStatus.NormalClosure)
    {
        await socket.CloseOutputAsync(status, null, CancellationToken.None);
        await reader;
    }

    async Task ReadAsync()
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                using var message = new MemoryStream();
                WebSocketReceiveResult result;
                do
                {
                    result = await socket.ReceiveAsync(buffer, CancellationToken.None);
                    message.Write(buffer, 0, result.Count);
                } while (!result.EndOfMessage);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    closed.TrySetResult(result.CloseStatus);
                    if (socket.State == WebSocketState.CloseReceived)
                        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                    break;
                }
                frames.Writer.TryWrite(new Frame(result.MessageType, message.ToArray()));
            }
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or OperationCanceledException) { }
        finally
        {
            closed.TrySetResult(null);
            frames.Writer.TryComplete();
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (socket.State == WebSocketState.Open)
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, cts.Token);
                await reader.WaitAsync(cts.Token);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException) { }
        socket.Abort();
        await reader;
        socket.Dispose();
    }

    public sealed record Frame(WebSocketMessageType Type, byte[] Bytes)
    {
        public JsonElement Json => JsonDocument.Parse(Bytes).RootElement.Clone();
        public string Text => Encoding.UTF8.GetString(Bytes);
    }
}
