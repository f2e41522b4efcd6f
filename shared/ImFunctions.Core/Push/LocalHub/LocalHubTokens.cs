using System.Security.Claims;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace ImFunctions.Core.Push.LocalHub;

/// <summary>Client access tokens in Web PubSub's format: HS256 with the access key, aud = the hub's client URL, sub = user.</summary>
public sealed class LocalHubTokens(LocalHubOptions options)
{
    static readonly JsonWebTokenHandler Handler = new() { MapInboundClaims = false };

    public ClientAccess CreateClientAccess(Uri baseUrl, string userId, TimeSpan lifetime, DateTimeOffset now)
    {
        var clientUrl = ClientUrl(baseUrl);
        var expires = now + lifetime;
        var token = Handler.CreateToken(new SecurityTokenDescriptor
        {
            Audience = clientUrl.GetLeftPart(UriPartial.Path),
            Subject = new ClaimsIdentity([new Claim("sub", userId)]),
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = expires.UtcDateTime,
            SigningCredentials = new SigningCredentials(Key(), SecurityAlgorithms.HmacSha256),
        });
        return new ClientAccess(new Uri(clientUrl + "?access_token=" + Uri.EscapeDataString(token)), expires);
    }

    /// <summary>The token's user, or null when it is not a valid token for this hub.</summary>
    public async Task<string?> ValidateAsync(string token, string hub)
    {
        var result = await Handler.ValidateTokenAsync(token, new TokenValidationParameters
        {
            IssuerSigningKey = Key(),
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
            ValidateIssuer = false,
            // The host part differs by how the client reached us (loopback, LAN name); the hub path must match.
            AudienceValidator = (audiences, _, _) => audiences.Any(a =>
                Uri.TryCreate(a, UriKind.Absolute, out var uri)
                && uri.AbsolutePath.TrimEnd('/').Equals("/client/hubs/" + hub, StringComparison.OrdinalIgnoreCase)),
            ClockSkew = TimeSpan.FromMinutes(5),
        });
        return result.IsValid && result.Claims.TryGetValue("sub", out var sub) && sub is string user && user.Length > 0 ? user : null;
    }

    Uri ClientUrl(Uri baseUrl)
    {
        var scheme = baseUrl.Scheme == Uri.UriSchemeHttps ? "wss" : "ws";
        return new UriBuilder(baseUrl) { Scheme = scheme, Path = "/client/hubs/" + options.Hub, Query = "" }.Uri;
    }

    SymmetricSecurityKey Key() => new(Encoding.UTF8.GetBytes(options.AccessKey));
}
