using ImFunctions.Api;
using ImFunctions.Api.Health;
using ImFunctions.Api.Hosting;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Push;
using ImFunctions.Core.Push.LocalHub;
using ImFunctions.Core.Push.WebPubSub;
using ImFunctions.Core.Storage;
using ImFunctions.Local.Hosting;
using ImFunctions.Local.OpenApi;
using ImFunctions.Local.Push;
using ImFunctions.Local.WebChat;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Scalar.AspNetCore;

namespace ImFunctions.Local;

/// <summary>The local host: the uni-im methods on Kestrel, development secrets, and the local Web PubSub hub.</summary>
public static class ImFunctionsApp
{
    /// <summary>Builds the app and prepares its store; <paramref name="configure"/> lets tests add settings.</summary>
    public static async Task<WebApplication> CreateAsync(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);
        var config = builder.Configuration;
        var dataDirectory = config["DataDirectory"] ?? "data";
        var legacyKeyConfigured = config["UniIm:JwtSecret"] is not null;
        var devSecrets = DevSecrets.Apply(config, dataDirectory);

        if (config["urls"] is null)
            builder.WebHost.UseUrls($"http://127.0.0.1:{config["PORT"] ?? "7071"}");
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
        // ASP.NET's own request lines carry hosts, paths and query strings (the hub's access_token): RequestLog replaces them.
        builder.Logging.ClearProviders().AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Services.AddSingleton<ILoggerProvider>(_ => new JsonLineLoggerProvider(Console.OpenStandardOutput()));

        builder.Services.AddImFunctions(config, dataDirectory);
        builder.Services.AddImObservability(config);
        builder.Services.AddOpenApi("v1", openApi => openApi.AddDocumentTransformer<MethodTableDocument>());
        var pushProvider = config["Push:Provider"] ?? "local";
        if (pushProvider == "local")
        {
            // The app serves a hub itself and pushes to it in-process; the hub's REST API still serves outside callers.
            builder.Services.AddSingleton(LocalHubOptions.FromConfiguration(config));
            builder.Services.AddSingleton<LocalPushHub>();
            builder.Services.AddSingleton<LocalHubTokens>();
            builder.Services.AddSingleton<IPushGateway, LocalHubPushGateway>();
        }

        var app = builder.Build();
        app.UseMiddleware<ErrorHandling>();
        app.UseStatusCodePages(context => EnvelopeStatusPages.Answer(context.HttpContext));
        app.UseWebSockets();
        app.MapWebChat();
        MapMethods(app);
        if (pushProvider == "local") app.MapLocalPushHub();
        app.MapOpenApi();
        app.MapScalarApiReference(scalar => scalar.WithTitle("ImFunctions API"));
        // Signing legacy JWTs for any name is only for a machine whose legacy key was generated for it.
        if (devSecrets is not null && !legacyKeyConfigured && app.Services.GetRequiredService<UniImOptions>().JwtSecret is { Length: > 0 } devKey)
            app.MapDevSignIn(devKey);

        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("ImFunctions");
        if (devSecrets is not null)
            logger.LogWarning("Using development secrets from {Path} (generated on first start). Set UniIm__JwtSecret, Auth__TokenSecret and LocalHub__AccessKey for any shared deployment.", devSecrets);
        if (app.Services.GetRequiredService<UniImOptions>().JwtSecret is { Length: > 0 } jwt && System.Text.Encoding.UTF8.GetByteCount(jwt) < 32)
            logger.LogWarning("UniIm:JwtSecret is shorter than 32 bytes; use a longer random secret.");

        await app.Services.GetRequiredService<IImStore>().InitializeAsync(CancellationToken.None);
        app.Lifetime.ApplicationStarted.Register(() => RememberPublicAddress(app));
        return app;
    }

    /// <summary>Each uni-im method at <c>POST /api/{name}</c>, straight into the pipeline the Functions worker runs too.</summary>
    static void MapMethods(WebApplication app)
    {
        var pipeline = app.Services.GetRequiredService<ImPipeline>();
        app.MapGet("/api/health", HealthApi.WriteAsync);
        foreach (var method in pipeline.Methods)
            app.MapPost("/api/" + method.Name, context => pipeline.InvokeAsync(context, method.Name)).WithMetadata(method);
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
