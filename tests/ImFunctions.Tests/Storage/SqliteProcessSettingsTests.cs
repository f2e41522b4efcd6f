using ImFunctions.Core.Storage.Sqlite;
using SQLitePCL;

namespace ImFunctions.Tests.Storage;

public sealed class SqliteProcessSettingsTests
{
    [Test]
    public async Task SQLite_keeps_no_allocation_statistics_once_the_settings_are_applied_before_it_opens()
    {
        Assert.That(SqliteProcessSettings.Apply(), Is.True, "refused: SQLite was opened before the test process's setup");
        using var file = new SqliteFile();
        using var store = await file.OpenStoreAsync();
        // With the statistics on, SQLite counts the bytes every connection and statement above allocated.
        Assert.That(raw.sqlite3_memory_used(), Is.EqualTo(0));
    }
}
