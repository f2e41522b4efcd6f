using ImFunctions.Core.Domain;
using ImFunctions.Tests.Support;

namespace ImFunctions.Tests.Hardening;

/// <summary>
/// Calls without a user (logins, bad tokens) are limited per client address with the default limits, so a flood
/// of forged logins from one address ends in 429 for that address and never blocks anyone else's login.
/// Two real client addresses on loopback: 127.0.0.1 and 127.0.0.2.
/// </summary>
public sealed class LoginFloodTests
{
    const int MaxFloodRequests = 200;

    /// <summary>The test app's generous limits removed: the defaults are what production runs.</summary>
    static Dictionary<string, string?> DefaultAddressLimits(string? forwardedForHeader = null) => new()
    {
        ["RateLimit:AddressBurst"] = null,
        ["RateLimit:AddressPermitsPerSecond"] = null,
        ["RateLimit:ForwardedForHeader"] = forwardedForHeader,
    };

    static string ForgedLogin(int i) => LegacyJwts.Sign(new { userInfo = new { openid = "victim-" + i, role = new[] { "admin" } } }, "not-the-secret");

    static string ValidLogin(string openid) =>
        LegacyJwts.Sign(new { exp = DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds(), userInfo = new { openid } }, TestApp.JwtSecret);

    /// <summary>Sends forged requests until one is refused with 429 (returned with how many were sent); every earlier one is a 401.</summary>
    static async Task<(ApiReply Reply, int Attempts)> FloodUntilLimitedAsync(Func<int, Task<ApiReply>> forged, string errCode = ErrorCodes.LegacyJwtInvalid)
    {
        for (var i = 0; i < MaxFloodRequests; i++)
        {
            var reply = await forged(i);
            if (reply.Status == 429) return (reply, i + 1);
            reply.AssertError(401, errCode);
        }
        Assert.Fail($"{MaxFloodRequests} forged requests from one address were never rate limited");
        return default;
    }

    static void AssertLimited((ApiReply Reply, int Attempts) flood) => AssertLimited(flood.Reply);

    static void AssertLimited(ApiReply reply)
    {
        reply.AssertError(429, ErrorCodes.RateLimited);
        Assert.That(reply.Headers.RetryAfter?.Delta?.TotalSeconds, Is.GreaterThanOrEqualTo(1));
    }

    [Test]
    public async Task A_flood_of_forged_logins_from_one_address_does_not_block_logins_from_another()
    {
        await using var app = await TestApp.StartAsync(DefaultAddressLimits());
        using var attacker = new RawClient(app, "127.0.0.2");
        using var victim = new RawClient(app, "127.0.0.1");

        AssertLimited(await FloodUntilLimitedAsync(i => attacker.PostAsync("loginWithJWT", new { signedData = ForgedLogin(i) })));

        for (var i = 0; i < 5; i++)
            (await victim.PostAsync("loginWithJWT", new { signedData = ValidLogin("real-user-" + i) })).AssertOk();
    }

    [Test]
    public async Task Failed_logins_cost_more_than_good_ones()
    {
        await using var app = await TestApp.StartAsync(new Dictionary<string, string?>(DefaultAddressLimits())
        {
            ["RateLimit:AddressBurst"] = "100",
            ["RateLimit:AddressPermitsPerSecond"] = "1",
        });
        using var attacker = new RawClient(app, "127.0.0.2");
        using var user = new RawClient(app, "127.0.0.1");

        // A burst of 100 permits: forty good logins fit in it, while forged ones spend it five at a time.
        for (var i = 0; i < 40; i++)
            (await user.PostAsync("loginWithJWT", new { signedData = ValidLogin("good-" + i) })).AssertOk();
        var flood = await FloodUntilLimitedAsync(i => attacker.PostAsync("loginWithJWT", new { signedData = ForgedLogin(i) }));
        AssertLimited(flood);
        Assert.That(flood.Attempts, Is.LessThan(40), "forged logins cost no more than good ones");
    }

    [Test]
    public async Task Invalid_bearer_tokens_from_one_address_end_in_429_for_that_address_only()
    {
        await using var app = await TestApp.StartAsync(DefaultAddressLimits());
        var alice = await app.LoginAsync();
        using var attacker = new RawClient(app, "127.0.0.2");
        using var other = new RawClient(app, "127.0.0.1");

        AssertLimited(await FloodUntilLimitedAsync(i => attacker.PostAsync("getConversationList", new { }, token: "forged." + i + ".token"),
            ErrorCodes.TokenInvalid));

        (await other.PostAsync("getConversationList", new { }, token: "forged.other.token")).AssertError(401, ErrorCodes.TokenInvalid);
        (await attacker.PostAsync("getConversationList", new { }, token: alice.Token)).AssertOk();   // a real user pays from their own bucket
    }

    [Test]
    public async Task Behind_a_trusted_front_end_the_rightmost_forwarded_address_is_charged_and_a_spoofed_leftmost_entry_does_not_help()
    {
        await using var app = await TestApp.StartAsync(DefaultAddressLimits(forwardedForHeader: "X-Forwarded-For"));
        using var frontEnd = new RawClient(app);   // every request arrives from the front end's own address

        // The attacker writes a fresh address of their own into the header each time; the front end appends the real one.
        AssertLimited(await FloodUntilLimitedAsync(i => frontEnd.PostAsync("loginWithJWT", new { signedData = ForgedLogin(i) },
            headers: new Dictionary<string, string> { ["X-Forwarded-For"] = $"10.9.{i / 250}.{i % 250}, 203.0.113.7" })));

        for (var i = 0; i < 5; i++)
            (await frontEnd.PostAsync("loginWithJWT", new { signedData = ValidLogin("behind-proxy-" + i) },
                headers: new Dictionary<string, string> { ["X-Forwarded-For"] = "198.51.100.20" })).AssertOk();
    }

    [Test]
    public async Task Behind_a_trusted_front_end_that_writes_the_client_port_a_new_port_does_not_buy_a_new_bucket()
    {
        await using var app = await TestApp.StartAsync(DefaultAddressLimits(forwardedForHeader: "X-Forwarded-For"));
        using var frontEnd = new RawClient(app);

        AssertLimited(await FloodUntilLimitedAsync(i => frontEnd.PostAsync("loginWithJWT", new { signedData = ForgedLogin(i) },
            headers: new Dictionary<string, string> { ["X-Forwarded-For"] = $"203.0.113.7:{10_000 + i}" })));

        (await frontEnd.PostAsync("loginWithJWT", new { signedData = ValidLogin("ipv4-with-port") },
            headers: new Dictionary<string, string> { ["X-Forwarded-For"] = "198.51.100.20:443" })).AssertOk();
        (await frontEnd.PostAsync("loginWithJWT", new { signedData = ValidLogin("ipv6-with-port") },
            headers: new Dictionary<string, string> { ["X-Forwarded-For"] = "[2001:db8::20]:443" })).AssertOk();
    }

    [Test]
    public async Task A_forwarded_for_header_is_ignored_unless_configured()
    {
        await using var app = await TestApp.StartAsync(DefaultAddressLimits());
        using var attacker = new RawClient(app, "127.0.0.2");
        using var victim = new RawClient(app, "127.0.0.1");

        // A fresh "client address" in the header each time does not buy a fresh bucket.
        AssertLimited(await FloodUntilLimitedAsync(i => attacker.PostAsync("loginWithJWT", new { signedData = ForgedLogin(i) },
            headers: new Dictionary<string, string> { ["X-Forwarded-For"] = $"10.8.{i / 250}.{i % 250}" })));

        (await victim.PostAsync("loginWithJWT", new { signedData = ValidLogin("unaffected") })).AssertOk();
    }
}
