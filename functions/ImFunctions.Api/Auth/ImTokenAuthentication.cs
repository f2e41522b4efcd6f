using System.Security.Claims;
using System.Text.Encodings.Web;
using ImFunctions.Api.Hosting;
using ImFunctions.Core.Domain;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace ImFunctions.Api.Auth;

/// <summary>
/// Authenticates ImFunctions tokens from <c>Authorization: Bearer</c> or uniCloud's <c>uni-id-token</c> header,
/// rejects tokens of an older token version (logout, deletion), and renews tokens that are close to expiry.
/// </summary>
public sealed class ImTokenAuthentication(
    IOptionsMonitor<AuthenticationSchemeOptions> schemeOptions, ILoggerFactory logger, UrlEncoder encoder,
    TokenService tokens, UserDirectory users)
    : AuthenticationHandler<AuthenticationSchemeOptions>(schemeOptions, logger, encoder)
{
    public const string SchemeName = "ImToken";
    const string FailureItem = "im.authFailure";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var token = ReadToken(Request);
        if (token is null) return Fail(ErrorCodes.TokenInvalid, "No token: send Authorization: Bearer <token>.");

        var check = await tokens.ValidateAsync(token);
        if (check.ErrorCode is not null)
            return Fail(check.ErrorCode, check.ErrorCode == ErrorCodes.TokenExpired ? "The token has expired." : "The token is invalid.");

        var user = await users.GetAsync(check.Uid!, Context.RequestAborted);
        if (user is null || user.TokenVersion != check.Version)
            return Fail(ErrorCodes.TokenInvalid, "The token has been revoked.");

        CurrentUser.Set(Context, user);
        if (tokens.ShouldRenew(check.ExpiresAt)) UniIm.SetNewToken(Context, tokens.Issue(user));
        var identity = new ClaimsIdentity([new Claim("sub", user.Id)], SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var error = Context.Items[FailureItem] as ImError ?? new ImError(401, ErrorCodes.TokenInvalid, "Authentication required.");
        return UniIm.WriteErrorAsync(Context, error);
    }

    AuthenticateResult Fail(string code, string message)
    {
        Context.Items[FailureItem] = new ImError(401, code, message);
        return AuthenticateResult.Fail(message);
    }

    static string? ReadToken(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return authorization["Bearer ".Length..].Trim();
        var uniIdToken = request.Headers["uni-id-token"].ToString();
        return uniIdToken.Length > 0 ? uniIdToken : null;
    }
}

/// <summary>The authenticated caller, bound as a handler parameter.</summary>
public sealed record CurrentUser(User User)
{
    const string Item = "im.currentUser";

    public static void Set(HttpContext context, User user) => context.Items[Item] = new CurrentUser(user);

    public static ValueTask<CurrentUser?> BindAsync(HttpContext context) =>
        ValueTask.FromResult<CurrentUser?>(context.Items[Item] as CurrentUser
            ?? throw new InvalidOperationException("CurrentUser is bound only on endpoints that require authorization."));
}
