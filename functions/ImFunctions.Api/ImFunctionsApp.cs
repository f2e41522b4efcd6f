using System.Text.Json;
using System.Text.Json.Serialization;
using FluentValidation;
using ImFunctions.Api.Auth;
using ImFunctions.Api.Conversations;
using ImFunctions.Api.Hosting;
using ImFunctions.Api.Messages;
using ImFunctions.Api.Push;
using ImFunctions.Api.Users;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Push;
using ImFunctions.Core.Push.LocalHub;
using ImFunctions.Core.Push.WebPubSub;
using ImFunctions.Core.Storage;
using ImFunctions.Core.Storage.Sqlite;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Json;

namespace ImFunctions.Api;

/// <summary>Composition of the handler: settings, services, middleware and the uni-im methods.</summary>
public static class ImFunctionsApp
{
    /// <summary>Builds the app and prepares its store; <paramref name="configure"/> lets tests add settings.</summary>
    public static async Task<WebApplication> CreateAsync(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);
        var config = builder.Configuration;
        var dataDirectory = config["DataDirectory"] ?? "data";
        var devSecrets = DevSecrets.Apply(config, dataDirectory);

        if (config["urls"] is null)
            builder.WebHost.UseUrls($"http://127.0.0.1:{config["FUNCTIONS_CUSTOMHANDLER_PORT"] ?? "7071"}");
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
        // ASP.NET's own request lines carry hosts, paths and query strings (the hub's access_token): RequestLog replaces them.
        builder.Logging.ClearProviders().AddJsonConsole(json => json.IncludeScopes = false)
            .AddFilter("Microsoft.AspNetCore", LogLevel.Warning)
            .AddFilter(typeof(ImTokenAuthentication).FullName, LogLevel.Warning);

        AddServices(builder.Services, config, dataDirectory);

        var app = builder.Build();
        UseMiddleware(app);
        MapEndpoints(app, config);

        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("ImFunctions");
        if (devSecrets is not null)
            logger.LogWarning("Using development secrets from {Path} (generated on first start). Set UniIm__JwtSecret, Auth__TokenSecret and LocalHub__AccessKey for any shared deployment.", devSecrets);
        if (app.Services.GetRequiredService<UniImOptions>().JwtSecret is { Length: > 0 } jwt && System.Text.Encoding.UTF8.GetByteCount(jwt) < 32)
            logger.LogWarning("UniIm:JwtSecret is shorter than 32 bytes; use a longer random secret.");

        await app.Services.GetRequiredService<IImStore>().InitializeAsync(CancellationToken.None);
        app.Lifetime.ApplicationStarted.Register(() => RememberPublicAddress(app));
        return app;
    }

    static void AddServices(IServiceCollection services, IConfiguration config, string dataDirectory)
    {
        var uniIm = UniImOptions.FromConfiguration(config.GetSection("UniIm"));
        var auth = config.GetSection("Auth").Get<AuthOptions>() ?? new AuthOptions();
        auth.Validate();

        services.AddSingleton(uniIm);
        services.AddSingleton(auth);
        services.AddSingleton(TimeProvider.System);
        services.AddMemoryCache(cache => cache.SizeLimit = 100_000);
        services.AddSingleton<UserDirectory>();
        services.AddSingleton<TalkPolicy>();
        services.AddSingleton<Messenger>();
        services.AddSingleton<TokenService>();
        services.AddSingleton(config.GetSection("Push:Dispatch").Get<PushDispatchOptions>() ?? new PushDispatchOptions());
        services.AddSingleton<PushDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<PushDispatcher>());

        switch (config["Storage:Provider"] ?? "sqlite")
        {
            case "sqlite":
                services.AddSingleton(new SqliteStoreOptions
                {
                    Path = config["Storage:Sqlite:Path"] ?? Path.Combine(dataDirectory, "imfunctions.db"),
                    BusyTimeout = config.GetValue("Storage:Sqlite:BusyTimeout", TimeSpan.FromSeconds(30)),
                });
                services.AddSingleton<IImStore, SqliteImStore>();
                break;
            case "cosmos":
                services.AddCosmosStore(config);
                break;
            case var other:
                throw new InvalidOperationException($"Storage:Provider must be 'sqlite' or 'cosmos' (got '{other}').");
        }

        switch (config["Push:Provider"] ?? "local")
        {
            case "local":
                // The app serves a hub itself and pushes to it through the same REST client as in Azure.
                services.AddSingleton(LocalHubOptions.FromConfiguration(config));
                services.AddSingleton(config.GetSection("WebPubSub").Get<WebPubSubSettings>() ?? new WebPubSubSettings());
                services.AddSingleton<LocalPushHub>();
                services.AddSingleton<LocalHubTokens>();
                services.AddSingleton<IPushGateway, LocalHubPushGateway>();
                break;
            case "webpubsub":
                services.AddSingleton<IPushGateway>(WebPubSubRestClient.FromSettings(
                    config.GetSection("WebPubSub").Get<WebPubSubSettings>() ?? new WebPubSubSettings()));
                break;
            case var other:
                throw new InvalidOperationException($"Push:Provider must be 'local' or 'webpubsub' (got '{other}').");
        }

        services.AddSingleton<IValidator<SendMsgRequest>, SendMsgRequestValidator>();
        services.AddSingleton<IValidator<GetMsgListRequest>, GetMsgListRequestValidator>();
        services.AddSingleton<IValidator<GetConversationListRequest>, GetConversationListRequestValidator>();
        services.AddSingleton<IValidator<ClearUnreadCountRequest>, ClearUnreadCountRequestValidator>();
        services.AddSingleton<IValidator<GetUserInfoRequest>, GetUserInfoRequestValidator>();
        services.AddSingleton<IValidator<GetUserIdByExtUidRequest>, GetUserIdByExtUidRequestValidator>();
        Validation.UseWireNames();

        services.AddAuthentication(ImTokenAuthentication.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ImTokenAuthentication>(ImTokenAuthentication.SchemeName, null);
        services.AddAuthorization();
        services.AddPerUserRateLimit(config.GetSection("RateLimit").Get<RateLimitOptions>() ?? new RateLimitOptions());

        services.Configure<JsonOptions>(json =>
        {
            json.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            json.SerializerOptions.NumberHandling = JsonNumberHandling.Strict;
            json.SerializerOptions.Encoder = ImJson.Options.Encoder;
        });
        // Unreadable bodies throw, so ErrorHandling answers them in the uni-im envelope.
        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
    }

    static void UseMiddleware(WebApplication app)
    {
        app.UseMiddleware<RequestLog>();
        app.UseMiddleware<ErrorHandling>();
        app.UseStatusCodePages(context => EnvelopeStatusPages.Answer(context.HttpContext));
        app.Use(EmptyParamsAreAnObject);
        app.UseWebSockets();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter();
    }

    static void MapEndpoints(WebApplication app, IConfiguration config)
    {
        // The Functions host probes GET / until the handler answers.
        app.MapGet("/", () => Results.Text("ImFunctions is running.")).AllowAnonymous();

        var api = app.MapGroup("/api")
            .RequireAuthorization()
            .RequireRateLimiting(RateLimitOptions.PerUser)
            .WithMetadata(new RequestSizeLimitMetadata(Limits.MaxRequestBytes))
            .WithMetadata(UniImMethod.Instance);
        api.MapAuth();
        api.MapMessages();
        api.MapConversations();
        api.MapUsers();
        api.MapPush();

        if ((config["Push:Provider"] ?? "local") == "local") app.MapLocalPushHub();
    }

    /// <summary>
    /// uniCloud clients send no body for methods without params; uni-im reads that as <c>{}</c>. Only for uni-im
    /// methods: the local hub's REST API beside them must see an empty body as empty.
    /// </summary>
    static Task EmptyParamsAreAnObject(HttpContext context, RequestDelegate next)
    {
        var request = context.Request;
        var noBody = request.ContentLength == 0 || (request.ContentLength is null && request.Headers.TransferEncoding.Count == 0);
        if (noBody && HttpMethods.IsPost(request.Method) && context.GetEndpoint()?.Metadata.GetMetadata<UniImMethod>() is not null)
        {
            request.Body = new MemoryStream("{}"u8.ToArray());
            request.ContentLength = 2;
            request.ContentType = "application/json";
            context.Features.Set<Microsoft.AspNetCore.Http.Features.IHttpRequestBodyDetectionFeature>(HasBody.Instance);
        }
        return next(context);
    }

    static void RememberPublicAddress(WebApplication app)
    {
        if (app.Services.GetService<LocalHubOptions>() is not { } hub) return;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        if (address is null) return;
        var uri = new UriBuilder(address.Replace("://+", "://127.0.0.1").Replace("://*", "://127.0.0.1").Replace("://0.0.0.0", "://127.0.0.1").Replace("://[::]", "://127.0.0.1"));
        hub.PublicBaseUrl = uri.Uri;
    }
}

sealed class HasBody : Microsoft.AspNetCore.Http.Features.IHttpRequestBodyDetectionFeature
{
    public static readonly HasBody Instance = new();
    public bool CanHaveBody => true;
}

/// <summary>Marks the endpoints that are uni-im methods, i.e. Azure Functions with a function.json each.</summary>
public sealed class UniImMethod
{
    public static readonly UniImMethod Instance = new();
}

sealed class RequestSizeLimitMetadata(long limit) : Microsoft.AspNetCore.Http.Metadata.IRequestSizeLimitMetadata
{
    public long? MaxRequestBodySize => limit;
}

static class EnvelopeStatusPages
{
    public static readonly ImError TooLarge = new(413, ErrorCodes.TooLarge, $"The request body is larger than {Limits.MaxRequestBytes / 1024} KB.");

    /// <summary>Bare status answers from routing and body binding (404, 405, 413, 415), in the envelope too.</summary>
    public static Task Answer(HttpContext context)
    {
        var status = context.Response.StatusCode;
        if (context.Response.HasStarted || context.Response.ContentLength > 0 || context.WebSockets.IsWebSocketRequest) return Task.CompletedTask;
        var error = status switch
        {
            404 => ImError.NotFound("No such method."),
            405 => new ImError(405, ErrorCodes.InvalidParam, "Use POST with a JSON body."),
            413 => TooLarge,
            415 => new ImError(415, ErrorCodes.InvalidParam, "Content-Type must be application/json."),
            _ => new ImError(status, status >= 500 ? ErrorCodes.Internal : ErrorCodes.InvalidParam, "The request was refused."),
        };
        return UniIm.WriteErrorAsync(context, error);
    }
}
