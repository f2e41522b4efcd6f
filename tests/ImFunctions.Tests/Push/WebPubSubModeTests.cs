using System.Diagnostics;
using System.Text;
using ImFunctions.Tests.Support;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace ImFunctions.Tests.Push;

// The app with Push__Provider=webpubsub, talking to a service that records calls and misbehaves on demand.
// However the push channel fails, a send is stored and answered; the dispatcher retries, then drops and counts.
[TestFixture]
public class WebPubSubModeTests
{
    FakeWebPubSub service = null!;

    [OneTimeSetUp]
    public async Task StartService() => service = await FakeWebPubSub.StartAsync();

    [OneTimeTearDown]
    public async Task StopService() => await service.DisposeAsync();

    static Task<TestApp> StartApp(string connectionString) => TestApp.StartAsync(new Dictionary<string, string?>
    {
        ["Push:Provider"] = "webpubsub",
        ["WebPubSub:ConnectionString"] = connectionString,
        ["WebPubSub:MaxRetries"] = "1",
        ["WebPubSub:NetworkTimeout"] = "00:00:00.300",
        // Long enough for two attempts at a slow service (2 x 0.3 s timeouts each) even on a busy machine.
        ["Push:Dispatch:Deadline"] = "00:00:03",
        ["Push:Dispatch:FirstRetryDelay"] = "00:00:00.050",
    });

    [Test]
    public async Task Negotiate_returns_the_services_url_signed_for_the_user()
    {
        await using var app = await StartApp($"Endpoint=https://contoso.webpubsub.azure.com;AccessKey={FakeWebPubSub.AccessKey};Version=1.0;");
        var user = await app.LoginAsync();

        var data = (await user.PostAsync("negotiate")).AssertOk().Data;

        var url = new Uri(data.GetProperty("url").GetString()!);
        Assert.That(url.GetLeftPart(UriPartial.Path), Is.EqualTo("wss://contoso.webpubsub.azure.com/client/hubs/im"));
        var token = url.Query["?access_token=".Length..];
        var check = await new JsonWebTokenHandler().ValidateTokenAsync(token, new TokenValidationParameters
        {
            IssuerSigningKey = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(FakeWebPubSub.AccessKey)),
            ValidAudience = "https://contoso.webpubsub.azure.com/client/hubs/im",
            ValidateIssuer = false,
        });
        Assert.That(check.IsValid, Is.True, check.Exception?.Message);
        Assert.That(((JsonWebToken)check.SecurityToken).Subject, Is.EqualTo(user.Uid));
        Assert.That(data.GetProperty("expire_time").GetInt64(),
            Is.EqualTo(DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeMilliseconds()).Within(60_000));
    }

    [Test]
    public async Task A_send_is_one_rest_call_per_audience_however_many_devices()
    {
        await using var app = await StartApp(service.ConnectionString);
        service.Answer = context => FakeWebPubSub.Status(context, 202);
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        var before = service.Calls.Count;

        (await alice.SendTextAsync(bob.Uid, "hi")).AssertOk();

        await LocalHubRestTests.WaitUntil(() => Task.FromResult(service.Calls.Count >= before + 2));
        await Task.Delay(200);
        Assert.That(service.Calls.Skip(before), Is.EquivalentTo(new[]
        {
            $"POST /api/hubs/im/users/{bob.Uid}/:send",
            $"POST /api/hubs/im/users/{alice.Uid}/:send",   // the sender's other devices
        }));
    }

    [TestCase("failing (500)")]
    [TestCase("throttling (429)")]
    [TestCase("slow")]
    [TestCase("unreachable")]
    public async Task A_send_succeeds_and_is_stored_however_the_push_service_fails(string fault)
    {
        service.Answer = fault switch
        {
            "failing (500)" => context => FakeWebPubSub.Status(context, 500),
            "throttling (429)" => context => FakeWebPubSub.Status(context, 429, retryAfterSeconds: 1),
            _ => async context =>
            {
                await Task.Delay(TimeSpan.FromSeconds(10), context.RequestAborted);
                context.Response.StatusCode = 202;
            },
        };
        await using var app = await StartApp(fault == "unreachable" ? FakeWebPubSub.Unreachable() : service.ConnectionString);
        var (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        using var metrics = new PushMetrics();

        var timer = Stopwatch.StartNew();
        var sent = (await alice.SendTextAsync(bob.Uid, "through " + fault)).AssertOk().Data;
        var sendTime = timer.Elapsed;
        var settledWhenAnswered = metrics.Dropped + metrics.Delivered;

        Assert.That(sent.GetProperty("seq").GetInt64(), Is.EqualTo(1));
        // Had the send waited for its pushes, they would have been given up (or delivered) by now.
        Assert.That(settledWhenAnswered, Is.Zero, "the push is off the request path");
        var history = (await bob.PostAsync("getMsgList", new { conversation_id = sent.GetProperty("conversation_id").GetString() })).AssertOk().Data;
        Assert.That(history.EnumerateArray().Select(m => m.GetProperty("body").GetString()), Is.EqualTo(new[] { "through " + fault }));
        await LocalHubRestTests.WaitUntil(() => Task.FromResult(metrics.Dropped >= 2), TimeSpan.FromSeconds(15));
        Assert.That(metrics.Retried, Is.GreaterThan(0));
        Assert.That(metrics.Delivered, Is.Zero);
        TestContext.Out.WriteLine($"{fault}: sendMsg answered in {sendTime.TotalMilliseconds:0} ms; pushes retried {metrics.Retried}x, dropped {metrics.Dropped}");
    }
}
