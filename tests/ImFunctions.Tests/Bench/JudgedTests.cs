using ImFunctions.Bench;

namespace ImFunctions.Tests.Bench;

/// <summary>
/// The bench's figures beside their verdicts (bench/ImFunctions.Bench/Judged.cs): a ratio under its line never reads as
/// the line, nor a latency over its line; everywhere else they read as the results' tables print them.
/// </summary>
public sealed class JudgedTests
{
    [TestCase(6_223.2 / 1_245.8, "4.99")]   // the run of 2026-12-05 05:39 (4.9953), printed "5.00×" beside "not met"
    [TestCase(6_996.8 / 36_179.6, "0.19")]
    [TestCase(0.1999, "0.19")]
    [TestCase(0.2, "0.20")]
    [TestCase(0.29, "0.29")]             // 28.999999999999996 hundredths in a double
    [TestCase(5.0, "5.00")]
    [TestCase(28.01, "28.01")]
    public void A_ratio_is_cut_not_rounded(double ratio, string shown) =>
        Assert.That(Judged.Ratio(ratio), Is.EqualTo(shown));

    [TestCase(7.81, 10, "7.81")]
    [TestCase(10.0, 10, "10")]
    [TestCase(10.004, 10, "10.01")]
    [TestCase(10.4, 10, "10.40")]
    [TestCase(10.5, 10, "11")]
    [TestCase(10.6, 10, "11")]
    [TestCase(22.3, 10, "22")]
    [TestCase(50.3, 50, "50.30")]
    [TestCase(59.0, 50, "59")]
    public void A_latency_over_its_line_never_reads_as_the_line(double ms, double atMost, string shown) =>
        Assert.That(Judged.Latency(ms, atMost), Is.EqualTo(shown));

    [Test]
    public void Nothing_measured_reads_as_a_dash()
    {
        Assert.That(Judged.Ratio(double.NaN), Is.EqualTo("–"));
        Assert.That(Judged.Latency(double.NaN, 10), Is.EqualTo("–"));
    }
}
