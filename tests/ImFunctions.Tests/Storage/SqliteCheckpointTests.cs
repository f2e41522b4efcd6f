using ImFunctions.Core.Domain;
using ImFunctions.Core.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace ImFunctions.Tests.Storage;

/// <summary>
/// WAL checkpoints run beside the writer: committed pages reach the database file within moments, long before the
/// WAL would fill to the writer's own (backstop) automatic checkpoint.
/// </summary>
public sealed class SqliteCheckpointTests
{
    string directory = null!;

    [SetUp]
    public void NewFolder() => directory = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "imfunctions-ckpt-tests", Guid.NewGuid().ToString("N"))).FullName;

    [TearDown]
    public void RemoveFolder()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(directory, recursive: true); } catch (IOException) { }
    }

    [Test]
    public async Task Committed_writes_reach_the_database_file_without_waiting_for_the_WAL_to_fill()
    {
        var path = Path.Combine(directory, "im.db");
        using var store = new SqliteImStore(new SqliteStoreOptions { Path = path });
        await store.InitializeAsync(default);
        var users = Enumerable.Range(0, 50).Select(i => new User { Id = Ids.New(), ExtUid = "ext-" + i }).ToList();
        await Task.WhenAll(users.Select(u => store.SaveUserAsync(u, default)));

        // The store holds its connections open, so SQLite has no reason of its own to checkpoint a WAL of a few pages:
        // only the loop moves them into the file. A copy of the file alone (no -wal) shows what it holds.
        var found = 0L;
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (found < users.Count && waited.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(100);
            found = CountUsersInFileAlone(path);
        }

        Assert.That(found, Is.EqualTo(users.Count), "users in the database file without its WAL");
        Assert.That(store.Checkpoints, Is.GreaterThan(0));
    }

    long CountUsersInFileAlone(string path)
    {
        var copy = Path.Combine(directory, "copy-" + Guid.NewGuid().ToString("N") + ".db");
        File.Copy(path, copy);
        try
        {
            using var connection = new SqliteConnection($"Data Source={copy};Pooling=False");
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT count(*) FROM users";
            return (long)command.ExecuteScalar()!;
        }
        catch (SqliteException)
        {
            return 0;   // copied in the middle of a checkpoint: the next copy will do
        }
        finally
        {
            File.Delete(copy);
        }
    }
}
