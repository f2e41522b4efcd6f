using System.Net.WebSockets;
using ImFunctions.Core.Push.LocalHub;

namespace ImFunctions.Local.Push;

/// <summary>
/// The local hub, served by this app at Web PubSub's own paths so client and server code work unchanged:
/// clients at <c>/client/hubs/{hub}</c>, the REST API at <c>/api/hubs/{hub}/...</c> (<see cref="LocalHubRestApi"/>).
/// </summary>
public static class LocalHubEndpoint
{
    public static IEndpointRouteBuilder MapLocalPushHub(this IEndpointRouteBuilder app)
    {
        app.Map("/client/hubs/{hub}", Connect);
        app.MapLocalHubRestApi();
        return app;
    }

    static async Task Connect(string hub, HttpContext context, LocalPushHub pushHub, LocalHubTokens tokens)
    {
        if (!string.Equals(hub, pushHub.Hub, StringComparison.OrdinalIgnoreCase))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        var query = context.Request.Query;
        var recovering = query.ContainsKey("awps_connection_id");
        LocalHubClientIdentity? identity = null;
        if (!recovering)
        {
            // A recovery is authorized by its reconnection token; the access token in its URL may have expired since.
            identity = await tokens.ValidateClientTokenAsync(AccessToken(context.Request) ?? "");
            if (identity is null)
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                return;
            }
        }

        // @azure/web-pubsub-client refuses a server that does not echo its subprotocol.
        var protocol = ChooseProtocol(context.WebSockets.WebSocketRequestedProtocols, out var subprotocol);
        using var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext { SubProtocol = subprotocol });
        var transport = new LocalHubTransport(socket);
        var writer = transport.RunWriterAsync();

        var connection = recovering
            ? protocol == LocalHubProtocol.ReliableJson
                ? pushHub.Recover(query["awps_connection_id"].ToString(), query["awps_reconnection_token"].ToString(), transport)
                : null
            : pushHub.Connect(identity!, protocol, transport);
        if (connection is null)
        {
            // Accept, then close with 1008: the reliable client stops recovering and starts a new connection.
            transport.Close(WebSocketCloseStatus.PolicyViolation, "The connection cannot be recovered.");
            await transport.ReadAsync((_, _) => FrameVerdict.Continue);
        }
        else
        {
            var end = await transport.ReadAsync((frame, type) => pushHub.Receive(connection, frame, type));
            pushHub.SocketEnded(connection, transport, end);
        }
        transport.Complete();
        await writer;
    }

    static LocalHubProtocol ChooseProtocol(IList<string> requested, out string? subprotocol)
    {
        foreach (var candidate in requested)
        {
            if (candidate.Equals(LocalHubFrames.ReliableJsonSubprotocol, StringComparison.OrdinalIgnoreCase))
            {
                subprotocol = candidate;
                return LocalHubProtocol.ReliableJson;
            }
            if (candidate.Equals(LocalHubFrames.JsonSubprotocol, StringComparison.OrdinalIgnoreCase))
            {
                subprotocol = candidate;
                return LocalHubProtocol.Json;
            }
        }
        subprotocol = null;
        return LocalHubProtocol.Raw;
    }

    static string? AccessToken(HttpRequest request)
    {
        if (request.Query["access_token"].ToString() is { Length: > 0 } token) return token;
        var header = request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : null;
    }
}
