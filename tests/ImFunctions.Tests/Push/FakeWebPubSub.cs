using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ImFunctions.Tests.Push;

/// <summary>
/// A stand-in for the Azure service that records every REST call and answers as told: accept, fail, throttle,
/// or stall. For what the real protocol does, the tests use the local hub; this one is for faults.
/// </summary>
public sealed class FakeWebPubSub : IAsyncDisposable
{
    public const string AccessKey = "fake-service-access-key-0123456789abcdef";

    readonly WebApplication app;
    readonly ConcurrentQueue<string> calls = new();

    FakeWebPubSub(WebApplication app) => this.app = app;

    /// <summary>How the next calls are answered; 202 Accepted by default.</summary>
    public Func<HttpContext, Task> Answer { get; set; } = context => Status(context, 202);

    public IReadOnlyList<string> Calls => calls.ToArray();
    public Uri Endpoint { get; private set; } = null!;
    public string ConnectionString => $"Endpoint=http://127.0.0.1;Port={Endpoint.Port};AccessKey={AccessKey};Version=1.0;";

    public static async Task<FakeWebPubSub> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var fake = new FakeWebPubSub(app);
        app.Run(context =>
        {
            fake.calls.Enqueue($"{context.Request.Method} {context.Request.Path}");
            return fake.Answer(context);
        });
        await app.StartAsync();
        fake.Endpoint = new Uri(app.Urls.First());
        return fake;
    }

    public static Task Status(HttpContext context, int status, int? retryAfterSeconds = null)
    {
        context.Response.StatusCode = status;
        if (retryAfterSeconds is { } seconds) context.Response.Headers.RetryAfter = seconds.ToString();
        return Task.CompletedTask;
    }

    /// <summary>A loopback connection string where nothing listens.</summary>
    public static string Unreachable()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return $"Endpoint=http://127.0.0.1;Port={port};AccessKey={AccessKey};Version=1.0;";
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
