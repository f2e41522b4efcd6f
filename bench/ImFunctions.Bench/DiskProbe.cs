using System.Diagnostics;

namespace ImFunctions.Bench;

/// <summary>
/// How long this disk takes to sync, measured in the bench's work folder (where the apps keep their databases) just
/// before the FULL ladder. A send at <c>synchronous=FULL</c> is answered after one sync of the WAL, so FULL's latency
/// cannot go below the disk's own, and on a shared virtual disk that moves from hour to hour: this puts the hour's
/// figure beside FULL's in the same run. The probe writes 40 KiB in place and syncs it every 2 ms (about what a commit
/// writes at the half-peak rate), first alone, then beside a neighbour that appends 1 MiB to another file every 10 ms
/// and syncs it every 100 ms (~100 MB/s, what the app's WAL, checkpoints and search index write at 2,500 msg/s).
/// Both sync with <c>fsync</c>, as SQLite does here.
/// </summary>
public static class DiskProbe
{
    const int Block = 40 * 1024, Blocks = 1000, NeighbourChunk = 1 << 20;

    public static DiskSync Measure(Bench bench, TimeSpan each)
    {
        var alone = Syncs(bench.WorkDirectory, each);
        using var stop = new CancellationTokenSource();
        long written = 0;
        var neighbour = new Thread(() => written = Neighbour(bench.WorkDirectory, stop.Token)) { IsBackground = true, Name = "disk probe neighbour" };
        var clock = Stopwatch.StartNew();
        neighbour.Start();
        var beside = Syncs(bench.WorkDirectory, each);
        stop.Cancel();
        neighbour.Join();
        var result = new DiskSync(alone, beside, written / 1e6 / clock.Elapsed.TotalSeconds);
        bench.Log($"  disk     a sync of {Block / 1024} KiB every 2 ms: alone p50 {alone.P50:0.00} p99 {alone.P99:0.00} max {alone.Max:0.0} ms; " +
                  $"beside {result.NeighbourMBps:0} MB/s of writes p50 {beside.P50:0.00} p99 {beside.P99:0.00} max {beside.Max:0.0} ms");
        return result;
    }

    /// <summary>The probe's own writes: a block in place, then its sync, timed, every 2 ms.</summary>
    static Percentiles Syncs(string directory, TimeSpan duration)
    {
        using var file = Scratch(directory, "disk-probe.bin");
        var block = RandomBytes(Block);
        for (var i = 0; i < Blocks; i++) RandomAccess.Write(file.SafeFileHandle, block, (long)i * Block);
        file.Flush(flushToDisk: true);
        var latencies = new List<double>();
        var end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        for (var i = 0; Stopwatch.GetTimestamp() < end; i++)
        {
            RandomAccess.Write(file.SafeFileHandle, block, (long)(i % Blocks) * Block);
            var start = Stopwatch.GetTimestamp();
            file.Flush(flushToDisk: true);
            latencies.Add(Percentiles.Ms(Stopwatch.GetTimestamp() - start));
            Thread.Sleep(2);
        }
        return Percentiles.Of(latencies);
    }

    /// <summary>Appends to a file of its own until stopped; returns the bytes written.</summary>
    static long Neighbour(string directory, CancellationToken stop)
    {
        using var file = Scratch(directory, "disk-probe-neighbour.bin");
        var chunk = RandomBytes(NeighbourChunk);
        long written = 0;
        for (var i = 1; !stop.IsCancellationRequested; i++)
        {
            file.Write(chunk);
            written += chunk.Length;
            if (i % 10 == 0) file.Flush(flushToDisk: true);
            Thread.Sleep(10);
        }
        return written;
    }

    /// <summary>A file in the work folder, unbuffered (every write a system call), deleted when closed.</summary>
    static FileStream Scratch(string directory, string name) =>
        new(Path.Combine(directory, name), FileMode.Create, FileAccess.ReadWrite, FileShare.None, bufferSize: 0, FileOptions.DeleteOnClose);

    static byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        Random.Shared.NextBytes(bytes);
        return bytes;
    }
}
