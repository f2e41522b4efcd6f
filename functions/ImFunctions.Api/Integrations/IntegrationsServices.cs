using ImFunctions.Core.Integrations;
using ImFunctions.Core.Storage;

namespace ImFunctions.Api.Integrations;

public static class IntegrationsServices
{
    /// <summary>
    /// Server-to-server calls (always on; with no <c>S2S:Keys</c> every signed call is refused), and the webhooks
    /// their settings turn on: the outbox replaces <see cref="EventsOff"/> when <c>Webhooks:EventsUrl</c> is set,
    /// the before-send hook runs when <c>Webhooks:BeforeSendUrl</c> is.
    /// </summary>
    public static IServiceCollection AddIntegrations(this IServiceCollection services, IConfiguration config)
    {
        var s2s = config.GetSection("S2S").Get<S2SOptions>() ?? new S2SOptions();
        s2s.Validate();
        services.AddSingleton(s2s);
        services.AddSingleton<ServerCalls>();
        services.AddSingleton<INonceStore>(sp => (INonceStore)sp.GetRequiredService<IImStore>());
        services.AddSingleton<IOutboxStore>(sp => (IOutboxStore)sp.GetRequiredService<IImStore>());

        var webhooks = config.GetSection("Webhooks").Get<WebhookOptions>() ?? new WebhookOptions();
        webhooks.Validate();
        services.AddSingleton(webhooks);
        services.AddSingleton<WebhookSigner>();
        // Webhook receivers are the operator's servers: no redirects (a signed body must not be forwarded elsewhere).
        services.AddHttpClient(OutboxDelivery.HttpClientName, http => http.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
            .RemoveAllLoggers();   // OutboxDelivery logs failures itself, without a line per attempt

        if (!string.IsNullOrEmpty(webhooks.EventsUrl))
        {
            services.AddSingleton<OutboxSignal>();
            services.AddSingleton<IImEvents, OutboxEvents>();
            services.AddHostedService<OutboxDelivery>();
        }
        if (!string.IsNullOrEmpty(webhooks.BeforeSendUrl))
            services.AddSingleton<IBeforeSendHook, BeforeSendWebhook>();
        return services;
    }
}
