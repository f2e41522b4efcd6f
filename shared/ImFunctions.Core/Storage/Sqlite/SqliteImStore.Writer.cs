using System.Threading.Channels;
using ImFunctions.Core.Domain;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace ImFunctions.Core.Storage.Sqlite;

/// <summary>
/// The writer: group commit on one long-lived connection. SQLite lets one writer at a time hold the file, and each
/// commit (under synchronous=FULL, each sync to disk) costs far more than a write's statements, so writes do not
/// commit one by one. They queue, and one loop takes every write waiting at that moment (at most <see cref="MaxBatch"/>)
/// into one <c>BEGIN IMMEDIATE … COMMIT</c>: a lone write commits at once, writes that arrive while a commit runs
/// share the next one. A write that throws is rolled back alone and gets its own exception (<see cref="CommitAsync"/>);
/// nobody is answered before the COMMIT holding their write has returned, and if it fails, nobody of the batch is told
/// their write is stored.
/// <para>
/// The loop runs on a thread of its own, not on the thread pool, and asks the OS for a higher priority than the
/// threads serving requests (<see cref="StoreThread"/>): every send waits for it, so under load a writer that waits
/// for a core, or behind the pool's queue to wake up, makes everyone wait.
/// </para>
/// </summary>
public sealed partial class SqliteImStore : IDisposable
{
    const int MaxBatch = 256;

    // Not SingleReader: that channel cannot count what waits (QueuedWrites).
    readonly Channel<Write> writes = Channel.CreateUnbounded<Write>();
    /// <summary>Set when a write is queued (or the queue completed); the writer thread sleeps on it when idle, spinning not at all.</summary>
    readonly ManualResetEventSlim writesQueued = new(false, spinCount: 0);
    readonly Lock loopStart = new();
    Task? writeLoop;

    /// <summary>
    /// The writer's statements are prepared once and kept: per write that saves a pool round trip, a PRAGMA and the
    /// SQL parse. Its transactions are plain SQL run by the loop (BEGIN IMMEDIATE, SAVEPOINT, COMMIT), never a
    /// SqliteTransaction: Microsoft.Data.Sqlite then sees no transaction on the connection and does not require
    /// <c>command.Transaction</c> on the kept commands, which outlive every transaction. So a write must not begin
    /// one of its own.
    /// </summary>
    SqliteConnection? writer;
    readonly Dictionary<string, KeptCommand> writerCommands = new(StringComparer.Ordinal);

    /// <summary>
    /// Transactions committed on the writer, counted by SQLite's commit hook (autocommitted statements would count
    /// too): with a count of sends, the bench's commits (and under FULL, WAL syncs) per send.
    /// </summary>
    public long Commits => Interlocked.Read(ref commits);
    long commits;
    delegate_commit? countCommit;

    /// <summary>
    /// Conversation rows as of the last commit (<see cref="ConversationRowCache"/>); capped, as the rows of about 5,000
    /// busy 1:1 conversations.
    /// </summary>
    readonly ConversationRowCache rowCache = new(capacity: 10_000);
    /// <summary>The rows the batch being committed wrote so far (null: deleted); the writer's loop alone touches it.</summary>
    readonly List<((string UserId, string Id) Key, ConversationRow? Row)> writtenRows = [];
    /// <summary>The writer connection's <c>PRAGMA data_version</c> at its last batch: it moves only when another connection committed.</summary>
    long? dataVersion;

    /// <summary>Runs <paramref name="work"/> on the writer in the next group commit; completes once that commit returned.</summary>
    internal Task<T> WriteAsync<T>(Func<SqliteConnection, Task<T>> work, CancellationToken ct)
    {
        if (ct.IsCancellationRequested) return Task.FromCanceled<T>(ct);
        var write = new Write<T>(work, ct);
        if (writeLoop is null) StartOnce(ref writeLoop, () => StoreThread.Run("SQLite writer", WriteLoop));
        if (!writes.Writer.TryWrite(write)) return Task.FromException<T>(new ObjectDisposedException(nameof(SqliteImStore)));
        writesQueued.Set();
        return write.Task;
    }

    /// <summary>Writes waiting for the next batch (not counting the one being committed).</summary>
    internal int QueuedWrites => writes.Reader.Count;

    /// <summary>
    /// Starts one of the store's background loops (the writer, the search indexer, the checkpointer) unless it runs
    /// already. A loop is nobody's request: it must not carry the first caller's AsyncLocals (their StoreMeter) along.
    /// </summary>
    void StartOnce(ref Task? loop, Func<Task> body)
    {
        lock (loopStart)
        {
            if (loop is not null) return;
            using (ExecutionContext.SuppressFlow()) loop = Task.Run(body);
        }
    }

    /// <summary>Waits for a background loop (told to stop already) to finish, if it ever started.</summary>
    void WaitForLoop(ref Task? loop)
    {
        Task? started;
        lock (loopStart) started = loop;
        started?.GetAwaiter().GetResult();
    }

    /// <summary>Tells a background loop that runs on a timer (the search indexer, the checkpointer) to stop, and waits for it.</summary>
    void StopLoop(CancellationTokenSource stop, ref Task? loop)
    {
        if (stop.IsCancellationRequested) return;
        stop.Cancel();
        WaitForLoop(ref loop);
    }

    /// <summary>Whether the writer thread got its higher priority (null: it has not started yet).</summary>
    internal bool? WriterPriorityRaised { get; private set; }

    /// <summary>
    /// The writer thread's loop. Microsoft.Data.Sqlite's async methods complete synchronously, so a batch runs start to
    /// end on this thread; a write whose own work awaits something else holds the writer until it is done, as before.
    /// </summary>
    void WriteLoop()
    {
        WriterPriorityRaised = StoreThread.RaisePriority();
        var batch = new List<Write>(MaxBatch);
        while (true)
        {
            while (batch.Count < MaxBatch && writes.Reader.TryRead(out var write))
                if (write.TryStart()) batch.Add(write);   // one cancelled while it waited has been answered already
            if (batch.Count > 0)
            {
                CommitAsync(batch).GetAwaiter().GetResult();
                batch.Clear();
                StartWalOverIfAskedAsync().GetAwaiter().GetResult();
                continue;
            }
            if (writes.Reader.Completion.IsCompleted) return;
            writesQueued.Reset();
            // A write queued after the reads above and before the Reset set the event too early: it is counted here.
            if (writes.Reader.Count == 0 && !writes.Reader.Completion.IsCompleted) writesQueued.Wait();
        }
    }

    /// <summary>
    /// Commits the batch. Its writes first run one after another with nothing between them. Only if one throws is the
    /// transaction rolled back and the batch run again, each write in a SAVEPOINT of its own, so that the one that
    /// throws is undone alone. A savepoint costs two statements and, while it is open, SQLite's copies of the pages the
    /// write changes (its statement journal), kept to put them back; writes almost never throw, so that was paid for
    /// nothing (docs/benchmarks.md, <i>A savepoint only when a write failed</i>). So a write's work can run twice, the
    /// first time rolled back; like the apply functions of a conditional write, which run again after a lost race, it
    /// must change nothing but the file (the store operations it counts aside).
    /// </summary>
    async Task CommitAsync(List<Write> batch)
    {
        try
        {
            var connection = writer ??= await OpenWriterAsync();
            if (!await RunTogetherAsync(connection, batch))
            {
                await RollBackAsync();
                writtenRows.Clear();
                Interlocked.Increment(ref batchesRunAgain);
                connection = writer ??= await OpenWriterAsync();
                await RunEachInSavepointAsync(connection, batch);
            }
            await ExecuteAsync(connection, "COMMIT", CancellationToken.None);
            rowCache.Committed(writtenRows);
        }
        catch (Exception e)
        {
            await RollBackAsync();
            rowCache.Clear();   // whether a failed COMMIT left anything behind is the file's to say, not the cache's
            var failure = new DependencyUnavailableException("SQLite store", e);
            foreach (var write in batch) write.Fail(failure);
            return;
        }
        finally
        {
            writtenRows.Clear();
        }
        foreach (var write in batch) write.Complete();
    }

    /// <summary>Begins the batch's transaction and runs its writes in it; false at the first that threw, with the transaction to be rolled back.</summary>
    async Task<bool> RunTogetherAsync(SqliteConnection connection, List<Write> batch)
    {
        await BeginAsync(connection);
        foreach (var write in batch)
            if (!await write.RunAsync(connection)) return false;
        return true;
    }

    /// <summary>Begins the batch's transaction again and runs each write in a savepoint: one that throws is rolled back alone.</summary>
    async Task RunEachInSavepointAsync(SqliteConnection connection, List<Write> batch)
    {
        await BeginAsync(connection);
        foreach (var write in batch)
        {
            var rowsBefore = writtenRows.Count;
            await ExecuteAsync(connection, "SAVEPOINT write", CancellationToken.None);
            if (await write.RunAsync(connection))
                await ExecuteAsync(connection, "RELEASE write", CancellationToken.None);
            // A failed statement (a constraint, say) undoes only itself, but a few errors (SQLITE_FULL, IOERR,
            // NOMEM) make SQLite roll back the whole transaction: then the batch's earlier writes are gone too.
            else if (raw.sqlite3_get_autocommit(connection.Handle) == 0)
            {
                await ExecuteAsync(connection, "ROLLBACK TO write; RELEASE write", CancellationToken.None);
                writtenRows.RemoveRange(rowsBefore, writtenRows.Count - rowsBefore);
            }
            else
                throw new InvalidOperationException("SQLite rolled back the whole transaction", write.Error);
        }
    }

    async Task BeginAsync(SqliteConnection connection)
    {
        await ExecuteAsync(connection, "BEGIN IMMEDIATE", CancellationToken.None);
        await ForgetRowsIfAnotherWriterCommittedAsync(connection);
    }

    /// <summary>Batches run a second time, each write in a savepoint, because one of their writes threw.</summary>
    internal long BatchesRunAgain => Interlocked.Read(ref batchesRunAgain);
    long batchesRunAgain;

    /// <summary>
    /// In the batch's transaction, before its writes: if any other connection committed since the last batch (another
    /// process on the same file, a tool), the cached rows may be stale and are dropped.
    /// </summary>
    async Task ForgetRowsIfAnotherWriterCommittedAsync(SqliteConnection connection)
    {
        await using var command = Command(connection, "PRAGMA data_version");
        var now = (long)(await command.ExecuteScalarAsync(CancellationToken.None))!;
        if (dataVersion != now) rowCache.Clear();
        dataVersion = now;
    }

    /// <summary>Leaves the writer outside any transaction, so the next batch starts clean.</summary>
    async Task RollBackAsync()
    {
        if (writer is not { } connection || raw.sqlite3_get_autocommit(connection.Handle) != 0) return;
        try
        {
            await ExecuteAsync(connection, "ROLLBACK", CancellationToken.None);
        }
        catch (SqliteException)
        {
            CloseWriter();   // closing the connection rolls back; the next batch opens a new one
        }
    }

    async Task<SqliteConnection> OpenWriterAsync()
    {
        var connection = await OpenAsync(CancellationToken.None);
        // FULL syncs the WAL at every commit: a committed write survives a power cut or an OS crash. NORMAL syncs it
        // only at checkpoints: WAL still survives kill -9 of this process, but an OS crash can lose the last commits.
        await ExecuteAsync(connection, options.Synchronous == SqliteSynchronous.Full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
            CancellationToken.None);
        await ExecuteAsync(connection, $"PRAGMA wal_autocheckpoint = {FallbackCheckpointPages}", CancellationToken.None);
        // Each write's SAVEPOINT keeps the old content of the pages it changes in a statement journal, which SQLite
        // spills to a temporary file past 64 KiB: a batch of sends passes that, and at 1,250 msg/s half of the
        // writer's pwrite calls went to that file. In memory the journal holds at most what one batch changed.
        await ExecuteAsync(connection, "PRAGMA temp_store = MEMORY", CancellationToken.None);
        raw.sqlite3_commit_hook(connection.Handle, countCommit ??= _ => { Interlocked.Increment(ref commits); return 0; }, null);
        if (checkpointLoop is null) StartOnce(ref checkpointLoop, CheckpointLoopAsync);
        if (indexLoop is null) StartOnce(ref indexLoop, () => StoreThread.Run("SQLite indexer", IndexLoop));
        return connection;
    }

    void CloseWriter()
    {
        if (writer is null) return;
        raw.sqlite3_commit_hook(writer.Handle, null, null);   // the connection goes back to the pool
        foreach (var command in writerCommands.Values) command.Release();
        writerCommands.Clear();
        dataVersion = null;   // a new connection counts from its own start
        writer.Dispose();
        writer = null;
    }

    /// <summary>Writes already queued still run and commit; later ones are refused.</summary>
    public void Dispose()
    {
        // Texts still pending are indexed after the next commit or before the next search.
        StopLoop(indexStop, ref indexLoop);
        writes.Writer.TryComplete();
        writesQueued.Set();
        WaitForLoop(ref writeLoop);
        // What the WAL still holds, SQLite checkpoints when the file's last connection closes.
        StopLoop(checkpointStop, ref checkpointLoop);
        CloseWriter();
        CloseIndexer();
    }

    /// <summary>A command for <paramref name="sql"/>: on the writer, the one kept (and prepared) for that SQL.</summary>
    SqliteCommand Command(SqliteConnection connection, string sql, params (string Name, object? Value)[] parameters)
    {
        SqliteCommand command;
        if (ReferenceEquals(connection, writer))
        {
            if (!writerCommands.TryGetValue(sql, out var kept))
                writerCommands[sql] = kept = new KeptCommand { Connection = connection, CommandText = sql };
            command = kept;
        }
        else
        {
            command = connection.CreateCommand();
            command.CommandText = sql;
        }
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return command;
    }

    /// <summary>A writer's command that outlives its using block: disposing only clears its parameters.</summary>
    sealed class KeptCommand : SqliteCommand
    {
        protected override void Dispose(bool disposing) => Parameters.Clear();
        public void Release() => base.Dispose(true);
    }

    /// <summary>One caller's write: queued, then started by the loop, or cancelled by its caller before that.</summary>
    abstract class Write
    {
        const int Queued = 0, Started = 1, Cancelled = 2;
        int state;

        /// <summary>What the write's own work threw; it is rolled back to its savepoint and answered with this.</summary>
        public Exception? Error { get; protected set; }

        public bool TryStart() => Interlocked.CompareExchange(ref state, Started, Queued) == Queued;
        protected bool TryCancel() => Interlocked.CompareExchange(ref state, Cancelled, Queued) == Queued;

        /// <summary>Runs the work; false when it threw.</summary>
        public abstract Task<bool> RunAsync(SqliteConnection connection);
        /// <summary>After the COMMIT returned: the result, or the write's own failure.</summary>
        public abstract void Complete();
        /// <summary>The batch did not commit: nothing of it is stored.</summary>
        public abstract void Fail(Exception batchFailure);
    }

    sealed class Write<T> : Write
    {
        readonly TaskCompletionSource<T> done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        readonly Func<SqliteConnection, Task<T>> work;
        readonly CancellationToken ct;
        // The work runs in its caller's context, so what it meters (StoreMeter) counts for the caller's request.
        readonly ExecutionContext? caller = ExecutionContext.Capture();
        readonly CancellationTokenRegistration cancellation;
        T result = default!;

        public Write(Func<SqliteConnection, Task<T>> work, CancellationToken ct)
        {
            (this.work, this.ct) = (work, ct);
            // Only a write still waiting is cancelled: once started it belongs to the batch, and its own statements
            // see the token (a cancelled one is rolled back alone).
            if (ct.CanBeCanceled) cancellation = ct.Register(() => { if (TryCancel()) done.TrySetCanceled(ct); });
        }

        public Task<T> Task => done.Task;

        public override async Task<bool> RunAsync(SqliteConnection connection)
        {
            Error = null;   // a write runs again when a batch mate threw
            try
            {
                result = await (caller is null ? work(connection) : InCallerContext(connection));
                return true;
            }
            catch (Exception e)
            {
                Error = e;
                return false;
            }
        }

        Task<T> InCallerContext(SqliteConnection connection)
        {
            Task<T> running = null!;
            ExecutionContext.Run(caller!, _ => running = work(connection), null);
            return running;
        }

        public override void Complete()
        {
            cancellation.Dispose();
            switch (Error)
            {
                case null: done.TrySetResult(result); break;
                case OperationCanceledException when ct.IsCancellationRequested: done.TrySetCanceled(ct); break;
                case var e when IsLocked(e): done.TrySetException(new DependencyUnavailableException("SQLite store", e)); break;
                case var e: done.TrySetException(e); break;
            }
        }

        public override void Fail(Exception batchFailure)
        {
            if (Error is not null) Complete();   // its own failure says more than the batch's
            else
            {
                cancellation.Dispose();
                done.TrySetException(batchFailure);
            }
        }
    }
}
