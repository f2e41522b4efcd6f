using ImFunctions.Api.Auth;
using ImFunctions.Api.Hosting;
using ImFunctions.Core.Push;

namespace ImFunctions.Api.Push;

public static class PushApi
{
    /// <summary>How long a negotiated WebSocket URL stays valid (Web PubSub's default is 60 minutes).</summary>
    static readonly TimeSpan UrlLifetime = TimeSpan.FromMinutes(60);

    public static RouteGroupBuilder MapPush(this RouteGroupBuilder api)
    {
        api.MapPost("/negotiate", Negotiate);
        return api;
    }

    static async Task<IResult> Negotiate(CurrentUser me, IPushGateway push, CancellationToken ct)
    {
        var access = await push.GetClientAccessAsync(me.User.Id, UrlLifetime, ct);
        return UniIm.Ok(new { url = access.Url.AbsoluteUri, expire_time = access.ExpiresAt.ToUnixTimeMilliseconds() });
    }
}
