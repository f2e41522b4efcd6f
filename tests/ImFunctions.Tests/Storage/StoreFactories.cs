using ImFunctions.Core.Storage;
using ImFunctions.Core.Storage.Sqlite;

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

/// <summary>Every store the contract suite runs against. Add a factory here and the whole suite runs on it.</summary>
public static class StoreFactories
{
    public static readonly string[] Names = ["sqlite"];

    public static IStoreFactory Create(string name) => name switch
    {
        "sqlite" => new SqliteStoreFactory(),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "unknown store"),
    };
}
