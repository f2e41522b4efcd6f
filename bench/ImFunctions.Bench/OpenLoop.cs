using System.Diagnostics;
using System.Threading.Channels;

namespace ImFunctions.Bench;

/// <summary>
/// Open-loop load at a fixed rate: request i is due at start + i/rate whether or not earlier ones have finished,
/// and its latency counts from when it was due, so a slow server cannot slow the generator down and hide its own
/// queueing (coordinated omission). A fixed set of keep-alive connections carries the requests.
/// </summary>
public sealed class OpenLoop
{
    /// <summary>Stopwatch ticks, per request index (0 = never).</summary>
    public sealed class Timeline(int count)
    {
        public readonly long[] Due = new long[count];
        /// <summary>When a connection took the request and started writing it: Sent - Due is the generator's own lag.</summary>
        public readonly long[] Sent = new long[count];
        public readonly long[] Done = new long[count];
        public readonly long[] Delivered = new long[count];
        public readonly short[] Status = new short[count];
        public int Count => Due.Length;
    }

    public const short Shed = -1, Failed = -2, TimedOut = -3;
    /// <summary>Answered 200, but the body reports a failure (ejabberd's API answers 200 with a body of 1).</summary>
    public const short Refused = -4;

    /// <summary>
    /// Runs <paramref name="rate"/> requests per second for warmup + duration, then waits (bounded) for the last
    /// ones. <paramref name="build"/> makes request i; <paramref name="check"/> may turn a 200 into a failure.
    /// </summary>
    public static async Task<(Timeline Timeline, long MeasureFrom, long MeasureTo)> RunAsync(
        int port, int connections, int maxQueued, double rate, TimeSpan warmup, TimeSpan duration,
        Func<int, byte[]> build, Func<int, int, byte[], short>? check = null, Action<bool>? window = null, Timeline? timeline = null)
    {
        var total = (int)Math.Ceiling(rate * (warmup + duration).TotalSeconds);
        timeline ??= new Timeline(total);
        if (timeline.Count != total) throw new ArgumentException($"the timeline must hold {total} requests", nameof(timeline));
        var queue = Channel.CreateUnbounded<int>(new UnboundedChannelOptions { SingleWriter = true });
        var ticksPerRequest = Stopwatch.Frequency / rate;
        using var stop = new CancellationTokenSource();

        var workers = Enumerable.Range(0, connections).Select(_ => Task.Run(async () =>
        {
            using var connection = new RawHttpConnection(port);
            await foreach (var i in queue.Reader.ReadAllAsync(stop.Token))
            {
                try
                {
                    timeline.Sent[i] = Stopwatch.GetTimestamp();
                    var (status, body) = await connection.SendAsync(build(i), stop.Token);
                    timeline.Done[i] = Stopwatch.GetTimestamp();
                    timeline.Status[i] = check?.Invoke(i, status, body) ?? (short)status;
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    timeline.Status[i] = TimedOut;
                    return;
                }
                catch (Exception)
                {
                    timeline.Done[i] = Stopwatch.GetTimestamp();
                    timeline.Status[i] = Failed;
                }
            }
        })).ToArray();

        // A dedicated thread releases requests as they fall due, waking every ~200 µs: Task.Delay(1) ticks at 1 ms
        // or worse, and that lateness would be counted against the server.
        var begin = Stopwatch.GetTimestamp();
        var measureFrom = begin + (long)(warmup.TotalSeconds * Stopwatch.Frequency);
        var measureTo = measureFrom + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var scheduler = new Thread(() =>
        {
            var measuring = false;
            var next = 0;
            while (next < total)
            {
                var now = Stopwatch.GetTimestamp();
                if (!measuring && now >= measureFrom) { measuring = true; window?.Invoke(true); }
                var dueNow = Math.Min(total, (int)((now - begin) / ticksPerRequest) + 1);
                for (; next < dueNow; next++)
                {
                    timeline.Due[next] = begin + (long)(next * ticksPerRequest);
                    if (queue.Reader.Count >= maxQueued) timeline.Status[next] = Shed;
                    else queue.Writer.TryWrite(next);
                }
                NativeSleep.Microseconds(200);
            }
            if (!measuring) window?.Invoke(true);
            window?.Invoke(false);
        }) { IsBackground = true, Name = "open-loop scheduler", Priority = ThreadPriority.Highest };
        scheduler.Start();
        await Task.Run(scheduler.Join);
        queue.Writer.Complete();

        // The last requests get a bounded grace period; whatever is still queued or in flight then times out.
        var drained = Task.WhenAll(workers);
        if (await Task.WhenAny(drained, Task.Delay(TimeSpan.FromSeconds(10))) != drained)
        {
            stop.Cancel();
            try { await drained; } catch (OperationCanceledException) { }
        }
        for (var i = 0; i < total; i++)
            if (timeline.Status[i] == 0) timeline.Status[i] = TimedOut;
        return (timeline, measureFrom, measureTo);
    }
}

/// <summary>Latency percentiles in milliseconds.</summary>
public sealed record Percentiles(int Count, double P50, double P95, double P99, double Max)
{
    public static readonly Percentiles Empty = new(0, double.NaN, double.NaN, double.NaN, double.NaN);

    public static Percentiles Of(IEnumerable<double> millis)
    {
        var sorted = millis.ToArray();
        if (sorted.Length == 0) return Empty;
        Array.Sort(sorted);
        double At(double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
        return new Percentiles(sorted.Length, At(0.50), At(0.95), At(0.99), sorted[^1]);
    }

    public static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
}

static class NativeSleep
{
    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "usleep")]
    static extern int USleep(uint microseconds);

    public static void Microseconds(uint us)
    {
        if (OperatingSystem.IsLinux()) USleep(us);
        else Thread.Sleep(1);
    }
}
