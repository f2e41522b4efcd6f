using System.Net.WebSockets;
using ImFunctions.Core.Push.LocalHub;

namespace ImFunctions.Api.Push;

/// <summary>The in-process hub's client endpoint, at Web PubSub's own path so client code works unchanged.</summary>
public static class LocalHubEndpoint
{
    public static readonly string[] Subprotocols = ["json.webpubsub.azure.v1"];

    public static IEndpointRouteBuilder MapLocalPushHub(this IEndpointRouteBuilder app)
    {
        app.Map("/client/hubs/{hub}", Connect).AllowAnonymous().DisableRateLimiting();
        return app;
    }

    static async Task Connect(string hub, HttpContext context, LocalPushHub pushHub, LocalHubTokens tokens, LocalHubOptions options)
    {
        if (!context.WebSockets.IsWebSocketRequest || !string.Equals(hub, options.Hub, StringComparison.OrdinalIgnoreCase))
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }
        var token = context.Request.Query["access_token"].ToString();
        if (token.Length == 0 && context.Request.Headers.Authorization.ToString() is { } header
            && header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            token = header["Bearer ".Length..];
        var userId = token.Length == 0 ? null : await tokens.ValidateAsync(token, options.Hub);
        if (userId is null)
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return;
        }

        // The client SDK refuses a server that does not echo its subprotocol.
        var subprotocol = context.WebSockets.WebSocketRequestedProtocols.FirstOrDefault(p => Subprotocols.Contains(p));
        using var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext { SubProtocol = subprotocol });
        var connection = pushHub.Register(socket, userId, subprotocol);
        await pushHub.RunAsync(connection, context.RequestAborted);
        if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            try { await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None); }
            catch (WebSocketException) { }
        }
    }
}
