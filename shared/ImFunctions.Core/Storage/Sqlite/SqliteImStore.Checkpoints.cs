using Microsoft.Data.Sqlite;

namespace ImFunctions.Core.Storage.Sqlite;

/// <summary>
/// WAL checkpoints beside the writer, not inside its commits. SQLite's automatic checkpoint runs in the commit that
/// takes the WAL past 1,000 pages: it reads them back from the WAL, writes them into the database file and syncs it,
/// on the writer, while every queued write waits. The writer is one at a time and caps the send rate: in a profile of
/// its thread at 2,000 msg/s the checkpoint was about a quarter of its time (docs/benchmarks.md). Here a loop on a
/// connection of its own runs a PASSIVE checkpoint every <see cref="CheckpointInterval"/> when something was
/// committed; PASSIVE waits for no lock, so the writer and the readers go on meanwhile. SQLite starts the WAL over
/// only at a commit that finds all of it copied, which under steady writes rarely happens beside them; so the writer
/// keeps an automatic checkpoint at <see cref="FallbackCheckpointPages"/> (~40 MB of WAL): by then the loop has copied
/// nearly every page, that checkpoint is short, and the WAL starts over after it. It also bounds the WAL if the loop
/// falls behind or fails. Under sustained load the -wal file therefore stays at about that size. A checkpoint changes
/// no durability: it copies only committed pages, and under synchronous=FULL or NORMAL it syncs the WAL before and
/// the database file after.
/// </summary>
public sealed partial class SqliteImStore
{
    static readonly TimeSpan CheckpointInterval = TimeSpan.FromMilliseconds(250);
    /// <summary>The writer's own automatic checkpoint (~40 MB of WAL): a backstop only.</summary>
    const int FallbackCheckpointPages = 10_000;

    readonly CancellationTokenSource checkpointStop = new();
    Task? checkpointLoop;

    /// <summary>Checkpoints the loop ran.</summary>
    internal long Checkpoints => Interlocked.Read(ref checkpoints);
    long checkpoints;

    async Task CheckpointLoopAsync()
    {
        var stop = checkpointStop.Token;
        var checkpointedAt = 0L;
        SqliteConnection? connection = null;
        using var timer = new PeriodicTimer(CheckpointInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                var committed = Commits;
                if (committed == checkpointedAt) continue;
                try
                {
                    connection ??= await OpenAsync(stop);
                    await ExecuteAsync(connection, "PRAGMA wal_checkpoint(PASSIVE)", stop);
                    checkpointedAt = committed;
                    Interlocked.Increment(ref checkpoints);
                }
                catch (SqliteException)
                {
                    // The next tick tries again on a new connection; the writer's backstop bounds the WAL meanwhile.
                    connection?.Dispose();
                    connection = null;
                }
            }
        }
        catch (OperationCanceledException) { }
        finally
        {
            connection?.Dispose();
        }
    }
}
