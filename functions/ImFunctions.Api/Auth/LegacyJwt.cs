using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ImFunctions.Core.Domain;
using Microsoft.IdentityModel.Tokens;

namespace ImFunctions.Api.Auth;

/// <summary>The userInfo a legacy backend signs into its JWT (uni-im's loginWithJWT).</summary>
public sealed record LegacyUserInfo(string Openid, string? Nickname, AvatarFile? AvatarFile, int? Gender, string? Mobile,
    string? Email, string[] Role);

/// <summary>
/// Verifies the legacy backends' HS256 JWTs. Written out rather than delegated to the JWT library because
/// that library refuses HMAC keys under 32 bytes, and legacy backends' jwtSecrets often are shorter; the rules
/// kept are the strict ones: HS256 only (never "none"), constant-time signature check, exp honoured.
/// </summary>
public static class LegacyJwt
{
    /// <summary>uni-im's own docs sign exp: Date.now() + 60000, in milliseconds; larger values are read as such.</summary>
    const long MillisecondsThreshold = 100_000_000_000;
    static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(5);

    public static Result<LegacyUserInfo> Verify(string token, string secret, DateTimeOffset now)
    {
        var invalid = new ImError(401, ErrorCodes.LegacyJwtInvalid, "The signed login token is invalid or expired.");
        var parts = token.Split('.');
        if (parts.Length != 3) return invalid;
        try
        {
            using var header = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(parts[0]));
            if (header.RootElement.ValueKind != JsonValueKind.Object
                || !header.RootElement.TryGetProperty("alg", out var alg) || alg.ValueKind != JsonValueKind.String
                || alg.GetString() != "HS256")
                return invalid;

            var expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]));
            if (!CryptographicOperations.FixedTimeEquals(expected, Base64UrlEncoder.DecodeBytes(parts[2]))) return invalid;

            using var payload = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(parts[1]));
            var claims = payload.RootElement;
            if (claims.ValueKind != JsonValueKind.Object) return invalid;
            if (!TryReadTime(claims, "exp", out var expires) || (expires is { } e && IsPast(e, now))) return invalid;
            if (!TryReadTime(claims, "nbf", out var notBefore) || (notBefore is { } n && !IsPast(n, now + 2 * ClockSkew))) return invalid;
            return ReadUserInfo(claims);
        }
        catch (Exception e) when (e is FormatException or JsonException or ArgumentException or InvalidOperationException)
        {
            return invalid;
        }
    }

    /// <summary>False when the claim is there but not a number; absent and null read as no limit.</summary>
    static bool TryReadTime(JsonElement claims, string name, out double? value)
    {
        value = null;
        if (!claims.TryGetProperty(name, out var claim) || claim.ValueKind == JsonValueKind.Null) return true;
        if (claim.ValueKind != JsonValueKind.Number) return false;
        value = claim.GetDouble();
        return true;
    }

    static bool IsPast(double epoch, DateTimeOffset now)
    {
        var ms = epoch > MillisecondsThreshold ? epoch : epoch * 1000;
        return ms + ClockSkew.TotalMilliseconds <= now.ToUnixTimeMilliseconds();
    }

    static Result<LegacyUserInfo> ReadUserInfo(JsonElement claims)
    {
        if (!claims.TryGetProperty("userInfo", out var info) || info.ValueKind != JsonValueKind.Object
            || !info.TryGetProperty("openid", out var openid) || openid.ValueKind != JsonValueKind.String
            || string.IsNullOrWhiteSpace(openid.GetString()))
            return new ImError(400, ErrorCodes.LegacyJwtNoOpenid, "userInfo.openid is missing from the signed login token.");
        if (openid.GetString()!.Length > 128) return ImError.InvalidParam("userInfo.openid", "is longer than 128 characters");

        string? Text(string name, int max) =>
            info.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
                ? v.GetString()!.Length <= max ? v.GetString() : throw new FormatException($"userInfo.{name} is too long")
                : v.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null ? null
                : throw new FormatException($"userInfo.{name} must be a string");
        try
        {
            int? gender = info.TryGetProperty("gender", out var g) && g.ValueKind != JsonValueKind.Null
                ? g.TryGetInt32(out var n) && n is 0 or 1 or 2 ? n : throw new FormatException("userInfo.gender must be 0, 1 or 2")
                : null;
            var avatar = info.TryGetProperty("avatar_file", out var a) && a.ValueKind == JsonValueKind.Object
                ? a.Deserialize<AvatarFile>(ImJson.Options) : null;
            var role = info.TryGetProperty("role", out var r) && r.ValueKind == JsonValueKind.Array
                ? r.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!).ToArray()
                : [];
            return new LegacyUserInfo(openid.GetString()!, Text("nickname", 100), avatar, gender, Text("mobile", 32),
                Text("email", 254), role);
        }
        catch (FormatException e)
        {
            return new ImError(400, ErrorCodes.InvalidParam, e.Message);
        }
        catch (JsonException)
        {
            return ImError.InvalidParam("userInfo.avatar_file", "must be {extname, name, url} with string values");
        }
    }
}
