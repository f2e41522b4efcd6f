using System.Runtime.InteropServices;

namespace ImFunctions.Core.Storage.Sqlite;

/// <summary>
/// The SQLite store's threads of its own, each at a priority chosen for its place (docs/benchmarks.md). The writer runs
/// above the threads serving requests: on the pool it woke behind the requests' work items, and on a plain thread it
/// still waited for a core beside them; with a priority above theirs the same build held one more step of the ladder
/// (*The writer on a thread of its own, above the request threads*). The search indexer runs below them: its FTS5
/// merges took a core from the sends for tens of milliseconds every second, the largest part of their p99 at
/// 2,500 msg/s (*The search index in a file of its own*); a search never waits for it, since it indexes first.
/// </summary>
static class StoreThread
{
    /// <summary>How far below the process's nice value the writer asks to run (Linux): a few times the CPU share of a request thread.</summary>
    public const int NiceBelowProcess = 5;

    /// <summary>How far above the process's nice value the indexer runs (Linux): about a tenth of a request thread's CPU share when cores are contended.</summary>
    public const int NiceAboveProcess = 10;

    /// <summary>Runs <paramref name="loop"/> on a new background thread; the task ends when the loop returns or throws.</summary>
    public static Task Run(string name, Action loop)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                loop();
                done.SetResult();
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        }) { IsBackground = true, Name = name };
        thread.Start();
        return done.Task;
    }

    /// <summary>
    /// Raises the calling thread's priority above the process's other threads, where the OS allows it: on Linux a lower
    /// nice value, which needs CAP_SYS_NICE (root, or a container granted it); elsewhere .NET's AboveNormal. False when
    /// refused: the thread then runs at the process's priority, as every thread did before.
    /// </summary>
    public static bool RaisePriority() => SetOwnPriority(-NiceBelowProcess, ThreadPriority.AboveNormal);

    /// <summary>
    /// Lowers the calling thread's priority below the process's other threads: on Linux a higher nice value (anyone may
    /// lower their own priority); elsewhere .NET's BelowNormal.
    /// </summary>
    public static bool LowerPriority() => SetOwnPriority(NiceAboveProcess, ThreadPriority.BelowNormal);

    static bool SetOwnPriority(int niceFromProcess, ThreadPriority elsewhere)
    {
        if (!OperatingSystem.IsLinux())
        {
            try
            {
                Thread.CurrentThread.Priority = elsewhere;
                return true;
            }
            catch (Exception e) when (e is ThreadStateException or PlatformNotSupportedException)
            {
                return false;
            }
        }
        // On Linux a nice value belongs to each thread: PRIO_PROCESS with a thread id sets that thread's alone.
        var thread = GetThreadId();
        var process = GetPriority(PrioProcess, Environment.ProcessId);   // the main thread's nice value, -20..19
        return SetPriority(PrioProcess, thread, Math.Clamp(process + niceFromProcess, -20, 19)) == 0;
    }

    const int PrioProcess = 0;

    // Plain ints both ways, nothing to marshal: DllImport rather than LibraryImport, whose generated code needs unsafe blocks.
    [DllImport("libc", EntryPoint = "gettid")]
    static extern int GetThreadId();

    [DllImport("libc", EntryPoint = "getpriority")]
    static extern int GetPriority(int which, int who);

    [DllImport("libc", EntryPoint = "setpriority")]
    static extern int SetPriority(int which, int who, int priority);
}
