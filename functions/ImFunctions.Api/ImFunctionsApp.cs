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

        var pushProvider = config["Push:Provider"] ?? "local";
        AddServices(builder.Services, config, dataDirectory, pushProvider);

        var app = builder.Build();
        UseMiddleware(app);
        MapEndpoints(app, servesLocalHub: pushProvider == "local");

        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("ImFunctions");
        if (devSecrets is not null)
            logger.LogWarning("Using development secrets from {Path} (generated on first start). Set UniIm__JwtSecret, Auth__TokenSecret and LocalHub__AccessKey for any shared deployment.", devSecrets);
        if (app.Services.GetRequiredService<UniImOptions>().JwtSecret is { Length: > 0 } jwt && System.Text.Encoding.UTF8.GetByteCount(jwt) < 32)
            logger.LogWarning("UniIm:JwtSecret is shorter than 32 bytes; use a longer random secret.");

        await app.Services.GetRequiredService<IImStore>().InitializeAsync(CancellationToken.None);
        app.Lifetime.ApplicationStarted.Register(() => RememberPublicAddress(app));
        return app;
    }

    static void AddServices(IServiceCollection services, IConfiguration config, string dataDirectory, string pushProvider)
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

        switch (pushProvider)
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
        app.Use(EmptyParams.ReadAsAnObject);
        app.UseWebSockets();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter();
    }

    static void MapEndpoints(WebApplication app, bool servesLocalHub)
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

        if (servesLocalHub) app.MapLocalPushHub();
    }

    static void RememberPublicAddress(WebApplication app)
    {
        if (app.Services.GetService<LocalHubOptions>() is not { } hub) return;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        if (address is null) return;
        // Clients on this machine reach a wildcard binding through loopback.
        hub.PublicBaseUrl = new Uri(System.Text.RegularExpressions.Regex.Replace(address, @"://(\+|\*|0\.0\.0\.0|\[::\])", "://127.0.0.1"));
    }
}

/// <summary>Marks the endpoints that are uni-im methods, i.e. Azure Functions with a function.json each.</summary>
public sealed class UniImMethod
{
    public static readonly UniImMethod Instance = new();
}
