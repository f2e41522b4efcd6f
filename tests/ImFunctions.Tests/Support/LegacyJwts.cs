using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace ImFunctions.Tests.Support;

/// <summary>Signs legacy JWTs the way a PHP/Java backend (or Node's jsonwebtoken) does, including bad ones.</summary>
public static class LegacyJwts
{
    public static string Sign(object payload, string secret, string alg = "HS256")
    {
        var header = B64(JsonSerializer.SerializeToUtf8Bytes(new { alg, typ = "JWT" }));
        var body = B64(JsonSerializer.SerializeToUtf8Bytes(payload));
        var signature = alg == "none" ? "" : B64(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.ASCII.GetBytes(header + "." + body)));
        return header + "." + body + "." + signature;
    }

    static string B64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
