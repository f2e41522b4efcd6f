using ImFunctions.Core.Storage.Sqlite;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace ImFunctions.Tests.Storage;

/// <summary>
/// A store's SQLite file, read and written beside the store as another program would (a tool, a build from before):
/// how the layout tests look at what is on disk and write files of an older layout. Each lives in a folder of its own,
/// removed with it.
/// </summary>
sealed class SqliteFile : IDisposable
{
    readonly string directory, path;

    public SqliteFile()
    {
        directory = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "imfunctions-table-tests", Guid.NewGuid().ToString("N"))).FullName;
        path = Path.Combine(directory, "im.db");
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(directory, recursive: true); } catch (IOException) { }
    }

    /// <summary>A copy of the file and its WAL as they are now, in a folder of its own, as a crash would leave them (no wal-index).</summary>
    public SqliteFile CopyAsLeftByACrash()
    {
        var copy = new SqliteFile();
        File.Copy(path, copy.path);
        if (File.Exists(path + "-wal")) File.Copy(path + "-wal", copy.path + "-wal");
        return copy;
    }

    public async Task<SqliteImStore> OpenStoreAsync(ILogger<SqliteImStore>? logger = null)
    {
        var store = new SqliteImStore(new SqliteStoreOptions { Path = path }, logger);
        await store.InitializeAsync(default);
        return store;
    }

    public async Task ExecuteAsync(string sql)
    {
        await using var connection = await OpenAsync();
        await ExecuteAsync(connection, sql);
    }

    public async Task<T> ScalarAsync<T>(string sql)
    {
        await using var connection = await OpenAsync();
        return (T)(await ScalarAsync(connection, sql))!;
    }

    /// <summary>Runs <paramref name="sql"/> on a connection the caller holds (a transaction of its own left open, say).</summary>
    public static async Task ExecuteAsync(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    public static async Task<object?> ScalarAsync(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }

    /// <summary>The statement that created <paramref name="table"/>; null when the file has no such table.</summary>
    public Task<string?> TableSqlAsync(string table) =>
        ScalarAsync<string?>($"SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = '{table}'");

    /// <summary>The first column of every row of <paramref name="sql"/>, as text.</summary>
    public async Task<List<string>> StringsAsync(string sql)
    {
        await using var connection = await OpenAsync();
        await using var read = connection.CreateCommand();
        read.CommandText = sql;
        await using var reader = await read.ExecuteReaderAsync();
        var values = new List<string>();
        while (await reader.ReadAsync()) values.Add(reader.GetValue(0).ToString()!);
        return values;
    }

    /// <summary>A connection of its own to the file, unpooled.</summary>
    public async Task<SqliteConnection> OpenAsync()
    {
        var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        await connection.OpenAsync();
        return connection;
    }
}
