using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace ImFunctions.Tests.Support;

/// <summary>Hand-made ImFunctions tokens, for expiry, forgery and revocation cases.</summary>
public static class ImTokens
{
    public static string Sign(string uid, int version, DateTimeOffset expires, string secret = TestApp.TokenSecret)
    {
        var issued = expires.AddHours(-2) < DateTimeOffset.UtcNow.AddMinutes(-1) ? expires.AddHours(-2) : DateTimeOffset.UtcNow.AddMinutes(-1);
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "imfunctions",
            Audience = "imfunctions",
            IssuedAt = issued.UtcDateTime,
            NotBefore = issued.UtcDateTime,
            Expires = expires.UtcDateTime,
            Claims = new Dictionary<string, object> { ["sub"] = uid, ["role"] = Array.Empty<string>(), ["ver"] = version },
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(secret)), SecurityAlgorithms.HmacSha256),
        });
    }
}
