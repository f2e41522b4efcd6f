using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Azure;
using Azure.Core.Pipeline;
using ImFunctions.Core.Push.WebPubSub;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace ImFunctions.Tests.Push;

// The REST client's wire behaviour against a scripted service: exact requests, per-attempt auth, exact success
// codes, Azure.Core retries. (LocalHubRestTests and the fault tests run it against real servers.)
public class WebPubSubRestClientTests
{
    const string Key = "unit-test-access-key-0123456789abcdefghij";
    static readonly WebPubSubConnectionString Connection = new(new Uri("https://contoso.webpubsub.azure.com"), Key);
    static readonly ReadOnlyMemory<byte> Payload = """{"type":"im"}"""u8.ToArray();

    [Test]
    public async Task Each_operation_sends_the_services_method_path_and_query()
    {
        var service = new ScriptedService((request, _) => request.Method == HttpMethod.Head ? 404 : ExpectedStatus(request));
        var client = service.Client();
        var none = CancellationToken.None;

        await client.SendToUserAsync("user 1/x", Payload, none);
        await client.SendToGroupAsync("g 1", Payload, none);
        await client.SendToAllAsync(Payload, none);
        await client.AddUserToGroupAsync("u1", "g1", none);
        await client.RemoveUserFromGroupAsync("u1", "g1", none);
        await client.RemoveUserFromAllGroupsAsync("u1", none);
        await client.CloseUserConnectionsAsync("u1", "bye bye", none);
        await client.UserExistsAsync("u1", none);

        Assert.That(service.Requests.Select(r => $"{r.Method} {r.Uri.PathAndQuery}"), Is.EqualTo(new[]
        {
            "POST /api/hubs/im/users/user%201%2Fx/:send?api-version=2024-12-01",
            "POST /api/hubs/im/groups/g%201/:send?api-version=2024-12-01",
            "POST /api/hubs/im/:send?api-version=2024-12-01",
            "PUT /api/hubs/im/users/u1/groups/g1?api-version=2024-12-01",
            "DELETE /api/hubs/im/users/u1/groups/g1?api-version=2024-12-01",
            "DELETE /api/hubs/im/users/u1/groups?api-version=2024-12-01",
            "POST /api/hubs/im/users/u1/:closeConnections?api-version=2024-12-01&reason=bye%20bye",
            "HEAD /api/hubs/im/users/u1?api-version=2024-12-01",
        }));
        var send = service.Requests[0];
        Assert.That(send.ContentType, Is.EqualTo("application/json"), "no charset parameter, as the SDKs send it");
        Assert.That(send.Body, Is.EqualTo("""{"type":"im"}"""));
        Assert.That(send.Accept, Is.EqualTo("application/json"));
    }

    [Test]
    public async Task Every_attempt_is_signed_anew_for_its_exact_url()
    {
        var clock = new SteppingClock(DateTimeOffset.Parse("2026-11-22T10:00:00Z"));
        var service = new ScriptedService((_, attempt) => attempt == 1 ? 503 : 202);

        await service.Client(clock: clock).SendToUserAsync("a/b", Payload, CancellationToken.None);

        Assert.That(service.Requests, Has.Count.EqualTo(2));
        var tokens = service.Requests.Select(r => r.Authorization!).ToArray();
        Assert.That(tokens[0], Is.Not.EqualTo(tokens[1]));
        foreach (var (request, token) in service.Requests.Zip(tokens))
        {
            Assert.That(token, Does.StartWith("Bearer "));
            var jwt = await Validate(token["Bearer ".Length..], validateLifetime: false);
            Assert.That(jwt.Audiences.Single(), Is.EqualTo(request.Uri.AbsoluteUri));
            Assert.That(jwt.Audiences.Single(), Does.EndWith("/users/a%2Fb/:send?api-version=2024-12-01"));
            Assert.That(jwt.ValidTo - jwt.IssuedAt, Is.EqualTo(TimeSpan.FromMinutes(5)));
        }
    }

    [TestCase("POST send", 200)]
    [TestCase("POST send", 204)]
    [TestCase("PUT", 204)]
    [TestCase("DELETE", 200)]
    [TestCase("HEAD", 204)]
    public async Task Only_the_documented_success_code_is_success(string operation, int answer)
    {
        var client = new ScriptedService((_, _) => answer).Client();
        Func<Task> call = operation switch
        {
            "POST send" => () => client.SendToUserAsync("u", Payload, CancellationToken.None),
            "PUT" => () => client.AddUserToGroupAsync("u", "g", CancellationToken.None),
            "DELETE" => () => client.RemoveUserFromAllGroupsAsync("u", CancellationToken.None),
            _ => () => client.UserExistsAsync("u", CancellationToken.None),
        };

        var error = await Assert.ThrowsAsync<RequestFailedException>(async () => await call());

        Assert.That(error!.Status, Is.EqualTo(answer));
    }

    [Test]
    public async Task User_exists_is_200_or_404()
    {
        var client = new ScriptedService((request, _) => request.RequestUri!.AbsolutePath.EndsWith("/here") ? 200 : 404).Client();

        Assert.That(await client.UserExistsAsync("here", CancellationToken.None), Is.True);
        Assert.That(await client.UserExistsAsync("gone", CancellationToken.None), Is.False);
    }

    [TestCase(408)]
    [TestCase(429)]
    [TestCase(500)]
    [TestCase(502)]
    [TestCase(503)]
    [TestCase(504)]
    public async Task Transient_answers_are_retried(int transient)
    {
        var service = new ScriptedService((_, attempt) => attempt < 3 ? transient : 202);

        await service.Client().SendToGroupAsync("g", Payload, CancellationToken.None);

        Assert.That(service.Requests, Has.Count.EqualTo(3));
    }

    [TestCase(400)]
    [TestCase(401)]
    [TestCase(403)]
    [TestCase(404)]
    public async Task Other_failures_are_not_retried(int failure)
    {
        var service = new ScriptedService((_, _) => failure);

        var error = await Assert.ThrowsAsync<RequestFailedException>(() => service.Client().SendToGroupAsync("g", Payload, CancellationToken.None));

        Assert.That(error!.Status, Is.EqualTo(failure));
        Assert.That(service.Requests, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task Retries_stop_after_MaxRetries_with_the_last_answer()
    {
        var service = new ScriptedService((_, _) => 503);

        var error = await Assert.ThrowsAsync<RequestFailedException>(() => service.Client(maxRetries: 2).SendToUserAsync("u", Payload, CancellationToken.None));

        Assert.That(error!.Status, Is.EqualTo(503));
        Assert.That(service.Requests, Has.Count.EqualTo(3));
    }

    [Test]
    public async Task Connection_failures_are_retried()
    {
        var service = new ScriptedService((_, attempt) => attempt == 1 ? throw new HttpRequestException("connection refused", new IOException("refused")) : 202);

        await service.Client().SendToUserAsync("u", Payload, CancellationToken.None);

        Assert.That(service.Requests, Has.Count.EqualTo(2));
    }

    [Test]
    public async Task A_throttle_asking_for_a_long_pause_is_handed_back_at_once_instead_of_waited_out()
    {
        var service = new ScriptedService((_, _) => 429, retryAfterSeconds: 60);
        var clock = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<RequestFailedException>(() => service.Client().SendToUserAsync("u", Payload, CancellationToken.None));

        Assert.That(error!.Status, Is.EqualTo(429));
        Assert.That(service.Requests, Has.Count.EqualTo(1));
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)));
    }

    [Test]
    public async Task A_hung_service_is_cut_off_by_the_network_timeout_and_retried()
    {
        var service = new ScriptedService((_, _) => 202, delay: TimeSpan.FromSeconds(30));
        var clock = Stopwatch.StartNew();

        await Assert.CatchAsync<Exception>(() => service.Client(maxRetries: 1, networkTimeout: TimeSpan.FromMilliseconds(200))
            .SendToUserAsync("u", Payload, CancellationToken.None));

        Assert.That(service.Requests, Has.Count.EqualTo(2));
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)));
    }

    [Test]
    public async Task Client_access_urls_are_signed_locally_with_roles_and_groups_as_arrays()
    {
        var now = DateTimeOffset.Parse("2026-11-22T10:00:00Z");
        var client = new WebPubSubRestClient(Connection, "im", new WebPubSubRestClientOptions { Clock = new SteppingClock(now, TimeSpan.Zero) });

        var access = client.GetClientAccess("u1", ["webpubsub.sendToGroup.g1"], ["g1"], TimeSpan.FromMinutes(5));

        Assert.That(access.Url.GetLeftPart(UriPartial.Path), Is.EqualTo("wss://contoso.webpubsub.azure.com/client/hubs/im"));
        Assert.That(access.ExpiresAt, Is.EqualTo(now.AddMinutes(5)));
        var token = access.Url.Query["?access_token=".Length..];
        var jwt = await Validate(token, validateLifetime: false);
        Assert.That(jwt.Audiences.Single(), Is.EqualTo("https://contoso.webpubsub.azure.com/client/hubs/im"));
        Assert.That(jwt.Subject, Is.EqualTo("u1"));
        Assert.That(jwt.ValidTo, Is.EqualTo(now.AddMinutes(5).UtcDateTime));
        var payload = JsonDocument.Parse(Base64UrlEncoder.Decode(jwt.EncodedPayload)).RootElement;
        Assert.That(payload.GetProperty("role").ToString(), Is.EqualTo("""["webpubsub.sendToGroup.g1"]"""));
        Assert.That(payload.GetProperty("webpubsub.group").ToString(), Is.EqualTo("""["g1"]"""));
    }

    [Test]
    public async Task A_plain_http_endpoint_gives_ws_urls_with_its_port()
    {
        var client = new WebPubSubRestClient(WebPubSubConnectionString.Parse($"Endpoint=http://127.0.0.1;Port=7071;AccessKey={Key};Version=1.0;"), "im");

        var access = await client.GetClientAccessAsync("u1", TimeSpan.FromHours(1), CancellationToken.None);

        Assert.That(access.Url.GetLeftPart(UriPartial.Path), Is.EqualTo("ws://127.0.0.1:7071/client/hubs/im"));
    }

    static async Task<JsonWebToken> Validate(string token, bool validateLifetime = true)
    {
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(token, new TokenValidationParameters
        {
            IssuerSigningKey = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(Key)),
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
            ValidateIssuer = false,
            ValidateAudience = false,
            ValidateLifetime = validateLifetime,
        });
        Assert.That(result.IsValid, Is.True, result.Exception?.Message);
        var jwt = (JsonWebToken)result.SecurityToken;
        Assert.That(jwt.Alg, Is.EqualTo("HS256"));
        Assert.That(jwt.Typ, Is.EqualTo("JWT"));
        return jwt;
    }

    static int ExpectedStatus(HttpRequestMessage request) => request.Method.Method switch
    {
        "POST" when request.RequestUri!.AbsolutePath.EndsWith(":closeConnections") => 204,
        "POST" => 202,
        "PUT" => 200,
        _ => 204,
    };

    sealed record Seen(HttpMethod Method, Uri Uri, string? Authorization, string? ContentType, string? Accept, string? Body);

    /// <summary>Answers each attempt with the status the script returns for it (1-based attempt number).</summary>
    sealed class ScriptedService(Func<HttpRequestMessage, int, int> script, int? retryAfterSeconds = null, TimeSpan? delay = null)
        : HttpMessageHandler
    {
        readonly ConcurrentQueue<Seen> seen = new();
        public IReadOnlyList<Seen> Requests => seen.ToArray();

        public WebPubSubRestClient Client(int maxRetries = 3, TimeSpan? networkTimeout = null, TimeProvider? clock = null)
        {
            var options = new WebPubSubRestClientOptions { Transport = new HttpClientTransport(new HttpClient(this)) };
            options.Retry.MaxRetries = maxRetries;
            options.Retry.Delay = TimeSpan.FromMilliseconds(1);
            options.Retry.MaxDelay = TimeSpan.FromMilliseconds(10);
            if (networkTimeout is { } timeout) options.Retry.NetworkTimeout = timeout;
            if (clock is not null) options.Clock = clock;
            return new WebPubSubRestClient(Connection, "im", options);
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            seen.Enqueue(new Seen(request.Method, request.RequestUri!, request.Headers.Authorization?.ToString(),
                request.Content?.Headers.ContentType?.ToString(), request.Headers.Accept.ToString() is { Length: > 0 } a ? a : null,
                request.Content is null ? null : await request.Content.ReadAsStringAsync(ct)));
            if (delay is { } wait) await Task.Delay(wait, ct);
            var response = new HttpResponseMessage((HttpStatusCode)script(request, seen.Count)) { Content = new StringContent("") };
            if (retryAfterSeconds is { } seconds) response.Headers.Add("Retry-After", seconds.ToString());
            return response;
        }
    }

    /// <summary>A clock that moves on by <c>step</c> each time it is read, so consecutive tokens differ.</summary>
    sealed class SteppingClock(DateTimeOffset start, TimeSpan? step = null) : TimeProvider
    {
        DateTimeOffset now = start;
        public override DateTimeOffset GetUtcNow()
        {
            var current = now;
            now += step ?? TimeSpan.FromSeconds(1);
            return current;
        }
    }
}
