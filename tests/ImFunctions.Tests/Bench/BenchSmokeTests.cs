using System.Diagnostics;
using System.Reflection;
using System.Text.Json;

namespace ImFunctions.Tests.Bench;

/// <summary>
/// The benchmark tool still works: its smoke mode (a few seconds of every scenario against a fresh app) runs as a
/// process and reports sane numbers. No timing is asserted; the real numbers live in docs/benchmarks.md.
/// </summary>
public sealed class BenchSmokeTests
{
    [Test]
    public async Task Smoke_run_delivers_messages_and_reports_no_errors()
    {
        var bench = typeof(BenchSmokeTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "BenchAssembly").Value!;
        Assert.That(File.Exists(bench), Is.True, $"{bench} is missing; the test project builds it through its project reference");
        var json = Path.Combine(Path.GetTempPath(), "imfunctions-bench-smoke-" + Guid.NewGuid().ToString("N") + ".json");
        var timelines = Path.Combine(Path.GetTempPath(), "imfunctions-bench-timelines-" + Guid.NewGuid().ToString("N"));
        try
        {
            var (code, output) = await RunAsync("dotnet", [bench, "--smoke", "--json", json, "--timeline", timelines], TimeSpan.FromSeconds(120));
            Assert.That(code, Is.EqualTo(0), output);

            using var report = JsonDocument.Parse(await File.ReadAllTextAsync(json));
            var root = report.RootElement;
            Assert.That(root.GetProperty("TotalErrors").GetInt32(), Is.EqualTo(0), output);
            Assert.That(root.GetProperty("TotalDelivered").GetInt64(), Is.GreaterThan(0), output);
            var series = root.GetProperty("Load").EnumerateArray().ToDictionary(s => s.GetProperty("Name").GetString()!);
            // The peer too: a missing or broken ejabberd fails the run above, it does not drop out of the report quietly.
            Assert.That(series.Keys, Is.SupersetOf(new[] { "bare", "pairs", "hot", "ejabberd pairs (WAL/NORMAL)" }));
            // Answered, counted by request rather than by rate: a smoke step's window is 0.7 s, and a cold peer on a busy
            // machine can answer every request of it just after the window closes (seen: ejabberd, p50 740 ms).
            foreach (var (name, s) in series)
                Assert.That(s.GetProperty("Steps").EnumerateArray().All(step => step.GetProperty("Http").GetProperty("Count").GetInt32() > 0), Is.True,
                    $"{name} answered nothing:\n{output}");
            Assert.That(root.GetProperty("Sockets").EnumerateArray().Select(s => s.GetProperty("Failed").GetInt32()), Is.All.EqualTo(0));
            Assert.That(root.GetProperty("Reads").GetArrayLength(), Is.GreaterThan(0), output);
            Assert.That(root.GetProperty("StoreRates").EnumerateArray().All(s => s.GetProperty("OpsPerSecond").GetDouble() > 0), Is.True, output);
            // The disk probe ran before the FULL ladder, alone and beside its neighbour's writes.
            var disk = root.GetProperty("Disk");
            Assert.That(new[] { "Alone", "Beside" }.Select(k => disk.GetProperty(k).GetProperty("Count").GetInt32()), Is.All.GreaterThan(0), output);
            Assert.That(disk.GetProperty("NeighbourMBps").GetDouble(), Is.GreaterThan(0), output);

            // --timeline: a CSV per measured step, each request answered (and for the sends, delivered) after its due time.
            var steps = Directory.GetFiles(timelines, "*.csv").Select(File.ReadAllLines).ToList();
            Assert.That(steps, Has.Count.GreaterThan(series.Count), "at least a step per series and the warm-ups");
            Assert.That(steps.Select(lines => lines[0]), Is.All.EqualTo("due_ms,status,sent_ms,answered_ms,delivered_ms"));
            var delivered = steps.SelectMany(lines => lines.Skip(1)).Select(line => line.Split(','))
                .Where(f => f[1] == "200" && f[4] != "").ToList();
            Assert.That(delivered, Is.Not.Empty);
            Assert.That(delivered.All(f => double.Parse(f[3], System.Globalization.CultureInfo.InvariantCulture) >= 0), Is.True);
        }
        finally
        {
            File.Delete(json);
            if (Directory.Exists(timelines)) Directory.Delete(timelines, recursive: true);
        }
    }

    static async Task<(int Code, string Output)> RunAsync(string file, string[] args, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try { await process.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"the bench smoke run took longer than {timeout}:\n{await stdout}\n{await stderr}");
        }
        return (process.ExitCode, await stdout + await stderr);
    }
}
