using ImFunctions.Core.Domain;
using ImFunctions.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace ImFunctions.Tests.Api;

[TestFixture(ImHost.Local)]
[TestFixture(ImHost.Functions)]
public sealed class AuthTests(ImHost host)
{
    TestApp app = null!;

    [OneTimeSetUp]
    public async Task Start() => app = await TestApp.StartAsync(host);

    [OneTimeTearDown]
    public async Task Stop() => await app.DisposeAsync();

    static string Legacy(object userInfo, long? expMs = null, string secret = TestApp.JwtSecret, string alg = "HS256") =>
        LegacyJwts.Sign(new { exp = expMs ?? DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds(), userInfo }, secret, alg);

    [Test]
    public async Task Login_creates_the_user_once_and_later_logins_refresh_the_profile()
    {
        var openid = "php-user-" + Guid.NewGuid().ToString("N");
        var first = (await app.PostAsync("loginWithJWT", new { signedData = Legacy(new { openid, nickname = "Old" }) })).AssertOk();
        var second = (await app.PostAsync("loginWithJWT", Legacy(new { openid, nickname = "New" }))).AssertOk();   // a bare string body

        Assert.That(second.Data.GetProperty("uid").GetString(), Is.EqualTo(first.Data.GetProperty("uid").GetString()));
        Assert.That(first.Data.GetProperty("uid").GetString(), Does.Match("^[0-9a-f]{24}$"));
        Assert.That(second.Body.GetProperty("newToken").GetProperty("tokenExpired").GetInt64(),
            Is.GreaterThan(DateTimeOffset.UtcNow.AddMinutes(110).ToUnixTimeMilliseconds()));
        var token = second.Body.GetProperty("newToken").GetProperty("token").GetString();
        var profile = (await app.PostAsync("getUserInfo", new { user_ids = new[] { first.Data.GetProperty("uid").GetString() } }, token)).AssertOk();
        Assert.That(profile.Data[0].GetProperty("nickname").GetString(), Is.EqualTo("New"));
    }

    [Test]
    public async Task Concurrent_first_logins_of_one_openid_make_one_user()
    {
        var openid = "race-" + Guid.NewGuid().ToString("N");
        var replies = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => app.PostAsync("loginWithJWT", new { signedData = Legacy(new { openid }) })));
        Assert.That(replies.Select(r => r.AssertOk().Data.GetProperty("uid").GetString()).Distinct().Count(), Is.EqualTo(1));
    }

    [Test]
    public async Task Legacy_tokens_that_are_forged_expired_or_unsigned_get_code_1()
    {
        (await app.PostAsync("loginWithJWT", new { signedData = Legacy(new { openid = "x" }, secret: "not-the-secret") })).AssertError(401, "1");
        (await app.PostAsync("loginWithJWT", new { signedData = Legacy(new { openid = "x" }, expMs: DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeMilliseconds()) })).AssertError(401, "1");
        (await app.PostAsync("loginWithJWT", new { signedData = Legacy(new { openid = "x" }, alg: "none") })).AssertError(401, "1");
        (await app.PostAsync("loginWithJWT", new { signedData = Legacy(new { nickname = "no openid" }) })).AssertError(400, "2");
        (await app.PostAsync("loginWithJWT", new { })).AssertError(400, ErrorCodes.InvalidParam);
    }

    [TestCase("", "4000")]
    [TestCase("jwtSecretDemo", "4100")]
    public async Task An_unusable_jwt_secret_answers_503_with_uni_ims_code(string secret, string code)
    {
        await using var misconfigured = await TestApp.StartAsync(host, new Dictionary<string, string?> { ["UniIm:JwtSecret"] = secret });
        (await misconfigured.PostAsync("loginWithJWT", new { signedData = Legacy(new { openid = "x" }, secret: secret.Length > 0 ? secret : "x") }))
            .AssertError(503, code);
    }

    [Test]
    public async Task Tokens_are_accepted_from_the_uni_id_token_header_too()
    {
        var user = await app.LoginAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/getConversationList") { Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Add("uni-id-token", user.Token);
        using var response = await app.Http.SendAsync(request);
        Assert.That((int)response.StatusCode, Is.EqualTo(200));
    }

    [Test]
    public async Task Missing_forged_and_expired_tokens_are_refused_with_uni_ids_codes()
    {
        var user = await app.LoginAsync();
        (await app.PostAsync("getConversationList", new { })).AssertError(401, ErrorCodes.TokenInvalid);
        (await app.PostAsync("getConversationList", new { }, user.Token[..^4] + "AAAA")).AssertError(401, ErrorCodes.TokenInvalid);
        (await app.PostAsync("getConversationList", new { }, ImTokens.Sign(user.Uid, 1, DateTimeOffset.UtcNow.AddHours(1), secret: "another-token-secret-0123456789-abcdef"))).AssertError(401, ErrorCodes.TokenInvalid);
        (await app.PostAsync("getConversationList", new { }, ImTokens.Sign(user.Uid, 1, DateTimeOffset.UtcNow.AddMinutes(-1)))).AssertError(401, ErrorCodes.TokenExpired);
        (await app.PostAsync("getConversationList", new { }, ImTokens.Sign("000000000000000000000000", 1, DateTimeOffset.UtcNow.AddHours(1)))).AssertError(401, ErrorCodes.TokenInvalid);
    }

    [Test]
    public async Task A_token_close_to_expiry_is_renewed_in_the_response()
    {
        var user = await app.LoginAsync();
        var fresh = await app.PostAsync("getConversationList", new { }, ImTokens.Sign(user.Uid, 1, DateTimeOffset.UtcNow.AddMinutes(90)));
        var closeToExpiry = await app.PostAsync("getConversationList", new { }, ImTokens.Sign(user.Uid, 1, DateTimeOffset.UtcNow.AddMinutes(30)));

        Assert.That(fresh.AssertOk().Body.TryGetProperty("newToken", out _), Is.False);
        var renewed = closeToExpiry.AssertOk().Body.GetProperty("newToken");
        Assert.That(renewed.GetProperty("tokenExpired").GetInt64(), Is.GreaterThan(DateTimeOffset.UtcNow.AddMinutes(110).ToUnixTimeMilliseconds()));
        (await app.PostAsync("getConversationList", new { }, renewed.GetProperty("token").GetString())).AssertOk();
    }
}

/// <summary>Auth tests that change stored state through the in-process services, so they run against the local host only.</summary>
public sealed class LocalAuthTests
{
    TestApp app = null!;

    [OneTimeSetUp]
    public async Task Start() => app = await TestApp.StartAsync();

    [OneTimeTearDown]
    public async Task Stop() => await app.DisposeAsync();

    [Test]
    public async Task Bumping_the_token_version_revokes_earlier_tokens()
    {
        var user = await app.LoginAsync();
        var users = app.Service<UserDirectory>();
        var stored = (await users.GetAsync(user.Uid, default))!;
        await users.SaveAsync(stored with { TokenVersion = stored.TokenVersion + 1 }, default);

        (await user.PostAsync("getConversationList")).AssertError(401, ErrorCodes.TokenInvalid);
    }
}

/// <summary>A token accepted before stays accepted only until it expires, by the app's clock (local host: the test moves it).</summary>
public sealed class TokenLifetimeTests
{
    [Test]
    public async Task A_token_that_was_accepted_is_refused_as_expired_once_its_lifetime_passes()
    {
        var clock = new ManualClock();
        await using var app = await TestApp.StartAsync(null, builder => builder.Services.AddSingleton<TimeProvider>(clock));
        var alice = await app.LoginAsync();
        (await alice.PostAsync("getConversationList")).AssertOk();
        (await alice.PostAsync("getConversationList")).AssertOk();

        clock.Advance(new ImFunctions.Api.Auth.AuthOptions().TokenLifetime + TimeSpan.FromSeconds(1));

        (await alice.PostAsync("getConversationList")).AssertError(401, ErrorCodes.TokenExpired);
    }
}
