using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;
using Microsoft.Win32.SafeHandles;

namespace ImFunctions.Core.Storage.Sqlite;

/// <summary>
/// WAL checkpoints beside the writer, not inside its commits. SQLite's automatic checkpoint runs in the commit that
/// takes the WAL past 1,000 pages: it reads them back from the WAL, writes them into the database file and syncs it, on
/// the writer, while every queued write waits. The writer is one at a time and caps the send rate: in a profile of its
/// thread at 2,000 msg/s the checkpoint was about a quarter of its time (docs/benchmarks.md). Here a loop on a
/// connection of its own runs a PASSIVE checkpoint every <see cref="CheckpointInterval"/> when something was committed;
/// PASSIVE waits for no lock, so the writer and the readers go on meanwhile.
/// <para>
/// SQLite starts the WAL over only at a commit that finds all of it copied, which under steady writes never happens
/// beside them: the writer has committed again before the loop's copy and syncs are done. So once the WAL is past
/// <see cref="WalRestartPages"/> the loop asks the writer to checkpoint once between two batches, right after the
/// loop's own checkpoint, when what is left to copy is the little committed since; the writer's next commit then
/// starts the WAL over. That pause cannot be avoided (the file must hold everything, synced, before the WAL is
/// reused) but it is the shortest one: it syncs the pages of a few tens of milliseconds of writes, where SQLite's own
/// automatic checkpoint came at any moment inside a commit and copied up to a whole interval's (docs/benchmarks.md,
/// *Starting the WAL over*). That automatic checkpoint stays, at <see cref="FallbackCheckpointPages"/>, as the
/// backstop if the loop falls behind or fails. A restart pauses the writer whatever the WAL's size, so it is kept
/// rare: under sustained load the -wal file grows to about <see cref="WalRestartPages"/> pages (~1 GB, PostgreSQL's
/// default <c>max_wal_size</c> too) and is reused.
/// </para>
/// <para>
/// What the pause costs is the two syncs, the WAL's tail and then the database file's pages (tens of ms on the
/// benchmark's disk while the loop's own syncs and the kernel's writeback share it), not the copy: copying the tail
/// in extra rounds first, so that the writer's own copy is a few hundred frames, left the pause as long. Only fewer
/// restarts make fewer pauses: at 2,500 sends/s and ~10 WAL pages a send, 80,000 pages came every ~3 s, 240,000 come
/// every ~10 s (docs/benchmarks.md, <i>A WAL three times as long</i>).
/// </para>
/// <para>
/// SQLite syncs the database file only after a checkpoint that copied the whole WAL. Under steady reads most of the
/// loop's copy only part of it (a reader's snapshot holds the rest back), and the pages they wrote stayed dirty until
/// the writer's restart checkpoint synced them all at once, with every send waiting behind it: after a minute at the
/// peak, 100–180 ms every few seconds (docs/benchmarks.md, *Syncing the database file beside the writer*). So the loop
/// syncs the file itself after a partial copy, off the writer, and the restart's sync is left with a tick's pages.
/// </para>
/// <para>
/// That sync hands the disk a tick's pages at once, several MiB, and at synchronous=FULL the writer's next commits
/// sync the WAL behind them: 8–18 ms each instead of ~0.3, a few commits in a row, at many of its ticks. So the loop
/// hands the file to the disk in steps of <see cref="WriteBackStep"/> first, each waited for, and a commit's sync
/// waits behind one step at most (<see cref="WriteBackInSteps"/>; docs/benchmarks.md, <i>The database file written
/// back in steps</i>).
/// </para>
/// A checkpoint changes no durability: it copies only committed pages, and under synchronous=FULL or NORMAL it syncs
/// the WAL before and the database file after (SQLite after a whole copy, the loop after a partial one).
/// </summary>
public sealed partial class SqliteImStore
{
    static readonly TimeSpan CheckpointInterval = TimeSpan.FromMilliseconds(250);
    /// <summary>The writer's own automatic checkpoint (~1.2 GB of WAL): the backstop, should the loop not start the WAL over.</summary>
    const int FallbackCheckpointPages = 300_000;

    /// <summary>The WAL's length (pages, ~1 GB) past which the writer is asked to start it over.</summary>
    internal int WalRestartPages { get; init; } = 240_000;
    /// <summary>Set by the loop, cleared by the writer once it tried (a reader still in the WAL can make it wait a tick).</summary>
    bool walRestartWanted;

    readonly CancellationTokenSource checkpointStop = new();
    Task? checkpointLoop;

    /// <summary>Checkpoints the loop ran.</summary>
    internal long Checkpoints => Interlocked.Read(ref checkpoints);
    long checkpoints;

    /// <summary>Times the loop synced the database file after a checkpoint that copied only part of the WAL.</summary>
    internal long DatabaseSyncs => Interlocked.Read(ref databaseSyncs);
    long databaseSyncs;

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
                    var (log, copied) = await CheckpointAsync(connection, stop);
                    if (log >= WalRestartPages) Volatile.Write(ref walRestartWanted, true);
                    if (copied > 0 && copied < log)
                    {
                        SyncDatabaseFile(options.Path);
                        Interlocked.Increment(ref databaseSyncs);
                    }
                    checkpointedAt = committed;
                    Interlocked.Increment(ref checkpoints);
                }
                catch (Exception e) when (e is SqliteException or IOException)
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

    /// <summary>
    /// Syncs the database file through a handle of its own, one per file for the life of the process and never closed:
    /// closing any descriptor of a file drops every POSIX lock the process holds on it, SQLite's included, and another
    /// process (the sqlite3 shell, say) could then take the file over while we use it. SQLite keeps its own descriptors
    /// open for the same reason.
    /// </summary>
    static void SyncDatabaseFile(string path)
    {
        var full = Path.GetFullPath(path);
        lock (SyncHandles)
        {
            if (!SyncHandles.TryGetValue(full, out var handle))
                SyncHandles[full] = handle = new FileStream(full, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
            WriteBackInSteps(handle.SafeFileHandle, handle.Length);
            handle.Flush(flushToDisk: true);
        }
    }

    static readonly Dictionary<string, FileStream> SyncHandles = [];

    /// <summary>How much of the file one step of <see cref="WriteBackInSteps"/> covers: 4 MiB, a ~1,000-page range.</summary>
    internal const long WriteBackStep = 4 << 20;

    /// <summary>
    /// Starts the write of the dirty pages in each <see cref="WriteBackStep"/> of the file in turn and waits for it
    /// before the next (Linux's <c>sync_file_range</c>), so the disk never holds more than one step of them ahead of
    /// another file's sync. It makes nothing durable (the sync that follows does) and stops at the first refusal (or
    /// a C library without the call), leaving the rest to that sync. The steps taken; none outside Linux.
    /// </summary>
    internal static int WriteBackInSteps(SafeFileHandle file, long length)
    {
        if (!OperatingSystem.IsLinux()) return 0;
        var steps = 0;
        try
        {
            for (var offset = 0L; offset < length; offset += WriteBackStep, steps++)
                if (SyncFileRange(file, offset, WriteBackStep, RangeWaitBefore | RangeWrite | RangeWaitAfter) != 0) break;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
        return steps;
    }

    const uint RangeWaitBefore = 1, RangeWrite = 2, RangeWaitAfter = 4;

    [DllImport("libc", EntryPoint = "sync_file_range")]
    static extern int SyncFileRange(SafeFileHandle file, long offset, long count, uint flags);

    /// <summary>
    /// On the writer, between two batches, when the loop asked: copies what the loop's last checkpoint left, so that the
    /// next commit starts the WAL over. The writer holds no transaction here and no other connection writes, so only a
    /// reader still on an older snapshot can keep frames back; then the loop asks again next tick.
    /// </summary>
    async Task StartWalOverIfAskedAsync()
    {
        if (!Volatile.Read(ref walRestartWanted) || writer is not { } connection) return;
        Volatile.Write(ref walRestartWanted, false);
        try
        {
            await CheckpointAsync(connection, CancellationToken.None);
        }
        catch (SqliteException)
        {
            // The next batch finds out whether the connection still works; the backstop bounds the WAL meanwhile.
        }
    }

    /// <summary>
    /// A PASSIVE checkpoint: the WAL's length in pages and how many of them are now in the database file (the pragma's
    /// second and third columns; -1 and -1 when another checkpoint was running).
    /// </summary>
    async Task<(long Log, long Copied)> CheckpointAsync(SqliteConnection connection, CancellationToken ct)
    {
        await using var command = Command(connection, "PRAGMA wal_checkpoint(PASSIVE)");
        await using var result = await command.ExecuteReaderAsync(ct);
        return await result.ReadAsync(ct) ? (result.GetInt64(1), result.GetInt64(2)) : (0, 0);
    }
}
