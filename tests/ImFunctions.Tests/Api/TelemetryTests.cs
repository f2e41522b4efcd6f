using System.Diagnostics;
using ImFunctions.Core.Telemetry;
using ImFunctions.Tests.Push;
using ImFunctions.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace ImFunctions.Tests.Api;

/// <summary>
/// What the OpenTelemetry pipeline exports, caught by the in-memory exporter. Local host only: the exporter has to
/// live in the process that makes the spans (the worker registers the same <c>AddImObservability</c>).
/// </summary>
public sealed class TelemetryTests
{
    [Test]
    public async Task A_send_exports_a_method_span_with_store_events_a_push_span_and_counters_and_no_secrets()
    {
        var spans = new List<Activity>();
        var metrics = new List<Metric>();
        await using var app = await TestApp.StartAsync(null, builder => builder.Services.AddOpenTelemetry()
            .WithTracing(t => t.AddInMemoryExporter(spans))
            .WithMetrics(m => m.AddInMemoryExporter(metrics)));
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        var hubUrl = (await bob.PostAsync("negotiate")).AssertOk().Data.GetProperty("url").GetString()!;
        await using var socket = await HubSocket.ConnectAsync(new Uri(hubUrl), HubSocket.Json);
        await socket.NextAsync();   // connected

        var sent = (await alice.SendTextAsync(bob.Uid, "hello")).AssertOk().Data;
        await socket.NextOfTypeAsync("message");
        await LocalHubRestTests.WaitUntil(() => Task.FromResult(Snapshot(spans).Count(s => s.OperationName.StartsWith("push ")) >= 2));

        var all = Snapshot(spans);
        var send = all.Single(s => s.OperationName == "sendMsg");
        Assert.That(send.Source.Name, Is.EqualTo(ImDiagnostics.Name));
        Assert.That(send.GetTagItem("http.response.status_code"), Is.EqualTo(200));
        Assert.That(send.Events.Select(e => e.Name), Does.Contain("store.write").And.Contain("store.point_read"));
        var pushes = all.Where(s => s.OperationName == "push user" && s.ParentSpanId == send.SpanId).ToList();
        Assert.That(pushes, Has.Count.EqualTo(2), "the receiver and the sender's other devices, each under the send");
        Assert.That(pushes.Select(p => (p.Kind, p.GetTagItem("imf.push.outcome"))), Is.All.EqualTo((ActivityKind.Client, (object)"delivered")));

        var accessToken = hubUrl[(hubUrl.IndexOf("access_token=", StringComparison.Ordinal) + "access_token=".Length)..];
        var values = all.SelectMany(s => s.TagObjects.Concat(s.Events.SelectMany(e => e.Tags)))
            .Select(t => $"{t.Key}={t.Value}").ToList();
        Assert.That(values, Is.Not.Empty);
        foreach (var secret in new[] { alice.Token, bob.Token, accessToken, TestApp.HubAccessKey, "127.0.0.1", "hello", sent.GetProperty("conversation_id").GetString()! })
            Assert.That(values, Has.None.Contains(secret), "a span attribute holds a token, an address, message text or a conversation id");

        app.Service<MeterProvider>().ForceFlush();
        long Sum(string name) => metrics.Where(m => m.Name == name).Sum(m =>
        {
            long total = 0;
            foreach (var point in m.GetMetricPoints()) total += point.GetSumLong();
            return total;
        });
        Assert.That(Sum("im.messages.sent"), Is.EqualTo(1));
        Assert.That(Sum("im.push.delivered"), Is.GreaterThanOrEqualTo(2));
    }

    static List<Activity> Snapshot(List<Activity> spans) { lock (spans) return spans.ToList(); }
}
