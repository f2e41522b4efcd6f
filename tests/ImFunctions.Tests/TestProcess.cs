using ImFunctions.Core.Storage.Sqlite;

namespace ImFunctions.Tests;

/// <summary>The test process is set up as the app's is: SQLite's process-wide settings before any test opens SQLite.</summary>
[SetUpFixture]
public sealed class TestProcess
{
    [OneTimeSetUp]
    public void ApplySqliteSettings() => SqliteProcessSettings.Apply();
}
