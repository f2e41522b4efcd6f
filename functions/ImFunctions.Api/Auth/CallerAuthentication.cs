using ImFunctions.Api.Hosting;
using ImFunctions.Core.Accounts;
using ImFunctions.Core.Domain;

namespace ImFunctions.Api.Auth;

/// <summary>
/// Finds the caller of a user method: an ImFunctions token from <c>Authorization: Bearer</c> or uniCloud's
/// <c>uni-id-token</c> header, of the user's current token version (logout and deletion bump it). A token close
/// to expiry is renewed through the response's <c>newToken</c>.
/// </summary>
public sealed class CallerAuthentication(TokenService tokens, UserDirectory users)
{
    public async Task<Result<User>> AuthenticateAsync(HttpContext context)
    {
        var token = ReadToken(context.Request);
        if (token is null) return Unauthorized(ErrorCodes.TokenInvalid, "No token: send Authorization: Bearer <token>.");

        var check = await tokens.ValidateAsync(token);
        if (check.ErrorCode is not null)
            return Unauthorized(check.ErrorCode, check.ErrorCode == ErrorCodes.TokenExpired ? "The token has expired." : "The token is invalid.");

        var user = await users.GetAsync(check.Uid!, context.RequestAborted);
        if (user is null || user.TokenVersion != check.Version || Sessions.IsRevoked(user, check.Sid))
            return Unauthorized(ErrorCodes.TokenInvalid, "The token has been revoked.");

        context.Items[SessionItem] = check.Sid;
        if (tokens.ShouldRenew(check.ExpiresAt)) UniIm.SetNewToken(context, tokens.Issue(user, check.Sid));
        return user;
    }

    const string SessionItem = "im.sid";

    /// <summary>The session of the token this request came with (logout ends it).</summary>
    public static string? SessionOf(HttpContext context) => context.Items[SessionItem] as string;

    static ImError Unauthorized(string code, string message) => new(401, code, message);

    static string? ReadToken(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return authorization["Bearer ".Length..].Trim();
        var uniIdToken = request.Headers["uni-id-token"].ToString();
        return uniIdToken.Length > 0 ? uniIdToken : null;
    }
}
