using System.Security.Claims;
using System.Text;
using ImFunctions.Api.Hosting;
using ImFunctions.Core.Domain;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace ImFunctions.Api.Auth;

/// <summary>
/// Issues and checks ImFunctions tokens: HS256 JWTs carrying uid, roles, the user's token version (logoutAll) and a
/// session id (logout) that renewals keep, so logging out ends the login and every token renewed from it.
/// </summary>
public sealed class TokenService(AuthOptions options, TimeProvider clock) : IDisposable
{
    const string Issuer = "imfunctions";
    /// <summary>Tokens whose signature and claims were checked, remembered until they expire (at most this many).</summary>
    const int RememberedTokens = 10_000;
    static readonly JsonWebTokenHandler Handler = new() { MapInboundClaims = false, SetDefaultTimesOnTokenCreation = false };
    readonly SymmetricSecurityKey key = new(Encoding.UTF8.GetBytes(options.TokenSecret));
    // A client sends the same token with every call: parsing it and checking its HMAC again each time was the largest
    // piece of the request path (bench micro). A token's check depends only on its text, our key and the time, so a
    // remembered check holds until the token expires. Revocation is not decided here: CallerAuthentication compares
    // the token's version and session with the user's on every request.
    readonly MemoryCache validated = new(new MemoryCacheOptions { SizeLimit = RememberedTokens });

    public IssuedToken Issue(User user, string? sid = null)
    {
        var now = clock.GetUtcNow();
        var expires = now + options.TokenLifetime;
        var token = Handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = Issuer,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = expires.UtcDateTime,
            Claims = new Dictionary<string, object>
            {
                ["sub"] = user.Id,
                ["role"] = user.Role,
                ["ver"] = user.TokenVersion,
                ["sid"] = sid ?? Ids.New(),
            },
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.HmacSha256),
        });
        return new IssuedToken(token, expires);
    }

    public async Task<TokenCheck> ValidateAsync(string token)
    {
        var now = clock.GetUtcNow();
        if (validated.TryGetValue(token, out TokenCheck? known) && known!.ExpiresAt > now) return known;
        var check = await CheckAsync(token);
        if (check.ErrorCode is null && check.ExpiresAt > now)
            validated.Set(token, check, new MemoryCacheEntryOptions { AbsoluteExpirationRelativeToNow = check.ExpiresAt - now, Size = 1 });
        return check;
    }

    async Task<TokenCheck> CheckAsync(string token)
    {
        var result = await Handler.ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = Issuer,
            ValidAudience = Issuer,
            IssuerSigningKey = key,
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
            ClockSkew = TimeSpan.Zero,
            LifetimeValidator = (notBefore, expires, _, _) =>
                expires is { } exp && clock.GetUtcNow().UtcDateTime < exp && (notBefore is null || notBefore <= clock.GetUtcNow().UtcDateTime.AddSeconds(30)),
        });
        if (!result.IsValid)
            return result.Exception is SecurityTokenInvalidLifetimeException or SecurityTokenExpiredException
                && Handler.CanReadToken(token) && Handler.ReadJsonWebToken(token).ValidTo <= clock.GetUtcNow().UtcDateTime
                ? TokenCheck.Expired
                : TokenCheck.Invalid;
        var jwt = (JsonWebToken)result.SecurityToken;
        if (!jwt.TryGetPayloadValue<string>("sub", out var uid) || !jwt.TryGetPayloadValue<int>("ver", out var version))
            return TokenCheck.Invalid;
        var sid = jwt.TryGetPayloadValue<string>("sid", out var s) ? s : null;
        return new TokenCheck(uid, version, new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero), null, sid);
    }

    public bool ShouldRenew(DateTimeOffset expiresAt) => expiresAt - clock.GetUtcNow() < options.RenewBefore;

    /// <summary>The longest any token lives: how long a logged-out session must stay on the revoked list.</summary>
    public TimeSpan Lifetime => options.TokenLifetime;

    public void Dispose() => validated.Dispose();
}

/// <param name="Sid">The login session the token belongs to (null on tokens issued before sessions existed).</param>
public sealed record TokenCheck(string? Uid, int Version, DateTimeOffset ExpiresAt, string? ErrorCode, string? Sid = null)
{
    public static readonly TokenCheck Invalid = new(null, 0, default, ErrorCodes.TokenInvalid);
    public static readonly TokenCheck Expired = new(null, 0, default, ErrorCodes.TokenExpired);
}
