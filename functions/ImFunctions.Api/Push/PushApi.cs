using ImFunctions.Api.Hosting;
using ImFunctions.Core.Groups;
using ImFunctions.Core.Push;

namespace ImFunctions.Api.Push;

public static class PushApi
{
    /// <summary>How long a negotiated WebSocket URL stays valid (Web PubSub's default is 60 minutes).</summary>
    static readonly TimeSpan UrlLifetime = TimeSpan.FromMinutes(60);

    public static ImMethodTable AddPush(this ImMethodTable methods) => methods
        .Add<NegotiateRequest>("negotiate", Negotiate);

    static async Task<IResult> Negotiate(NegotiateRequest req, ImCall call)
    {
        var groups = await call.Get<GroupDirectory>().PushGroupsAsync(call.Me.Id, call.Ct);
        var access = await call.Get<IPushGateway>().GetClientAccessAsync(call.Me.Id, groups, UrlLifetime, call.Ct);
        return UniIm.Ok(new { url = access.Url.AbsoluteUri, expire_time = access.ExpiresAt.ToUnixTimeMilliseconds() });
    }
}

/// <summary>negotiate takes no params; its body must still be a JSON object (or absent).</summary>
public sealed record NegotiateRequest;
