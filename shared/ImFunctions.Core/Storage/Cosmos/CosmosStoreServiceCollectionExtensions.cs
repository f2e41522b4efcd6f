using ImFunctions.Core.Storage;
using ImFunctions.Core.Storage.Cosmos;
using Microsoft.Extensions.Configuration;

// In the DI namespace, as AddXxx registrations are, so the composition root needs no Cosmos using.
namespace Microsoft.Extensions.DependencyInjection;

public static class CosmosStoreServiceCollectionExtensions
{
    /// <summary>Selects the Cosmos DB store, configured from the <c>Cosmos</c> section; bad settings fail here, at start.</summary>
    public static IServiceCollection AddCosmosStore(this IServiceCollection services, IConfiguration config)
    {
        var options = config.GetSection("Cosmos").Get<CosmosStoreOptions>() ?? new CosmosStoreOptions();
        options.MessageTtl ??= config.GetValue<TimeSpan?>("UniIm:MessageTtl");
        options.Validate();
        services.AddSingleton(options);
        services.AddSingleton<IImStore, CosmosImStore>();
        return services;
    }
}
