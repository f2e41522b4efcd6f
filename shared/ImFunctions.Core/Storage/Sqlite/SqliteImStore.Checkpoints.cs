using Microsoft.Data.Sqlite;

namespace ImFunctions.Core.Storage.Sqlite;

/// <summary>
/// WAL checkpoints beside the writer, not inside its commits. SQLite's automatic checkpoint runs in the commit that
/// takes the WAL past 1,000 pages: it reads them back from the WAL, writes them into the database file and syncs it, on
/// the writer, while every queued write waits. The writer is one at a time and caps the send rate: in a profile of its
/// thread at 2,000 msg/s the checkpoint was about a quarter of its time (docs/benchmarks.md). Here a loop on a
/// connection of its own runs a PASSIVE checkpoint every <see cref="CheckpointInterval"/> when something was committed;
/// PASSIVE waits for no lock, so the writer and the readers go on meanwhile. SQLite starts the WAL over only at a
/// commit that finds all of it copied, which under steady writes never happens beside them (the writer has committed
/// again before the loop's copy and syncs are done); so the WAL grows until the writer's own automatic checkpoint at
/// <see cref="FallbackCheckpointPages"/>, after which it starts over. That one runs in a commit: it copies what the
/// loop has not yet and syncs the WAL and the file, and every queued write waits for it. Starting a single WAL over
/// always costs such a pause, since the file must hold everything first, so the backstop is set large (~400 MB of WAL)
/// to make it rare: at 10,000 pages it came about once a second at 620 msg/s and was most of the send tail
/// (docs/benchmarks.md, *The writer's backstop checkpoint*). It also bounds the WAL if the loop falls behind or fails.
/// Under sustained load the -wal file therefore grows to about that size and is reused. A checkpoint changes no
/// durability: it copies only committed pages, and under synchronous=FULL or NORMAL it syncs the WAL before and the
/// database file after.
/// </summary>
public sealed partial class SqliteImStore
{
    static readonly TimeSpan CheckpointInterval = TimeSpan.FromMilliseconds(250);
    /// <summary>The writer's own automatic checkpoint (~400 MB of WAL), which starts the WAL over: rare, as it stalls it.</summary>
    const int FallbackCheckpointPages = 100_000;

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
