using System.Text;
using System.Text.Json;
using ImFunctions.Api.Hosting;
using ImFunctions.Local.Hosting;
using ImFunctions.Core.Push.LocalHub;
using ImFunctions.Core.Push.WebPubSub;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing.Patterns;

namespace ImFunctions.Local.Push;

/// <summary>
/// Web PubSub's data-plane REST API (api-version 2024-12-01) for the local hub: same paths, same HS256 access-key
/// auth, same status codes, so the production client and Microsoft's SDKs drive it unchanged. These are not uni-im
/// methods: no user tokens, no rate limit, no function.json. Not served: OData filters, permissions, :addToGroups.
/// </summary>
public static class LocalHubRestApi
{
    const int MaxBodyBytes = 1024 * 1024;

    public static IEndpointRouteBuilder MapLocalHubRestApi(this IEndpointRouteBuilder app)
    {
        var rest = app.MapGroup("/api/hubs/{hub}")
            .AddEndpointFilter(RequireHubToken)   // signed with the hub's access key, not a user token
            .WithMetadata(new RequestSizeLimitMetadata(MaxBodyBytes));

        rest.MapPost("/:send", (HttpContext context, LocalPushHub hub) =>
            Send(context, data => hub.SendToAll(data, Excluded(context))));
        rest.MapPost("/users/{userId}/:send", (HttpContext context, LocalPushHub hub) =>
            Send(context, data => hub.SendToUser(Segment(context, "userId"), data)));
        rest.MapPost("/groups/{group}/:send", async (HttpContext context, LocalPushHub hub) =>
            GroupName(context) is { } group ? await Send(context, data => hub.SendToGroup(group, data, Excluded(context))) : BadGroup(context));
        rest.MapPost("/connections/{connectionId}/:send", (HttpContext context, LocalPushHub hub) =>
            Send(context, data => hub.SendToConnection(Segment(context, "connectionId"), data)));

        rest.MapPut("/users/{userId}/groups/{group}", (HttpContext context, LocalPushHub hub) =>
            GroupName(context) is { } group ? Done(200, () => hub.AddUserToGroup(Segment(context, "userId"), group)) : BadGroup(context));
        rest.MapDelete("/users/{userId}/groups/{group}", (HttpContext context, LocalPushHub hub) =>
            Done(204, () => hub.RemoveUserFromGroup(Segment(context, "userId"), Segment(context, "group"))));
        rest.MapDelete("/users/{userId}/groups", (HttpContext context, LocalPushHub hub) =>
            Done(204, () => hub.RemoveUserFromAllGroups(Segment(context, "userId"))));
        rest.MapPut("/groups/{group}/connections/{connectionId}", (HttpContext context, LocalPushHub hub) =>
            GroupName(context) is not { } group ? BadGroup(context)
            : hub.AddConnectionToGroup(Segment(context, "connectionId"), group) ? Results.Ok()
            : Error(context, 404, "NotFound", $"Connection id '{Segment(context, "connectionId")}' doesn't exist."));
        rest.MapDelete("/groups/{group}/connections/{connectionId}", (HttpContext context, LocalPushHub hub) =>
            Done(204, () => hub.RemoveConnectionFromGroup(Segment(context, "connectionId"), Segment(context, "group"))));
        rest.MapDelete("/connections/{connectionId}/groups", (HttpContext context, LocalPushHub hub) =>
            Done(204, () => hub.RemoveConnectionFromAllGroups(Segment(context, "connectionId"))));

        rest.MapDelete("/connections/{connectionId}", (HttpContext context, LocalPushHub hub) =>
            Done(204, () => hub.CloseConnection(Segment(context, "connectionId"), Reason(context))));
        rest.MapPost("/users/{userId}/:closeConnections", (HttpContext context, LocalPushHub hub) =>
            Done(204, () => hub.CloseUserConnections(Segment(context, "userId"), Excluded(context), Reason(context))));
        rest.MapPost("/groups/{group}/:closeConnections", (HttpContext context, LocalPushHub hub) =>
            Done(204, () => hub.CloseGroupConnections(Segment(context, "group"), Excluded(context), Reason(context))));
        rest.MapPost("/:closeConnections", (HttpContext context, LocalPushHub hub) =>
            Done(204, () => hub.CloseAllConnections(Excluded(context), Reason(context))));

        rest.MapMethods("/users/{userId}", [HttpMethods.Head], (HttpContext context, LocalPushHub hub) =>
            Exists(hub.UserExists(Segment(context, "userId"))));
        rest.MapMethods("/groups/{group}", [HttpMethods.Head], (HttpContext context, LocalPushHub hub) =>
            Exists(hub.GroupExists(Segment(context, "group"))));
        rest.MapMethods("/connections/{connectionId}", [HttpMethods.Head], (HttpContext context, LocalPushHub hub) =>
            Exists(hub.ConnectionExists(Segment(context, "connectionId"))));

        rest.MapPost("/:generateToken", GenerateToken);
        return app;
    }

    /// <summary>Web PubSub's REST auth: a Bearer HS256 token signed with the access key, aud = this request's URL.</summary>
    static async ValueTask<object?> RequireHubToken(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        // Answers here are Web PubSub's, not uni-im envelopes.
        if (context.Features.Get<IStatusCodePagesFeature>() is { } statusPages) statusPages.Enabled = false;

        var hub = context.RequestServices.GetRequiredService<LocalPushHub>();
        if (!string.Equals(context.GetRouteValue("hub") as string, hub.Hub, StringComparison.OrdinalIgnoreCase))
            return Error(context, 404, "NotFound", $"This local hub serves only the hub '{hub.Hub}'.");

        var request = context.Request;
        var authorization = request.Headers.Authorization.ToString();
        var token = authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? authorization["Bearer ".Length..].Trim() : "";
        var url = new Uri($"{request.Scheme}://{request.Host}{RawTarget(context)}");
        var tokens = context.RequestServices.GetRequiredService<LocalHubTokens>();
        if (token.Length == 0 || !await tokens.ValidateRestTokenAsync(token, url))
            return Error(context, 401, "Unauthorized", "The access token is missing, expired, not signed with this hub's key or not for this URL.");
        return await next(invocation);
    }

    static async Task<IResult> Send(HttpContext context, Action<HubData> deliver)
    {
        var query = context.Request.Query;
        if (query.ContainsKey("filter"))
            return Error(context, 400, "BadRequest", "The local hub does not evaluate OData filters.");
        if (query["messageTtlSeconds"] is { Count: > 0 } ttl && !(int.TryParse(ttl, out var seconds) && seconds is >= 0 and <= 300))
            return Error(context, 400, "BadRequest", "messageTtlSeconds must be 0 to 300.");

        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        var body = buffer.ToArray();
        var mediaType = context.Request.ContentType?.Split(';')[0].Trim().ToLowerInvariant();
        HubData? data = mediaType switch
        {
            "application/json" when IsJson(body) => new HubData(HubDataType.Json, body),
            "text/plain" when IsUtf8(body) => new HubData(HubDataType.Text, body),
            "application/octet-stream" => new HubData(HubDataType.Binary, body),
            _ => null,
        };
        if (data is null)
            return Error(context, 400, "BadRequest", "The body must be application/json (valid JSON), text/plain (UTF-8) or application/octet-stream.");
        deliver(data.Value);
        return Results.StatusCode(StatusCodes.Status202Accepted);
    }

    static IResult GenerateToken(HttpContext context, LocalPushHub hub, LocalHubOptions options, TimeProvider clock)
    {
        var query = context.Request.Query;
        var minutes = 60;
        if (query["minutesToExpire"] is { Count: > 0 } raw && !(int.TryParse(raw, out minutes) && minutes >= 1))
            return Error(context, 400, "BadRequest", "minutesToExpire must be a whole number of at least 1.");
        var clientType = query["clientType"].ToString();
        if (clientType.Length > 0 && !clientType.Equals("Default", StringComparison.OrdinalIgnoreCase))
            return Error(context, 400, "BadRequest", "The local hub serves only WebSocket clients (clientType Default).");

        var now = clock.GetUtcNow();
        var audience = $"{context.Request.Scheme}://{context.Request.Host}/client/hubs/{hub.Hub}";
        var userId = query["userId"].ToString() is { Length: > 0 } user ? user : null;
        var token = WebPubSubTokens.ForClient(audience, userId, query["role"].ToArray()!, query["group"].ToArray()!,
            options.AccessKey, now, now.AddMinutes(minutes));
        return Results.Json(new { token });
    }

    static IResult Done(int status, Action operation)
    {
        operation();
        return Results.StatusCode(status);
    }

    static IResult Exists(bool exists) => Results.StatusCode(exists ? StatusCodes.Status200OK : StatusCodes.Status404NotFound);

    // The service's rule for group names: 1 to 1024 characters, not only whitespace.
    static string? GroupName(HttpContext context) =>
        Segment(context, "group") is var group && !string.IsNullOrWhiteSpace(group) && group.Length <= 1024 ? group : null;

    static IResult BadGroup(HttpContext context) =>
        Error(context, 400, "BadRequest", "A group name is 1 to 1024 characters and not only whitespace.");

    static string[] Excluded(HttpContext context) => context.Request.Query["excluded"].ToArray()!;

    static string? Reason(HttpContext context) => context.Request.Query["reason"].ToString() is { Length: > 0 } reason ? reason : null;

    /// <summary>Web PubSub's ErrorDetail body with its x-ms-error-code header.</summary>
    static IResult Error(HttpContext context, int status, string code, string message)
    {
        context.Response.Headers["x-ms-error-code"] = code;
        return Results.Json(new { code, message }, statusCode: status);
    }

    static bool IsJson(byte[] body)
    {
        try
        {
            var reader = new Utf8JsonReader(body);
            reader.Read();
            reader.Skip();
            return !reader.Read();   // exactly one value
        }
        catch (JsonException)
        {
            return false;
        }
    }

    static bool IsUtf8(byte[] body)
    {
        try
        {
            _ = new UTF8Encoding(false, throwOnInvalidBytes: true).GetCharCount(body);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }

    /// <summary>
    /// A path parameter decoded exactly once from the raw request path. Kestrel leaves <c>%2F</c> encoded in route
    /// values, so a user id like <c>a/b</c> (sent as <c>a%2Fb</c>) would otherwise arrive as <c>a%2Fb</c>.
    /// </summary>
    static string Segment(HttpContext context, string name)
    {
        var pattern = ((RouteEndpoint)context.GetEndpoint()!).RoutePattern;
        var raw = RawTarget(context).Split('?')[0].Split('/')[1..];
        var index = pattern.PathSegments.ToList().FindIndex(segment => segment.Parts is [RoutePatternParameterPart { Name: var part }] && part == name);
        return index >= 0 && raw.Length == pattern.PathSegments.Count
            ? Uri.UnescapeDataString(raw[index])
            : (string)context.GetRouteValue(name)!;
    }

    static string RawTarget(HttpContext context) =>
        context.Features.Get<IHttpRequestFeature>()?.RawTarget is { Length: > 0 } raw && raw[0] == '/'
            ? raw
            : context.Request.Path.ToUriComponent() + context.Request.QueryString.ToUriComponent();
}
