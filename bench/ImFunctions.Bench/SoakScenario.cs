namespace ImFunctions.Bench;

/// <summary>
/// Memory under steady load (issue 17): the pairs at half of this run's pairs peak for ten minutes, one measured
/// window a minute, the app's RSS sampled through each window. Flat means the last window's floor (its lowest RSS) is
/// within 5 % of the second one's (the first is warm-up: caches and the JIT fill it); see <see cref="Soak"/>.
/// </summary>
public static class SoakScenario
{
    public static async Task RunAsync(Bench bench)
    {
        var o = bench.Options;
        var rate = o.SoakRate ?? (bench.Report.Series(LoadScenarios.Pairs)?.Peak is > 0 and var peak ? LoadScenarios.HalfOf(peak) : 1000);
        await using var rig = await LoadScenarios.SendRig.StartAsync(bench, "soak", o.Pairs, hot: false);
        var windows = Math.Max(2, (int)Math.Round(o.SoakDuration / o.SoakWindow));
        var soak = new Soak(rate, []);
        bench.Log($"  soak     {windows} windows of {o.SoakWindow.TotalSeconds:0} s at {rate:N0} msg/s");
        for (var i = 1; i <= windows; i++)
        {
            var step = await rig.StepAsync($"minute {i}", rate, o.Connections, o.SoakWindow);
            soak.Windows.Add(step);
            bench.Print("soak", step);
        }
        bench.Report.Soak = soak;
        bench.Log($"  soak     rss floor {soak.SettledRssBytes / 1048576.0:0} → {soak.EndRssBytes / 1048576.0:0} MiB ({soak.Growth:+0.0%;-0.0%}), " +
                  $"every window held: {soak.AllHeld}");
    }
}
