using FluentValidation;
using ImFunctions.Api.Accounts;
using ImFunctions.Api.Auth;
using ImFunctions.Api.Hosting;
using ImFunctions.Core.Accounts;
using ImFunctions.Core.Conversations;
using ImFunctions.Api.Integrations;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Friends;
using ImFunctions.Core.Groups;
using ImFunctions.Core.Integrations;
using ImFunctions.Core.Messages;
using ImFunctions.Core.Push;
using ImFunctions.Core.Push.WebPubSub;
using ImFunctions.Core.Storage;
using ImFunctions.Core.Storage.Sqlite;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ImFunctions.Api;

/// <summary>The services both hosts share: settings, domain services, the store, the push gateway and the pipeline.</summary>
public static class ImFunctionsServices
{
    /// <summary>
    /// Registers everything the methods need. Push:Provider <c>webpubsub</c> is registered here; <c>local</c> needs the
    /// local host, which registers its own hub as the gateway.
    /// </summary>
    public static IServiceCollection AddImFunctions(this IServiceCollection services, IConfiguration config, string dataDirectory)
    {
        SecretRules.Check(config);
        var uniIm = UniImOptions.FromConfiguration(config.GetSection("UniIm"));
        var auth = config.GetSection("Auth").Get<AuthOptions>() ?? new AuthOptions();
        auth.Validate();

        services.AddSingleton(uniIm);
        services.AddSingleton(auth);
        services.TryAddSingleton(TimeProvider.System);   // tests may bring their own clock
        services.AddMemoryCache(cache => cache.SizeLimit = 100_000);
        services.AddSingleton<UserDirectory>();
        services.AddSingleton<TalkPolicy>();
        services.AddSingleton<Messenger>();
        services.AddSingleton<FriendBook>();
        services.AddSingleton<Blocks>();
        services.AddSingleton<ConversationSettings>();
        services.AddSingleton<MessageLifecycle>();
        services.AddSingleton<MessageSearch>();
        services.AddSingleton<IMessageLifecycleStore>(sp => (IMessageLifecycleStore)sp.GetRequiredService<IImStore>());
        services.AddSingleton<IMessageSearchStore>(sp => (IMessageSearchStore)sp.GetRequiredService<IImStore>());
        services.AddSingleton<TokenService>();
        services.AddSingleton<IImEvents, EventsOff>();
        services.AddIntegrations(config);   // after EventsOff: a configured events URL replaces it
        services.AddSingleton(config.GetSection("Push:Dispatch").Get<PushDispatchOptions>() ?? new PushDispatchOptions());
        services.AddSingleton<PushDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<PushDispatcher>());
        AddStore(services, config, dataDirectory);
        AddGroups(services, config);
        services.AddAccounts(config);
        // What friends and groups hold of a user, for exportMyData and deleteAccount. The steps run in registration order,
        // the one docs/api.md lists (friends, then groups); they touch disjoint records, so the order is for predictability.
        services.AddSingleton<IAccountDeletionStep, FriendAccountDeletion>();
        services.AddSingleton<IAccountDeletionStep, GroupAccountDeletion>();
        services.AddSingleton<IAccountExportSection, FriendAccountExport>();
        services.AddSingleton<IAccountExportSection, GroupAccountExport>();

        switch (config["Push:Provider"] ?? "local")
        {
            case "webpubsub":
                services.AddSingleton<IPushGateway>(WebPubSubRestClient.FromSettings(
                    config.GetSection("WebPubSub").Get<WebPubSubSettings>() ?? new WebPubSubSettings()));
                break;
            case "local":
                break;   // the local host serves the hub and registers it as the gateway
            case var other:
                throw new InvalidOperationException($"Push:Provider must be 'local' or 'webpubsub' (got '{other}').");
        }

        RequestValidation.Configure();
        services.AddValidatorsFromAssemblyContaining<ImPipeline>(ServiceLifetime.Singleton);

        services.AddSingleton(config.GetSection("RateLimit").Get<RateLimitOptions>() ?? new RateLimitOptions());
        services.AddSingleton<CallerLimits>();
        services.AddSingleton<CallerAuthentication>();
        services.AddSingleton(UniImMethods.Create());
        services.AddSingleton<ImPipeline>();
        return services;
    }

    static void AddGroups(IServiceCollection services, IConfiguration config)
    {
        services.AddSingleton(new GroupOptions { MaxGroupMembers = config.GetValue("UniIm:MaxGroupMembers", 2000) });
        services.AddSingleton<IGroupStore>(sp => (IGroupStore)sp.GetRequiredService<IImStore>());
        services.AddSingleton<GroupDirectory>();
        services.AddSingleton<IGroupMembership>(sp => sp.GetRequiredService<GroupDirectory>());
        services.AddSingleton<GroupChat>();
        services.AddSingleton<GroupManager>();
    }

    static void AddStore(IServiceCollection services, IConfiguration config, string dataDirectory)
    {
        switch (config["Storage:Provider"] ?? "sqlite")
        {
            case "sqlite":
                var sqlite = new SqliteStoreOptions
                {
                    Path = config["Storage:Sqlite:Path"] ?? Path.Combine(dataDirectory, "imfunctions.db"),
                    BusyTimeout = config.GetValue("Storage:Sqlite:BusyTimeout", TimeSpan.FromSeconds(30)),
                };
                if (config["Storage:Sqlite:Synchronous"] is { } synchronous) sqlite.Synchronous = ParseSynchronous(synchronous);
                services.AddSingleton(sqlite);
                services.AddSingleton<IImStore, SqliteImStore>();
                break;
            case "cosmos":
                services.AddCosmosStore(config);
                break;
            case var other:
                throw new InvalidOperationException($"Storage:Provider must be 'sqlite' or 'cosmos' (got '{other}').");
        }
        // Each store also implements the features' own ports.
        services.AddSingleton<IFriendStore>(sp => (IFriendStore)sp.GetRequiredService<IImStore>());
        services.AddSingleton<IConversationListStore>(sp => (IConversationListStore)sp.GetRequiredService<IImStore>());
    }

    // Spelled out rather than Enum.Parse, which would also take "0" or "1" and name no valid values.
    static SqliteSynchronous ParseSynchronous(string value) => value.Trim().ToLowerInvariant() switch
    {
        "full" => SqliteSynchronous.Full,
        "normal" => SqliteSynchronous.Normal,
        _ => throw new InvalidOperationException($"Storage:Sqlite:Synchronous must be 'Full' or 'Normal' (got '{value}')."),
    };
}
