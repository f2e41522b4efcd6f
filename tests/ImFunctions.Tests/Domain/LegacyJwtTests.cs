using ImFunctions.Api.Auth;
using ImFunctions.Core.Domain;
using ImFunctions.Tests.Support;

namespace ImFunctions.Tests.Domain;

public sealed class LegacyJwtTests
{
    const string Secret = "short-secret";   // legacy backends often use short secrets; they must still verify
    static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);

    static Result<LegacyUserInfo> Verify(object payload, string secret = Secret, string alg = "HS256") =>
        LegacyJwt.Verify(LegacyJwts.Sign(payload, secret, alg), Secret, Now);

    static object Info(long? exp) => new { exp, userInfo = new { openid = "o-1", nickname = "Nick", gender = 1, role = new[] { "admin" } } };

    [Test]
    public void A_valid_token_yields_its_user_info()
    {
        var info = Verify(Info(Now.ToUnixTimeSeconds() + 60)).Match(i => i, e => throw new AssertionException(e.Message));
        Assert.That((info.Openid, info.Nickname, info.Gender), Is.EqualTo(("o-1", "Nick", (int?)1)));
        Assert.That(info.Role, Is.EqualTo(new[] { "admin" }));
    }

    [Test]
    public void Exp_in_milliseconds_as_uni_im_docs_sign_it_still_expires()
    {
        Assert.That(Verify(Info(Now.ToUnixTimeMilliseconds() + 60_000)).Error, Is.Null);
        Assert.That(Verify(Info(Now.ToUnixTimeMilliseconds() - 60_000)).Error?.Code, Is.EqualTo("1"));
    }

    [Test]
    public void An_expired_token_in_seconds_is_refused() =>
        Assert.That(Verify(Info(Now.ToUnixTimeSeconds() - 60)).Error?.Code, Is.EqualTo("1"));

    [Test]
    public void A_token_without_exp_is_accepted() => Assert.That(Verify(Info(null)).Error, Is.Null);

    [TestCase("none")]
    [TestCase("HS512")]
    [TestCase("RS256")]
    [TestCase("hs256")]
    public void Any_algorithm_but_HS256_is_refused(string alg) =>
        Assert.That(Verify(Info(null), alg: alg).Error?.Code, Is.EqualTo("1"));

    [Test]
    public void A_token_signed_with_another_secret_is_refused() =>
        Assert.That(Verify(Info(null), secret: "another-secret").Error?.Code, Is.EqualTo("1"));

    [TestCase("")]
    [TestCase("a.b")]
    [TestCase("not a jwt at all")]
    [TestCase("e30.e30.e30")]
    public void Garbage_is_refused_with_code_1(string token) =>
        Assert.That(LegacyJwt.Verify(token, Secret, Now).Error?.Code, Is.EqualTo("1"));

    [Test]
    public void A_token_without_openid_gets_code_2_and_400()
    {
        var error = Verify(new { userInfo = new { nickname = "x" } }).Error;
        Assert.That((error?.Status, error?.Code), Is.EqualTo(((int?)400, "2")));
    }

    [Test]
    public void A_malformed_profile_field_is_a_400_naming_it()
    {
        var error = Verify(new { userInfo = new { openid = "o", gender = 7 } }).Error;
        Assert.That((error?.Status, error?.Code), Is.EqualTo(((int?)400, ErrorCodes.InvalidParam)));
        Assert.That(error?.Message, Does.Contain("userInfo.gender"));
    }
}
