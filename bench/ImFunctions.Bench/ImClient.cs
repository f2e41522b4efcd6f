using System.Diagnostics;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace ImFunctions.Bench;

public sealed record BenchUser(string Uid, string Openid, string Token);

/// <summary>The client side of setup and of the read benchmarks: uni-im calls over HttpClient, as TestApp does.</summary>
public sealed class ImClient(Uri baseAddress) : IDisposable
{
    public const string AppId = "__UNI__BENCH";
    readonly HttpClient http = new(new SocketsHttpHandler { MaxConnectionsPerServer = 64, UseProxy = false })
    {
        BaseAddress = baseAddress,
        Timeout = TimeSpan.FromSeconds(30),
    };

    /// <summary>loginWithJWT with a legacy token signed as a PHP/Java backend does (exp in milliseconds, as uni-im's docs).</summary>
    public async Task<BenchUser> LoginAsync(string openid)
    {
        var payload = new { exp = DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeMilliseconds(), userInfo = new { openid, nickname = "bench " + openid } };
        var reply = await PostAsync("loginWithJWT", new { signedData = SignLegacyJwt(payload, ServerProcess.JwtSecret) });
        return new BenchUser(reply.GetProperty("data").GetProperty("uid").GetString()!, openid,
            reply.GetProperty("newToken").GetProperty("token").GetString()!);
    }

    public async Task<BenchUser[]> LoginManyAsync(string prefix, int count, int parallel = 16)
    {
        var users = new BenchUser[count];
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = parallel },
            async (i, _) => users[i] = await LoginAsync($"{prefix}-{i}"));
        return users;
    }

    public async Task<string> NegotiateAsync(BenchUser user) =>
        (await PostAsync("negotiate", new { }, user.Token)).GetProperty("data").GetProperty("url").GetString()!;

    /// <summary>Posts a uni-im method; a non-200 answer is an exception (setup must not fail quietly).</summary>
    public async Task<JsonElement> PostAsync(string method, object body, string? token = null)
    {
        var (status, reply) = await TryPostAsync(method, body, token);
        if (status != 200) throw new InvalidOperationException($"{method} answered {status}: {reply}");
        return reply;
    }

    public async Task<(int Status, JsonElement Body)> TryPostAsync(string method, object body, string? token = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/" + method)
        {
            Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
        };
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    /// <summary>Latency of one call, in milliseconds; throws when it does not answer 200.</summary>
    public async Task<double> TimeAsync(string method, object body, string token)
    {
        var started = Stopwatch.GetTimestamp();
        await PostAsync(method, body, token);
        return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    }

    public static string SignLegacyJwt(object payload, string secret)
    {
        static string B64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var header = B64(JsonSerializer.SerializeToUtf8Bytes(new { alg = "HS256", typ = "JWT" }));
        var body = B64(JsonSerializer.SerializeToUtf8Bytes(payload));
        return header + "." + body + "." + B64(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.ASCII.GetBytes(header + "." + body)));
    }

    public void Dispose() => http.Dispose();
}

/// <summary>
/// A client socket speaking json.webpubsub.azure.v1 that reports each pushed message to <c>onMessage</c> with the
/// time it arrived (each event of a batch push on its own, in order). It reads until closed, on the bench's one
/// socket poller (<see cref="PolledWebSocket"/>), where the handler runs.
/// </summary>
public sealed class PushReceiver : IAsyncDisposable
{
    public const string Subprotocol = "json.webpubsub.azure.v1";
    readonly TaskCompletionSource connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    PolledWebSocket? socket;

    public static async Task<PushReceiver> ConnectAsync(string url, Action<JsonElement, long>? onMessage, int bufferSize = 16 * 1024,
        CancellationToken ct = default)
    {
        var receiver = new PushReceiver();
        receiver.socket = await Task.Run(() => PolledWebSocket.Connect(new Uri(url), Subprotocol, TimeSpan.FromSeconds(30), bufferSize), ct);
        receiver.socket.Start((frame, at) => receiver.Handle(frame, at, onMessage),
            () => receiver.connected.TrySetException(new IOException("socket closed before the connected event")));
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        try
        {
            await receiver.connected.Task.WaitAsync(timeout.Token);
        }
        catch
        {
            receiver.socket.Dispose();
            throw;
        }
        return receiver;
    }

    void Handle(ReadOnlySpan<byte> message, long arrived, Action<JsonElement, long>? onMessage)
    {
        var reader = new Utf8JsonReader(message);
        using var frame = JsonDocument.ParseValue(ref reader);
        var root = frame.RootElement;
        switch (root.GetProperty("type").GetString())
        {
            case "system" when root.TryGetProperty("event", out var e) && e.GetString() == "connected":
                connected.TrySetResult();
                break;
            case "message" when onMessage is not null:
                var push = root.GetProperty("data");
                if (IsBatch(push))
                    foreach (var each in push.GetProperty("data").EnumerateArray()) onMessage(each, arrived);
                else onMessage(push, arrived);
                break;
        }
    }

    /// <summary>Pushes that queued up for one audience arrive as one frame: <c>{"type":"im","event":"batch","data":[…]}</c>.</summary>
    static bool IsBatch(JsonElement push) =>
        push.ValueKind == JsonValueKind.Object && push.TryGetProperty("event", out var e) && e.ValueKind == JsonValueKind.String
        && e.ValueEquals("batch") && push.TryGetProperty("data", out var events) && events.ValueKind == JsonValueKind.Array;

    public ValueTask DisposeAsync()
    {
        socket?.Dispose();
        return ValueTask.CompletedTask;
    }
}
