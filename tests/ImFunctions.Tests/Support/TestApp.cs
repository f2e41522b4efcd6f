using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ImFunctions.Local;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;

namespace ImFunctions.Tests.Support;

/// <summary>
/// The real handler on real Kestrel, on a free loopback port, with its own data folder and known secrets.
/// Tests talk to it over HTTP and WebSockets exactly as clients do.
/// </summary>
public sealed class TestApp : IAsyncDisposable
{
    public const string JwtSecret = "test-legacy-jwt-secret-0123456789abcdef";
    public const string TokenSecret = "test-imfunctions-token-secret-0123456789";
    public const string HubAccessKey = "test-local-hub-access-key-0123456789ABCDEFG";

    public WebApplication App { get; }
    public string DataDirectory { get; }
    /// <summary>Everything the app logged since it was built.</summary>
    public LogRecorder Logs { get; } = new();

    TestApp(WebApplication app, string dataDirectory)
    {
        App = app;
        DataDirectory = dataDirectory;
    }

    Uri? baseAddress;
    HttpClient? http;
    /// <summary>Known once the app has started (Kestrel picks the port).</summary>
    public Uri BaseAddress => baseAddress ??= new Uri(App.Urls.First());
    public HttpClient Http => http ??= new HttpClient { BaseAddress = BaseAddress };

    /// <summary>Starts an app; <paramref name="settings"/> override the test defaults (null removes one).</summary>
    /// <param name="configure">Runs before the app's own registrations: a service added here (a clock) wins over a TryAdd default.</param>
    public static async Task<TestApp> StartAsync(IDictionary<string, string?>? settings = null, Action<WebApplicationBuilder>? configure = null)
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "imfunctions-tests", Guid.NewGuid().ToString("N"));
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
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) all[key] = value;
        var app = await ImFunctionsApp.CreateAsync([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(all.Where(kv => kv.Value is not null));
            builder.WebHost.UseUrls(all["urls"]!);
            configure?.Invoke(builder);
        });
        var testApp = new TestApp(app, dataDirectory);
        ((Microsoft.Extensions.Logging.ILoggerFactory)app.Services.GetService(typeof(Microsoft.Extensions.Logging.ILoggerFactory))!).AddProvider(testApp.Logs);
        await app.StartAsync();
        return testApp;
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
        return new ApiReply((int)response.StatusCode, JsonDocument.Parse(text).RootElement.Clone(), response.Headers);
    }

    public T Service<T>() where T : notnull => (T)App.Services.GetService(typeof(T))!;

    public async ValueTask DisposeAsync()
    {
        http?.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { }
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
