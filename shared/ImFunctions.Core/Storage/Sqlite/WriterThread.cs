using System.Runtime.InteropServices;

namespace ImFunctions.Core.Storage.Sqlite;

/// <summary>
/// The SQLite writer's own thread. Measured on two cores at 2,500–3,500 msg/s (docs/benchmarks.md, *The writer on a
/// thread of its own, above the request threads*): on the pool the writer woke behind the requests' work items, and
/// on a plain thread it still waited for a core beside them; with a priority above theirs the same build held one
/// more step of the ladder.
/// </summary>
static class WriterThread
{
    /// <summary>How far below the process's nice value the writer asks to run (Linux): a few times the CPU share of a request thread.</summary>
    public const int NiceBelowProcess = 5;

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
    public static bool RaisePriority()
    {
        if (!OperatingSystem.IsLinux())
        {
            try
            {
                Thread.CurrentThread.Priority = ThreadPriority.AboveNormal;
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
        return SetPriority(PrioProcess, thread, Math.Max(process - NiceBelowProcess, -20)) == 0;
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
