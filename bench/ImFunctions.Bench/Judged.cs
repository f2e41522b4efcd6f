using System.Globalization;

namespace ImFunctions.Bench;

/// <summary>
/// A figure printed beside its verdict, rounded so that its text never reads as the other side of the line. A ratio
/// that must reach its line is cut to two decimals, not rounded: 6,223.2 msg/s against ejabberd's 1,245.8 is 4.995,
/// which read "5.00×, not met" in the run of 2026-12-05 05:39. A latency that must stay under its line is shown as the
/// tables show it (two decimals under 10 ms, whole milliseconds above), except that one just over the line keeps two
/// decimals, rounded up, where whole milliseconds would put it on the line.
/// </summary>
public static class Judged
{
    /// <summary>Slack for the binary fractions of decimal ratios: 0.29 × 100 is 28.999999999999996 in a double.</summary>
    const double Slack = 1e-9;

    public static string Ratio(double ratio) =>
        double.IsNaN(ratio) ? "–" : (Math.Floor(ratio * 100 + Slack) / 100).ToString("0.00", CultureInfo.InvariantCulture);

    /// <summary>Milliseconds as the results' tables print them: two decimals under 10 ms, whole milliseconds above.</summary>
    public static string Milliseconds(double ms) =>
        double.IsNaN(ms) ? "–" : ms.ToString(ms < 10 ? "0.00" : "0", CultureInfo.InvariantCulture);

    public static string Latency(double ms, double atMost) =>
        ms > atMost && Milliseconds(ms) == Milliseconds(atMost)
            ? (Math.Ceiling(ms * 100 - Slack) / 100).ToString("0.00", CultureInfo.InvariantCulture)
            : Milliseconds(ms);
}
