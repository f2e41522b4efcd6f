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
    public Uri BaseAddress { get; }
    public HttpClient Http { get; }
    public string DataDirectory { get; }

    TestApp(WebApplication app, string dataDirectory)
    {
        App = app;
        DataDirectory = dataDirectory;
        BaseAddress = new Uri(app.Urls.First());
        Http = new HttpClient { BaseAddress = BaseAddress };
    }

    /// <summary>Starts an app; <paramref name="settings"/> override the test defaults (null removes one).</summary>
    /// <param name="dataDirectory">Another app's folder, to restart on its data (see <see cref="KeepDataOnDispose"/>).</param>
    public static async Task<TestApp> StartAsync(IDictionary<string, string?>? settings = null, string? dataDirectory = null)
    {
        dataDirectory ??= Path.Combine(Path.GetTempPath(), "imfunctions-tests", Guid.NewGuid().ToString("N"));
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
        });
        await app.StartAsync();
        return new TestApp(app, dataDirectory);
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

    /// <summary>Stop without deleting the data folder, so a new app can start on it (a restart).</summary>
    public bool KeepDataOnDispose { get; set; }

    public T Service<T>() where T : notnull => (T)App.Services.GetService(typeof(T))!;

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (KeepDataOnDispose) return;
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
