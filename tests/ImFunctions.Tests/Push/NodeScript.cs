using System.Diagnostics;
using System.Text.Json;
using ImFunctions.Tests.Support;

namespace ImFunctions.Tests.Push;

/// <summary>Runs one of the tests/node check scripts: input as JSON on stdin, the <c>RESULT {json}</c> line back.</summary>
public static class NodeScript
{
    public static async Task<JsonElement> RunAsync(string script, object input, TimeSpan timeout)
    {
        await NodeTools.EnsureInstalledAsync();
        var start = new ProcessStartInfo("node", [script])
        {
            WorkingDirectory = NodeTools.PackageDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(JsonSerializer.Serialize(input));
        process.StandardInput.Close();

        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
        }
        var output = await stdout;
        var log = await stderr;
        var line = output.Split('\n').LastOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal));
        if (line is null) Assert.Fail($"node {script} gave no result (exit {(process.HasExited ? process.ExitCode : -1)}).\n{output}\n{log}");
        var result = JsonDocument.Parse(line!["RESULT ".Length..]).RootElement.Clone();
        Assert.That(result.GetProperty("ok").GetBoolean(), Is.True, $"node {script}: {result}\n{log}");
        TestContext.Out.WriteLine(log);
        return result;
    }
}
