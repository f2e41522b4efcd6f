using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace ImFunctions.Local.WebChat;

/// <summary>
/// The web chat's sign-in on a developer's machine: signs a legacy JWT for a name, as a legacy backend would.
/// Mapped only when the legacy key itself was generated into the data folder (DevSecrets): with a configured
/// UniIm__JwtSecret, or in Azure, this route does not exist and anyone could otherwise log in as anyone.
/// </summary>
public static class DevSignIn
{
    public const string Path = "/dev/signin";
    const int MaxNameLength = 32;

    public static void MapDevSignIn(this WebApplication app, string jwtSecret)
    {
        app.MapPost(Path, async (HttpContext http) =>
        {
            var name = await ReadNameAsync(http);
            if (name is null)
                return Results.Json(new { errCode = "uni-im-invalid-param", errMsg = $"name is required (1 to {MaxNameLength} letters, digits, - or _)", errSubject = "dev-signin" }, statusCode: 400);
            // The same name is the same user on every sign-in: the openid is derived from it.
            var payload = new
            {
                exp = DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds(),
                userInfo = new { openid = "dev-" + name.ToLowerInvariant(), nickname = name },
            };
            return Results.Json(new { errCode = 0, errMsg = "", data = new { signedData = Sign(payload, jwtSecret) } });
        });
    }

    static async Task<string?> ReadNameAsync(HttpContext http)
    {
        try
        {
            using var body = await JsonDocument.ParseAsync(http.Request.Body, cancellationToken: http.RequestAborted);
            var name = body.RootElement.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()!.Trim() : null;
            return name is { Length: > 0 and <= MaxNameLength } && name.All(c => char.IsLetterOrDigit(c) || c is '-' or '_') ? name : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    static string Sign(object payload, string secret)
    {
        static string Part(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var unsigned = Part(JsonSerializer.SerializeToUtf8Bytes(new { alg = "HS256", typ = "JWT" })) + "." + Part(JsonSerializer.SerializeToUtf8Bytes(payload));
        return unsigned + "." + Part(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(unsigned)));
    }
}
