using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace ImFunctions.Core.Push.LocalHub;

/// <summary>Who a client token says the connection is: Web PubSub's sub, role and webpubsub.group claims.</summary>
public sealed record LocalHubClientIdentity(string? UserId, IReadOnlySet<string> Roles, IReadOnlyList<string> Groups);

/// <summary>Checks tokens the way Web PubSub does: HS256 with the access key's UTF-8 bytes, exp required.</summary>
public sealed class LocalHubTokens(LocalHubOptions options)
{
    static readonly JsonWebTokenHandler Handler = new() { MapInboundClaims = false };
    readonly SymmetricSecurityKey key = new(Encoding.UTF8.GetBytes(options.AccessKey));

    /// <summary>A client token for this hub (aud = any host's /client/hubs/{hub}), or null.</summary>
    public async Task<LocalHubClientIdentity?> ValidateClientTokenAsync(string token)
    {
        // The host part differs by how the client reached us (loopback, LAN name); the hub path must match.
        var result = await ValidateAsync(token, audience => Uri.TryCreate(audience, UriKind.Absolute, out var uri)
            && uri.AbsolutePath.TrimEnd('/').Equals("/client/hubs/" + options.Hub, StringComparison.OrdinalIgnoreCase));
        if (result?.SecurityToken is not JsonWebToken jwt) return null;
        var userId = jwt.TryGetPayloadValue<string>("sub", out var sub) && sub.Length > 0 ? sub : null;
        var roles = jwt.Claims.Where(c => c.Type == "role").Select(c => c.Value).ToHashSet(StringComparer.Ordinal);
        var groups = jwt.Claims.Where(c => c.Type == "webpubsub.group").Select(c => c.Value).Distinct().ToList();
        return new LocalHubClientIdentity(userId, roles, groups);
    }

    /// <summary>
    /// A REST token for this exact request: aud is the request URL with or without its query (the SDKs sign the
    /// full URL, the docs describe it without), compared after percent-decoding, trailing slash ignored.
    /// </summary>
    public async Task<bool> ValidateRestTokenAsync(string token, Uri requestUrl)
    {
        var full = Normalize(requestUrl.AbsoluteUri);
        var withoutQuery = Normalize(requestUrl.GetLeftPart(UriPartial.Path));
        var result = await ValidateAsync(token, audience => Normalize(audience) is { } a && (a == full || a == withoutQuery));
        return result is not null;
    }

    async Task<TokenValidationResult?> ValidateAsync(string token, Func<string, bool> audienceMatches)
    {
        var result = await Handler.ValidateTokenAsync(token, new TokenValidationParameters
        {
            IssuerSigningKey = key,
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
            ValidateIssuer = false,
            RequireExpirationTime = true,
            AudienceValidator = (audiences, _, _) => audiences.Any(audienceMatches),
            ClockSkew = TimeSpan.FromMinutes(5),
        });
        return result.IsValid ? result : null;
    }

    static string? Normalize(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri)
            ? uri.GetLeftPart(UriPartial.Authority) + Uri.UnescapeDataString(uri.AbsolutePath).TrimEnd('/') + Uri.UnescapeDataString(uri.Query)
            : null;
}
