using SQLitePCL;

namespace ImFunctions.Core.Storage.Sqlite;

/// <summary>
/// SQLite's process-wide configuration. SQLite accepts part of it only before its first connection in the process, so
/// the store applies it when it initializes, and a host that opens SQLite elsewhere first calls <see cref="Apply"/>
/// before. Refused (something opened SQLite earlier), the store runs as it did without it: slower, never wrong.
/// </summary>
public static class SqliteProcessSettings
{
    const int SqliteConfigMemStatus = 9;

    static readonly Lazy<bool> applied = new(() =>
    {
        Batteries_V2.Init();
        // In this order: SQLite takes sqlite3_config only before it initializes, and sqlite3_vfs_find (in Register)
        // initializes it.
        var statisticsOff = TurnOffAllocationStatistics();
        return WalWritesCombined.Register() & statisticsOff;
    });

    /// <summary>Applies the settings once; true when SQLite took them all.</summary>
    public static bool Apply() => applied.Value;

    /// <summary>
    /// SQLite tracks the size of every allocation under one process-wide mutex for <c>sqlite3_status()</c>, which
    /// nothing here reads. Its recommended build options turn that off (<c>SQLITE_DEFAULT_MEMSTATUS=0</c>); the
    /// bundled build leaves it on. Off, the store spent 7–10 % less CPU per send with 64 senders
    /// (docs/benchmarks.md, *SQLite's allocation statistics off*). Only before SQLite's first connection.
    /// </summary>
    static bool TurnOffAllocationStatistics() => raw.sqlite3_config(SqliteConfigMemStatus, 0) == raw.SQLITE_OK;
}
