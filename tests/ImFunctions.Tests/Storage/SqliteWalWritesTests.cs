using ImFunctions.Core.Storage.Sqlite;
using Microsoft.Data.Sqlite;
using static ImFunctions.Tests.Storage.SqliteFile;

namespace ImFunctions.Tests.Storage;

/// <summary>
/// The WAL's frames gathered into one write per commit (<see cref="WalWritesCombined"/>, the process's default VFS
/// since the test process's setup): fewer writes, and a WAL that holds exactly what SQLite asked it to hold, which a
/// copy of the files taken as a crash would leave them proves when SQLite recovers the copy from the WAL alone.
/// </summary>
public sealed class SqliteWalWritesTests
{
    /// <summary>Rows of 3,000 bytes, one to a page.</summary>
    static string InsertPages(int count) =>
        $"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count}) INSERT INTO t (body) SELECT randomblob(3000) FROM n";

    // NORMAL syncs nothing at a commit: only the commit frame's own write puts the commit in the file.
    [TestCase("NORMAL")]
    [TestCase("FULL")]
    public async Task A_commit_reaches_the_WAL_in_one_write_where_SQLite_asks_for_two_per_page(string synchronous)
    {
        using var file = new SqliteFile();
        await using var connection = await WalAsync(file, $"PRAGMA synchronous = {synchronous}; CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)");
        var (asked, made) = (WalWritesCombined.WritesAsked, WalWritesCombined.WritesMade);

        await ExecuteAsync(connection, InsertPages(20));   // ~21 frames, ~87 KB

        Assert.That(WalWritesCombined.WritesAsked - asked, Is.GreaterThanOrEqualTo(42), "a header and a page per frame");
        Assert.That(WalWritesCombined.WritesMade - made, Is.EqualTo(1));
    }

    [Test]
    public async Task A_transaction_past_the_page_cache_reads_its_spilled_pages_back_and_commits_whole_or_not_at_all()
    {
        using var file = new SqliteFile();
        await using var writer = await WalAsync(file, "CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB); PRAGMA cache_size = 10");
        await using var reader = await file.OpenAsync();

        // ~1.2 MB: SQLite spills pages to the WAL as frames of no commit before the transaction ends, then reads them back.
        await ExecuteAsync(writer, "BEGIN; " + InsertPages(300));
        Assert.That(await ScalarAsync(writer, "SELECT sum(length(body)) FROM t"), Is.EqualTo(900_000));
        await ExecuteAsync(writer, "ROLLBACK");
        Assert.That(await ScalarAsync(reader, "SELECT count(*) FROM t"), Is.EqualTo(0));

        await ExecuteAsync(writer, "BEGIN; " + InsertPages(300) + "; COMMIT");
        Assert.That(await ScalarAsync(reader, "SELECT count(*) FROM t"), Is.EqualTo(300));
        await AssertRecoveredFromTheWalAsync(file, rows: 300);
    }

    [Test]
    public async Task The_WAL_started_over_after_a_checkpoint_holds_the_commits_written_since()
    {
        using var file = new SqliteFile();
        await using var writer = await WalAsync(file, "CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)");
        await ExecuteAsync(writer, InsertPages(20));
        await ExecuteAsync(writer, "PRAGMA wal_checkpoint(RESTART)");

        // The next commit writes a new WAL header at the file's start, then its frames over the old ones.
        await ExecuteAsync(writer, InsertPages(20));
        await ExecuteAsync(writer, InsertPages(20));

        await AssertRecoveredFromTheWalAsync(file, rows: 60);
    }

    /// <summary>At synchronous=NORMAL, as the store's writer runs when asked to: no sync after a commit writes the buffer for it.</summary>
    static async Task<SqliteConnection> WalAsync(SqliteFile file, string setUp)
    {
        var connection = await file.OpenAsync();
        await ExecuteAsync(connection, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; " + setUp);
        return connection;
    }

    /// <summary>A copy of the database file and its WAL, opened with no wal-index: SQLite rebuilds it from the WAL's frames.</summary>
    static async Task AssertRecoveredFromTheWalAsync(SqliteFile file, long rows)
    {
        using var copy = file.CopyAsLeftByACrash();
        await using var connection = await copy.OpenAsync();
        Assert.That(await ScalarAsync(connection, "SELECT count(*) FROM t"), Is.EqualTo(rows));
        Assert.That(await ScalarAsync(connection, "PRAGMA integrity_check"), Is.EqualTo("ok"));
    }
}
