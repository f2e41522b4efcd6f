using System.Diagnostics;

namespace ImFunctions.Bench;

/// <summary>The facts a reader needs to compare numbers across machines, and how busy this one was.</summary>
public static class Machine
{
    public static void Describe(BenchReport report)
    {
        var m = report.Machine;
        m["cores (nproc)"] = Environment.ProcessorCount.ToString();
        m["CPU"] = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name"))?.Split(':', 2)[1].Trim() ?? "?";
        var memKb = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal")).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        m["RAM"] = $"{long.Parse(memKb) / 1024.0 / 1024:0.0} GiB";
        m["OS"] = $"{System.Runtime.InteropServices.RuntimeInformation.OSDescription}";
        m["dotnet --version"] = Run("dotnet", "--version");
        m[".NET runtime"] = Environment.Version.ToString();
        m["bench priority (nice)"] = File.ReadAllText("/proc/self/stat").Split(')')[^1].Split(' ', StringSplitOptions.RemoveEmptyEntries)[16];
        m["generator thread-pool spin limit"] = Environment.GetEnvironmentVariable("DOTNET_ThreadPool_UnfairSemaphoreSpinLimit") ?? "runtime default";
        m["load average at start"] = File.ReadAllText("/proc/loadavg").Split(' ').Take(3).Aggregate((a, b) => a + " " + b);
        m["open files limit"] = File.ReadLines("/proc/self/limits").FirstOrDefault(l => l.StartsWith("Max open files"))?
            .Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(3).Take(2).Aggregate((a, b) => a + " soft / " + b + " hard") ?? "?";
        var commit = Run("git", "rev-parse --short HEAD");
        m["source"] = commit is "" or "?"
            ? Environment.GetEnvironmentVariable("BENCH_SOURCE") ?? "?"
            : commit + (Run("git", "status --porcelain --untracked-files=no").Length > 0 ? " (with uncommitted changes)" : "");
    }

    static string Run(string file, string args)
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false })!;
            var output = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit(10_000);
            return output;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return "?";
        }
    }
}
