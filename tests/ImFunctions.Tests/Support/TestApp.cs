using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ImFunctions.Core.Push.LocalHub;
using ImFunctions.Local;
using ImFunctions.Tests.Support.FunctionsHost;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ImFunctions.Tests.Support;

/// <summary>Which host serves the API under test. An API fixture opts into both with
/// <c>[TestFixture(ImHost.Local)] [TestFixture(ImHost.Functions)]</c> and a constructor taking the host.</summary>
public enum ImHost
{
    /// <summary>The local host on Kestrel, pushing to its own in-process hub.</summary>
    Local,
    /// <summary>The Functions worker under <see cref="FunctionsHostEmulator"/>, pushing through the Web PubSub REST client to a local hub.</summary>
    Functions,
}

/// <summary>
/// The real handler on real Kestrel, on a free loopback port, with its own data folder and known secrets.
/// Tests talk to it over HTTP and WebSockets exactly as clients do. In <see cref="ImHost.Functions"/> mode the
/// methods are served by the isolated worker process behind the host emulator, and <see cref="App"/> is a local
/// host that only serves the Web PubSub hub the worker pushes to (negotiate hands out URLs on it).
/// </summary>
public sealed class TestApp : IAsyncDisposable
{
    public const string JwtSecret = "test-legacy-jwt-secret-0123456789abcdef";
    public const string TokenSecret = "test-imfunctions-token-secret-0123456789";
    public const string HubAccessKey = "test-local-hub-access-key-0123456789ABCDEFG";

    public ImHost Host { get; }
    /// <summary>The local host; with <see cref="ImHost.Functions"/>, the one serving the hub the worker pushes to.</summary>
    public WebApplication App { get; }
    /// <summary>Where the methods are served: the local host, or the emulated Functions host.</summary>
    public Uri BaseAddress { get; }
    public HttpClient Http { get; }
    /// <summary>The data folder of the app serving the methods.</summary>
    public string DataDirectory { get; }
    /// <summary>The emulated Functions host, with <see cref="ImHost.Functions"/>.</summary>
    public FunctionsHostEmulator? Functions { get; }
    /// <summary>Everything the serving local host logged since it was built (the worker logs in its own process).</summary>
    public LogRecorder Logs => App.Services.GetRequiredService<LogRecorder>();

    TestApp(ImHost host, WebApplication app, string dataDirectory, FunctionsHostEmulator? functions)
    {
        Host = host;
        App = app;
        DataDirectory = dataDirectory;
        Functions = functions;
        BaseAddress = functions?.BaseAddress ?? new Uri(app.Urls.First());
        Http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = BaseAddress };
    }

    /// <summary>Starts a local host; <paramref name="settings"/> override the test defaults (null removes one).</summary>
    public static Task<TestApp> StartAsync(IDictionary<string, string?>? settings = null) => StartAsync(ImHost.Local, settings);

    /// <summary>Starts a local host on another app's data folder: a restart (see <see cref="KeepDataOnDispose"/>).</summary>
    public static async Task<TestApp> StartAsync(IDictionary<string, string?>? settings, string dataDirectory) =>
        new(ImHost.Local, await StartLocalAsync(Settings(dataDirectory, settings)), dataDirectory, null);

    /// <summary>Starts a local host, letting the test add services (e.g. an in-memory exporter) before it is built.</summary>
    /// <param name="configure">Runs before the app's own registrations: a service added here (a clock) wins over a TryAdd default.</param>
    public static async Task<TestApp> StartAsync(IDictionary<string, string?>? settings, Action<WebApplicationBuilder> configure)
    {
        var dataDirectory = NewDataDirectory();
        var app = await StartLocalAsync(Settings(dataDirectory, settings), configure);
        return new TestApp(ImHost.Local, app, dataDirectory, null);
    }

    /// <summary>Starts the methods in <paramref name="host"/>; <paramref name="settings"/> override the test defaults (null removes one).</summary>
    public static async Task<TestApp> StartAsync(ImHost host, IDictionary<string, string?>? settings = null)
    {
        if (host == ImHost.Functions) return await StartFunctionsAsync(settings);
        var dataDirectory = NewDataDirectory();
        var app = await StartLocalAsync(Settings(dataDirectory, settings));
        return new TestApp(ImHost.Local, app, dataDirectory, null);
    }

    // The worker gets the same settings as environment variables (as Azure passes app settings), its own data
    // folder, and a local host whose hub stands in for Azure Web PubSub.
    static async Task<TestApp> StartFunctionsAsync(IDictionary<string, string?>? settings)
    {
        var hubData = NewDataDirectory();
        var hub = await StartLocalAsync(Settings(hubData, null));
        var dataDirectory = NewDataDirectory();
        try
        {
            var environment = Settings(dataDirectory, settings)
                .Where(kv => kv.Value is not null && kv.Key != "urls")
                .ToDictionary(kv => kv.Key.Replace(":", "__"), kv => kv.Value!);
            environment["Push__Provider"] = "webpubsub";
            environment["WebPubSub__ConnectionString"] = hub.Services.GetRequiredService<LocalHubOptions>().ConnectionString!;
            var functions = await FunctionsHostEmulator.StartAsync(ImFunctions.Tests.Api.FunctionsWorker.Directory, environment);
            await WarmUpAsync(functions);
            return new TestApp(ImHost.Functions, hub, dataDirectory, functions) { hubDataDirectory = hubData };
        }
        catch
        {
            await hub.StopAsync();
            await hub.DisposeAsync();
            throw;
        }
    }

    string? hubDataDirectory;

    // A cold worker's first invocation JITs its whole HTTP path; on a loaded machine that can outlast the worker's
    // own wait for the forwarded request (a cold start in Azure looks the same). One health call takes that hit.
    static async Task WarmUpAsync(FunctionsHostEmulator functions)
    {
        using var client = functions.CreateClient();
        for (var attempt = 1; ; attempt++)
        {
            using var response = await client.GetAsync("api/health");
            if (response.IsSuccessStatusCode) return;
            if (attempt == 3)
                throw new InvalidOperationException($"the worker's health answered {(int)response.StatusCode} three times; failures: {string.Join("; ", functions.Failures)}\n{functions.Log}");
        }
    }

    static string NewDataDirectory() => Path.Combine(Path.GetTempPath(), "imfunctions-tests", Guid.NewGuid().ToString("N"));

    static Dictionary<string, string?> Settings(string dataDirectory, IDictionary<string, string?>? overrides)
    {
        var all = new Dictionary<string, string?>
        {
            ["urls"] = "http://127.0.0.1:0",
            ["DataDirectory"] = dataDirectory,
            ["UniIm:JwtSecret"] = JwtSecret,
            ["Auth:TokenSecret"] = TokenSecret,
            ["LocalHub:AccessKey"] = HubAccessKey,
            ["RateLimit:Burst"] = "10000",
            ["RateLimit:PermitsPerSecond"] = "10000",
            ["RateLimit:AddressBurst"] = "10000",
            ["RateLimit:AddressPermitsPerSecond"] = "10000",
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>()) all[key] = value;
        return all;
    }

    static async Task<WebApplication> StartLocalAsync(Dictionary<string, string?> all, Action<WebApplicationBuilder>? configure = null)
    {
        var app = await ImFunctionsApp.CreateAsync([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(all.Where(kv => kv.Value is not null));
            builder.WebHost.UseUrls(all["urls"]!);
            builder.Services.AddSingleton<LogRecorder>();
            configure?.Invoke(builder);
        });
        // Added to the built app's factory: the app's own logging setup cannot drop it.
        app.Services.GetRequiredService<ILoggerFactory>().AddProvider(app.Services.GetRequiredService<LogRecorder>());
        await app.StartAsync();
        return app;
    }

    /// <summary>Logs a new user in through loginWithJWT with a legacy token signed as uni-im's docs do.</summary>
    public async Task<TestUser> LoginAsync(string? openid = null, object? extraUserInfo = null, IEnumerable<string>? role = null)
    {
        openid ??= "ext-" + Guid.NewGuid().ToString("N");
        var userInfo = new Dictionary<string, object?> { ["openid"] = openid, ["nickname"] = "nick " + openid[..Math.Min(8, openid.Length)] };
        if (role is not null) userInfo["role"] = role.ToArray();
        if (extraUserInfo is not null)
            foreach (var p in JsonSerializer.SerializeToElement(extraUserInfo).EnumerateObject()) userInfo[p.Name] = p.Value;
        var signed = LegacyJwts.Sign(new { exp = DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds(), userInfo }, JwtSecret);
        var reply = await PostAsync("loginWithJWT", new { signedData = signed });
        reply.AssertOk();
        return new TestUser(this, reply.Data.GetProperty("uid").GetString()!, openid,
            reply.Body.GetProperty("newToken").GetProperty("token").GetString()!);
    }

    public async Task<ApiReply> PostAsync(string method, object? body, string? token = null) =>
        await PostRawAsync(method, body is null ? null : JsonSerializer.Serialize(body), token);

    public async Task<ApiReply> PostRawAsync(string method, string? json, string? token = null, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/" + method);
        if (json is not null) request.Content = new StringContent(json, Encoding.UTF8, new MediaTypeHeaderValue(contentType));
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        try
        {
            return new ApiReply((int)response.StatusCode, JsonDocument.Parse(text).RootElement.Clone(), response.Headers);
        }
        catch (JsonException)
        {
            // Every answer is an envelope; anything else is a host-level failure, best explained by the worker's side.
            var worker = Functions is null ? "" : $"\nfailed invocations: {string.Join("; ", Functions.Failures)}\nthe worker said:\n{Functions.Log}";
            throw new AssertionException($"{method} answered {(int)response.StatusCode} with a body that is not JSON: '{text}'{worker}");
        }
    }

    /// <summary>Stop without deleting the data folder, so a new app can start on it (a restart).</summary>
    public bool KeepDataOnDispose { get; set; }

    /// <summary>A service of the local host. The worker's services live in another process: tests that need them are local-only.</summary>
    public T Service<T>() where T : notnull =>
        Host == ImHost.Local ? (T)App.Services.GetService(typeof(T))! : throw new InvalidOperationException("the Functions worker runs in its own process; make this test local-only");

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        if (Functions is not null) await Functions.DisposeAsync();
        await App.StopAsync();
        await App.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (KeepDataOnDispose) return;
        foreach (var directory in new[] { DataDirectory, hubDataDirectory })
            try { if (directory is not null) Directory.Delete(directory, recursive: true); } catch (IOException) { }
    }
}

public sealed record TestUser(TestApp App, string Uid, string Openid, string Token)
{
    public Task<ApiReply> PostAsync(string method, object? body = null) => App.PostAsync(method, body ?? new { }, Token);

    public Task<ApiReply> SendTextAsync(string toUid, string text, string? clientMsgId = null) =>
        PostAsync("sendMsg", new { to_uid = toUid, appId = "__UNI__TEST", type = "text", body = text, client_msg_id = clientMsgId });
}

public sealed record ApiReply(int Status, JsonElement Body, HttpResponseHeaders Headers)
{
    public JsonElement Data => Body.GetProperty("data");
    public string ErrCode => Body.GetProperty("errCode").ToString();

    public ApiReply AssertOk()
    {
        NUnit.Framework.Assert.That(Status, NUnit.Framework.Is.EqualTo(200), Body.ToString());
        return this;
    }

    public void AssertError(int status, string errCode)
    {
        NUnit.Framework.Assert.That((Status, ErrCode), NUnit.Framework.Is.EqualTo((status, errCode)), Body.ToString());
        NUnit.Framework.Assert.That(Body.GetProperty("errSubject").GetString(), NUnit.Framework.Is.EqualTo("uni-im-co"));
    }
}
