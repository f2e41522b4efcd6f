using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ImFunctions.Tests.Support;

/// <summary>
/// The operator's webhook endpoint, on real Kestrel: verifies every call's signature as docs/legacy-backends.md says,
/// records the verified events, and can be told to fail (500), to hold calls until released (slow), or to answer the
/// before-send hook.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    public const string Secret = "test-webhook-secret-0123456789abcdefghij";

    readonly WebApplication app;
    readonly ConcurrentQueue<JsonElement> events = new();
    readonly SemaphoreSlim arrived = new(0);
    TaskCompletionSource released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Uri Url { get; }
    /// <summary>Answer every call with 500 while true.</summary>
    public bool Failing { get; set; }
    /// <summary>Calls that arrived, including failed and held ones.</summary>
    public int Calls;
    public int BadSignatures;
    /// <summary>The before-send hook's answer for a call's data.</summary>
    public Func<JsonElement, object> BeforeSend { get; set; } = _ => new { action = "allow" };

    WebhookReceiver(WebApplication app)
    {
        this.app = app;
        Url = new Uri(app.Urls.First());
        released.SetResult();
    }

    /// <param name="port">0 for a free port; a known port to bring a receiver "back up" where one was down.</param>
    public static async Task<WebhookReceiver> StartAsync(int port = 0)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        WebhookReceiver? receiver = null;
        app.MapPost("/{**path}", (Delegate)((HttpContext context) => receiver!.HandleAsync(context)));
        await app.StartAsync();
        return receiver = new WebhookReceiver(app);
    }

    public static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Hold() => released = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    public void Release() => released.TrySetResult();

    /// <summary>Verified events, each once (receivers dedupe by id), in arrival order.</summary>
    public IReadOnlyList<JsonElement> Events => events.GroupBy(e => e.GetProperty("id").GetString()).Select(g => g.First()).ToList();
    public int Deliveries => events.Count;

    /// <summary>Waits until events with all of <paramref name="ids"/> have arrived.</summary>
    public async Task WaitForAsync(params string[] ids)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!ids.All(id => events.Any(e => e.GetProperty("id").GetString() == id)))
        {
            try { await arrived.WaitAsync(timeout.Token); }
            catch (OperationCanceledException)
            {
                Assert.Fail($"Events did not arrive within 30 s: missing {string.Join(", ", ids.Where(id => events.All(e => e.GetProperty("id").GetString() != id)))}; got {events.Count}, calls {Calls}");
            }
        }
    }

    async Task<IResult> HandleAsync(HttpContext context)
    {
        Interlocked.Increment(ref Calls);
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync();
        var (id, timestamp, signature) = (context.Request.Headers["X-ImF-Webhook-Id"].ToString(),
            context.Request.Headers["X-ImF-Webhook-Timestamp"].ToString(), context.Request.Headers["X-ImF-Webhook-Signature"].ToString());
        var expected = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), Encoding.UTF8.GetBytes($"{id}.{timestamp}.{body}")));
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(signature)))
        {
            Interlocked.Increment(ref BadSignatures);
            return Results.StatusCode(401);
        }
        await released.Task;
        if (Failing) return Results.StatusCode(500);

        var json = JsonDocument.Parse(body).RootElement.Clone();
        Assert.That(json.GetProperty("id").GetString(), Is.EqualTo(id));
        if (json.GetProperty("type").GetString() == "message.before_send") return Results.Json(BeforeSend(json.GetProperty("data")));
        events.Enqueue(json);
        arrived.Release();
        return Results.Ok();
    }

    public async ValueTask DisposeAsync()
    {
        Release();
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
