using System.Diagnostics;
using System.Net;
using System.Text.Json;
using ImFunctions.Tests.Support.FunctionsHost.Rpc;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Template;
using Microsoft.Extensions.Logging;

namespace ImFunctions.Tests.Support.FunctionsHost;

/// <summary>
/// The host's public HTTP side for HTTP-triggered functions with ASP.NET Core integration: match the request to
/// a function by route and method, then do what the host's HTTP proxying does for a worker that advertised
/// "HttpUri" (GrpcWorkerChannel.SendInvocationRequest, DefaultHttpProxyService): forward the original request
/// to that URI with the invocation id in <c>x-ms-invocation-id</c>, send the InvocationRequest over gRPC, and
/// answer with the worker's HTTP response once the invocation has finished.
/// </summary>
sealed class HostFrontEnd : IAsyncDisposable
{
    static readonly TimeSpan InvocationTimeout = TimeSpan.FromSeconds(30);
    // Connection-level headers a proxy does not pass on; Host is the worker's own.
    static readonly HashSet<string> NotForwarded = new(StringComparer.OrdinalIgnoreCase)
        { "Host", "Connection", "Keep-Alive", "Transfer-Encoding", "TE", "Trailer", "Upgrade", "Proxy-Connection", "Proxy-Authorization" };

    readonly WebApplication app;
    readonly WorkerChannel channel;
    readonly Uri workerHttpUri;
    readonly IReadOnlyList<(TemplateMatcher Route, DeclaredFunction Function)> routes;
    readonly HttpClient forwarder = new(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false, UseProxy = false });

    public List<string> Failures { get; } = [];

    public Uri BaseAddress => new(app.Urls.First());

    HostFrontEnd(WebApplication app, WorkerChannel channel, Uri workerHttpUri, IReadOnlyList<(TemplateMatcher, DeclaredFunction)> routes)
    {
        this.app = app;
        this.channel = channel;
        this.workerHttpUri = workerHttpUri;
        this.routes = routes;
    }

    public static async Task<HostFrontEnd> StartAsync(WorkerChannel channel, Uri workerHttpUri, IEnumerable<DeclaredFunction> functions, string routePrefix)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        // The Functions host lets bodies up to 100 MiB through (ScriptConstants.DefaultMaxRequestBodySize); Kestrel alone stops at 30 MB.
        builder.WebHost.ConfigureKestrel(k => { k.Listen(IPAddress.Loopback, 0); k.Limits.MaxRequestBodySize = 104_857_600; });
        var app = builder.Build();
        var routes = functions.Where(f => f.HttpTrigger is not null)
            .Select(f => (new TemplateMatcher(TemplateParser.Parse(RouteOf(f, routePrefix)), new RouteValueDictionary()), f))
            .ToList();
        var frontEnd = new HostFrontEnd(app, channel, workerHttpUri, routes);
        app.Run(frontEnd.HandleAsync);
        await app.StartAsync();
        return frontEnd;
    }

    // A trigger without a route answers at <prefix>/<function name>, as in the host and the worker.
    static string RouteOf(DeclaredFunction f, string prefix) =>
        string.Join('/', new[] { prefix, f.HttpTrigger!.Route ?? f.Name }.Where(s => s.Length > 0).Select(s => s.Trim('/')));

    async Task HandleAsync(HttpContext context)
    {
        var function = Match(context.Request);
        if (function is null) { context.Response.StatusCode = StatusCodes.Status404NotFound; return; }
        // The emulator holds no function keys, so only anonymous functions can be called, as in Azure without a key.
        if (!string.Equals(function.HttpTrigger!.AuthLevel, "anonymous", StringComparison.OrdinalIgnoreCase))
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return;
        }

        var invocationId = Guid.NewGuid().ToString();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        timeout.CancelAfter(InvocationTimeout);
        // Like the host: start forwarding first, then send the invocation; the worker pairs them by invocation id.
        using var forwarded = ForwardRequest(context.Request, invocationId);
        var relayed = forwarder.SendAsync(forwarded, HttpCompletionOption.ResponseContentRead, timeout.Token);
        var failure = await FailureOf(channel.InvokeAsync(InvocationRequestFor(function, context.Request, invocationId), timeout.Token));

        HttpResponseMessage? workerResponse = null;
        try { workerResponse = await relayed; }
        catch (Exception e) { failure ??= $"forwarding failed: {e.Message}"; }
        using var _ = workerResponse;
        if (failure is null)
        {
            await RelayAsync(workerResponse!, context.Response);
            return;
        }
        // The host fails the request when the invocation fails; what the worker's HTTP side wrote is not relayed here.
        var wrote = workerResponse is null ? "" : $" (its HTTP side had answered {(int)workerResponse.StatusCode})";
        lock (Failures) Failures.Add($"{function.Name} ({invocationId}) {failure}{wrote}");
        context.Response.StatusCode = StatusCodes.Status500InternalServerError;
    }

    static async Task<string?> FailureOf(Task<InvocationResponse> invocation)
    {
        try
        {
            var result = (await invocation).Result;
            return result.Status == StatusResult.Types.Status.Success ? null : $"{result.Status}: {result.Exception?.Type}: {result.Exception?.Message}";
        }
        catch (Exception e) { return $"no invocation response: {e.Message}"; }
    }

    DeclaredFunction? Match(HttpRequest request)
    {
        foreach (var (route, function) in routes)
        {
            var methods = function.HttpTrigger!.Methods;
            if (route.TryMatch(request.Path, new RouteValueDictionary())
                && (methods.Count == 0 || methods.Contains(request.Method, StringComparer.OrdinalIgnoreCase)))
                return function;
        }
        return null;
    }

    // The original request, re-addressed to the worker's HttpUri: same method, path, query, headers and body,
    // plus the correlation header. X-Forwarded-* are set afresh, replacing any the caller sent, as the host's
    // forwarder (YARP's default transforms) does; in Azure the worker thus sees the front end as the client.
    HttpRequestMessage ForwardRequest(HttpRequest request, string invocationId)
    {
        var message = new HttpRequestMessage(new HttpMethod(request.Method), new Uri(workerHttpUri, request.Path + request.QueryString));
        if (request.ContentLength > 0 || request.Headers.TransferEncoding.Count > 0)
            message.Content = new StreamContent(request.Body);
        foreach (var (name, values) in request.Headers)
        {
            if (NotForwarded.Contains(name) || name.StartsWith("X-Forwarded-", StringComparison.OrdinalIgnoreCase)) continue;
            if (!message.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values))
                message.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
        }
        message.Headers.TryAddWithoutValidation("x-ms-invocation-id", invocationId);
        message.Headers.TryAddWithoutValidation("X-Forwarded-For", request.HttpContext.Connection.RemoteIpAddress?.ToString());
        message.Headers.TryAddWithoutValidation("X-Forwarded-Proto", request.Scheme);
        message.Headers.TryAddWithoutValidation("X-Forwarded-Host", request.Host.Value);
        return message;
    }

    // What the host puts on the wire for an HTTP trigger of a proxying worker (ScriptInvocationContextExtensions,
    // GrpcMessageConversionExtensions.ToRpcHttp): the trigger binding with an empty RpcHttp, the trigger's
    // Query and Headers binding data as JSON, and a W3C trace context for the invocation.
    static InvocationRequest InvocationRequestFor(DeclaredFunction function, HttpRequest request, string invocationId)
    {
        var traceId = ActivityContext.TryParse(request.Headers.TraceParent, request.Headers.TraceState, out var caller)
            ? caller.TraceId : ActivityTraceId.CreateRandom();
        var invocation = new InvocationRequest
        {
            InvocationId = invocationId,
            FunctionId = function.FunctionId,
            TraceContext = new RpcTraceContext { TraceParent = $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01", TraceState = "" },
        };
        invocation.InputData.Add(new ParameterBinding { Name = function.HttpTrigger!.Name, Data = new TypedData { Http = new RpcHttp() } });
        invocation.TriggerMetadata["Query"] = new TypedData { Json = JsonSerializer.Serialize(request.Query.ToDictionary(q => q.Key, q => q.Value.ToString())) };
        invocation.TriggerMetadata["Headers"] = new TypedData { Json = JsonSerializer.Serialize(request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString())) };
        return invocation;
    }

    static async Task RelayAsync(HttpResponseMessage from, HttpResponse to)
    {
        to.StatusCode = (int)from.StatusCode;
        foreach (var (name, values) in from.Headers.Concat(from.Content.Headers))
            if (!NotForwarded.Contains(name)) to.Headers[name] = values.ToArray();
        await from.Content.CopyToAsync(to.Body);
    }

    public async ValueTask DisposeAsync()
    {
        using (var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(5))) await app.StopAsync(stopping.Token);
        await app.DisposeAsync();
        forwarder.Dispose();
    }
}
