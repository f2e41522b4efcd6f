using System.Text.Json;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;

namespace ImFunctions.Core.Push.WebPubSub;

/// <summary>
/// Azure Web PubSub's data-plane REST API for one hub, built on Azure.Core's pipeline the way the official SDK is
/// (which cannot be restored here): per-attempt HS256 auth, Azure.Core retries, the SDK's exact success codes,
/// anything else a <see cref="RequestFailedException"/>. Client access URLs are signed locally with the key.
/// </summary>
/// <remarks>
/// Managed identity would slot in here: a <c>BearerTokenAuthenticationPolicy</c> for
/// <c>https://webpubsub.azure.com/.default</c> instead of the key policy, and client URLs from
/// <see cref="GenerateClientTokenAsync"/> (<c>:generateToken</c>) since there is no key to sign with. Not built yet.
/// </remarks>
public sealed class WebPubSubRestClient : IPushGateway
{
    readonly HttpPipeline pipeline;
    readonly Uri endpoint;
    readonly string hub;
    readonly string accessKey;
    readonly string apiVersion;
    readonly TimeProvider clock;
    readonly ResponseClassifier accepted, ok, noContent, exists;

    public WebPubSubRestClient(WebPubSubConnectionString connection, string hub, WebPubSubRestClientOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(hub);
        options ??= new WebPubSubRestClientOptions();
        endpoint = connection.Endpoint;
        accessKey = connection.AccessKey;
        this.hub = hub;
        apiVersion = options.ApiVersion;
        clock = options.Clock;
        accepted = new WebPubSubOperationClassifier(options.MaxRetryAfter, 202);
        ok = new WebPubSubOperationClassifier(options.MaxRetryAfter, 200);
        noContent = new WebPubSubOperationClassifier(options.MaxRetryAfter, 204);
        exists = new WebPubSubOperationClassifier(options.MaxRetryAfter, 200, 404);
        pipeline = HttpPipelineBuilder.Build(options, [], [new WebPubSubKeyAuthenticationPolicy(accessKey, clock)], new ResponseClassifier());
    }

    public static WebPubSubRestClient FromSettings(WebPubSubSettings settings) =>
        new(WebPubSubConnectionString.Parse(settings.ConnectionString is { Length: > 0 } cs ? cs
                : throw new InvalidOperationException("WebPubSub:ConnectionString is required when Push:Provider is 'webpubsub'.")),
            settings.Hub, settings.ToClientOptions());

    public Uri Endpoint => endpoint;
    public string Hub => hub;

    public Task SendToAllAsync(ReadOnlyMemory<byte> json, CancellationToken ct) =>
        SendAsync(RequestMethod.Post, accepted, ct, path: ["/:send"], json: json);

    public Task SendToUserAsync(string userId, ReadOnlyMemory<byte> json, CancellationToken ct) =>
        SendAsync(RequestMethod.Post, accepted, ct, path: ["/users/", UserId(userId), "/:send"], json: json);

    public Task SendToGroupAsync(string group, ReadOnlyMemory<byte> json, CancellationToken ct) =>
        SendAsync(RequestMethod.Post, accepted, ct, path: ["/groups/", Group(group), "/:send"], json: json);

    public Task AddUserToGroupAsync(string userId, string group, CancellationToken ct) =>
        SendAsync(RequestMethod.Put, ok, ct, path: ["/users/", UserId(userId), "/groups/", Group(group)]);

    public Task RemoveUserFromGroupAsync(string userId, string group, CancellationToken ct) =>
        SendAsync(RequestMethod.Delete, noContent, ct, path: ["/users/", UserId(userId), "/groups/", Group(group)]);

    public Task RemoveUserFromAllGroupsAsync(string userId, CancellationToken ct) =>
        SendAsync(RequestMethod.Delete, noContent, ct, path: ["/users/", UserId(userId), "/groups"]);

    public Task CloseUserConnectionsAsync(string userId, string? reason, CancellationToken ct) =>
        SendAsync(RequestMethod.Post, noContent, ct, path: ["/users/", UserId(userId), "/:closeConnections"],
            query: reason is null ? [] : [("reason", reason)]);

    public async Task<bool> UserExistsAsync(string userId, CancellationToken ct) =>
        await SendAsync(RequestMethod.Head, exists, ct, path: ["/users/", UserId(userId)]) is { Status: 200 };

    /// <summary>A client token issued by the service (<c>:generateToken</c>); the managed-identity path to client URLs.</summary>
    public async Task<string> GenerateClientTokenAsync(string? userId, IEnumerable<string>? roles, IEnumerable<string>? groups,
        int minutesToExpire, CancellationToken ct)
    {
        var query = new List<(string, string)>();
        if (userId is not null) query.Add(("userId", userId));
        query.AddRange((roles ?? []).Select(r => ("role", r)));
        query.Add(("minutesToExpire", minutesToExpire.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        query.AddRange((groups ?? []).Select(g => ("group", g)));
        var (_, content) = await SendAsync(RequestMethod.Post, ok, ct, path: ["/:generateToken"], query: query);
        using var body = JsonDocument.Parse(content.ToMemory());
        return body.RootElement.GetProperty("token").GetString() ?? throw new RequestFailedException("The service returned no token.");
    }

    public Task<ClientAccess> GetClientAccessAsync(string userId, TimeSpan lifetime, CancellationToken ct) =>
        Task.FromResult(GetClientAccess(userId, roles: null, groups: null, lifetime));

    public Task<ClientAccess> GetClientAccessAsync(string userId, IReadOnlyCollection<string> groups, TimeSpan lifetime, CancellationToken ct) =>
        Task.FromResult(GetClientAccess(userId, roles: null, groups.Count == 0 ? null : groups, lifetime));

    /// <summary>
    /// The WebSocket URL a client opens: <c>ws(s)://host/client/hubs/{hub}?access_token=...</c>, the token signed
    /// here with the access key (aud = the http(s) form of that URL, sub = user, role and webpubsub.group as arrays).
    /// </summary>
    public ClientAccess GetClientAccess(string? userId, IReadOnlyCollection<string>? roles, IReadOnlyCollection<string>? groups, TimeSpan lifetime)
    {
        if (lifetime <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(lifetime));
        var now = clock.GetUtcNow();
        var expiresAt = now + lifetime;
        var path = "/client/hubs/" + Uri.EscapeDataString(hub);
        var audience = endpoint.GetLeftPart(UriPartial.Authority) + path;
        var token = WebPubSubTokens.ForClient(audience, userId, roles, groups, accessKey, now, expiresAt);
        var scheme = endpoint.Scheme == Uri.UriSchemeHttps ? "wss" : "ws";
        var url = new UriBuilder(endpoint) { Scheme = scheme, Port = endpoint.IsDefaultPort ? -1 : endpoint.Port, Path = path, Query = "access_token=" + token };
        return new ClientAccess(url.Uri, expiresAt);
    }

    async Task<(int Status, BinaryData Content)> SendAsync(RequestMethod method, ResponseClassifier classifier, CancellationToken ct,
        string[] path, IReadOnlyList<(string Name, string Value)>? query = null, ReadOnlyMemory<byte>? json = null)
    {
        using var message = pipeline.CreateMessage(context: null, classifier);
        var request = message.Request;
        request.Method = method;
        request.Uri.Reset(endpoint);
        request.Uri.AppendPath("/api/hubs/", escape: false);
        request.Uri.AppendPath(hub, escape: true);
        // Odd entries are caller values (escaped, so '/' stays inside its segment as %2F); even ones are literal.
        for (var i = 0; i < path.Length; i++) request.Uri.AppendPath(path[i], escape: i % 2 == 1);
        request.Uri.AppendQuery("api-version", apiVersion, escapeValue: true);
        foreach (var (name, value) in query ?? []) request.Uri.AppendQuery(name, value, escapeValue: true);
        if (method != RequestMethod.Head) request.Headers.Add(HttpHeader.Names.Accept, "application/json");
        if (json is { } body)
        {
            // Exactly application/json, no charset parameter, as the SDKs send it.
            request.Headers.Add(HttpHeader.Names.ContentType, "application/json");
            request.Content = RequestContent.Create(body);
        }

        await pipeline.SendAsync(message, ct).ConfigureAwait(false);
        if (message.Response.IsError) throw new RequestFailedException(message.Response);
        return (message.Response.Status, message.Response.Content);
    }

    static string UserId(string userId)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        return userId;
    }

    static string Group(string group)
    {
        // The service's rule: 1..1024 characters, not only whitespace.
        if (string.IsNullOrWhiteSpace(group) || group.Length > 1024)
            throw new ArgumentException("A group name is 1 to 1024 characters and not only whitespace.", nameof(group));
        return group;
    }
}
