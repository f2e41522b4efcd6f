using ImFunctions.Core.Storage;
using ImFunctions.Core.Storage.Cosmos;
using ImFunctions.Core.Storage.Sqlite;
using ImFunctions.Tests.Support;
using Microsoft.Azure.Cosmos;

namespace ImFunctions.Tests.Storage;

/// <summary>A store under test, started fresh, and how to remove it afterwards.</summary>
public interface IStoreFactory
{
    string Name { get; }
    Task<IImStore> CreateAsync();
    /// <summary>App settings that select this store (for end-to-end runs over HTTP).</summary>
    IDictionary<string, string?> AppSettings(string dataDirectory);
    Task DisposeAsync();
}

public sealed class SqliteStoreFactory : IStoreFactory
{
    readonly string directory = Path.Combine(Path.GetTempPath(), "imfunctions-store-tests", Guid.NewGuid().ToString("N"));

    public string Name => "sqlite";

    public async Task<IImStore> CreateAsync()
    {
        var store = new SqliteImStore(new SqliteStoreOptions { Path = Path.Combine(directory, Guid.NewGuid().ToString("N") + ".db") });
        await store.InitializeAsync(CancellationToken.None);
        return store;
    }

    public IDictionary<string, string?> AppSettings(string dataDirectory) => new Dictionary<string, string?> { ["Storage:Provider"] = "sqlite" };

    public Task DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(directory, recursive: true); } catch (IOException) { }
        return Task.CompletedTask;
    }

    public override string ToString() => Name;
}

/// <summary>Stores in a database of their own on a local Cosmos-compatible server (the shared one by default), dropped afterwards.</summary>
public sealed class CosmosStoreFactory(CosmosServer? server = null) : IStoreFactory
{
    readonly string database = "test-" + Guid.NewGuid().ToString("N")[..12];
    readonly List<CosmosImStore> stores = [];
    bool used;

    public string Name => "cosmos";

    public async Task<IImStore> CreateAsync() => await CreateAsync(pageSize: null);

    /// <param name="pageSize">Items per query round trip, to make queries page through continuation tokens.</param>
    public async Task<CosmosImStore> CreateAsync(int? pageSize)
    {
        var store = new CosmosImStore(await OptionsAsync()) { QueryPageSize = pageSize };
        lock (stores) stores.Add(store);
        await store.InitializeAsync(CancellationToken.None);
        return store;
    }

    public async Task<CosmosStoreOptions> OptionsAsync()
    {
        var endpoint = (server ?? await CosmosServer.SharedAsync()).Endpoint;
        used = true;
        return new() { Endpoint = endpoint.ToString(), Key = CosmosServer.Key, Database = database, TrustLocalCertificate = true };
    }

    public IDictionary<string, string?> AppSettings(string dataDirectory)
    {
        var options = OptionsAsync().GetAwaiter().GetResult();
        return new Dictionary<string, string?>
        {
            ["Storage:Provider"] = "cosmos",
            ["Cosmos:Endpoint"] = options.Endpoint,
            ["Cosmos:Key"] = options.Key,
            ["Cosmos:Database"] = options.Database,
            ["Cosmos:TrustLocalCertificate"] = "true",
        };
    }

    public async Task DisposeAsync()
    {
        if (!used) return;
        CosmosImStore[] created;
        lock (stores) created = [.. stores];
        using (var client = (await OptionsAsync()).CreateClient())
        {
            try { await client.GetDatabase(database).DeleteAsync(); }
            catch (CosmosException e) when (e.StatusCode == System.Net.HttpStatusCode.NotFound) { }
        }
        foreach (var store in created) store.Dispose();
    }

    public override string ToString() => Name;
}

/// <summary>Every store the contract suite runs against. Add a factory here and the whole suite runs on it.</summary>
public static class StoreFactories
{
    public static readonly string[] Names = ["sqlite", "cosmos"];

    public static IStoreFactory Create(string name) => name switch
    {
        "sqlite" => new SqliteStoreFactory(),
        "cosmos" => new CosmosStoreFactory(),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "unknown store"),
    };
}
