using System.Diagnostics;
using System.Text.Json;
using ImFunctions.Tests.Support;

namespace ImFunctions.Tests.Integrations;

/// <summary>
/// Each signing snippet of docs/legacy-backends.md (samples/legacy-snippets/) run for real by its own language:
/// it signs a login JWT, logs in, and sends the user a signed sendSystemMsg that lands in their history.
/// </summary>
public sealed class LegacySnippetTests
{
    TestApp app = null!;

    [OneTimeSetUp]
    public async Task Start() => app = await TestApp.StartAsync(S2SSigner.Settings);

    [OneTimeTearDown]
    public async Task Stop() => await app.DisposeAsync();

    static readonly string Snippets = Path.GetFullPath(Path.Combine(NodeTools.PackageDirectory, "..", "..", "samples", "legacy-snippets"));

    [TestCase("python", "python3", "login_and_send.py", "python3 (apt-get install -y python3)")]
    [TestCase("node", "node", "login_and_send.mjs", "Node.js 18+")]
    [TestCase("java", "java", "LoginAndSend.java", "a JDK 11+ (apt-get install -y default-jdk-headless)")]
    [TestCase("php", "php", "login_and_send.php", "php-cli (apt-get install -y php-cli)")]
    [TestCase("go", "go", "run login_and_send.go", "Go (apt-get install -y golang-go)")]
    [TestCase("c#", "dotnet", "run login_and_send.cs", "the .NET 10 SDK")]
    public async Task The_snippet_logs_a_user_in_and_sends_a_signed_system_message(string language, string tool, string arguments, string install)
    {
        var openid = $"{language.Replace("#", "sharp")}-{Guid.NewGuid():N}";
        var (exitCode, output) = await RunAsync(tool, arguments, install, new()
        {
            ["IMF_URL"] = app.BaseAddress.ToString(),
            ["IMF_JWT_SECRET"] = TestApp.JwtSecret,
            ["IMF_OPENID"] = openid,
            ["IMF_KEY_ID"] = S2SSigner.KeyId,
            ["IMF_KEY"] = S2SSigner.Key,
        });
        Assert.That(exitCode, Is.EqualTo(0), output);

        var result = JsonDocument.Parse(output.Trim().Split('\n')[^1]).RootElement;
        var user = await app.LoginAsync(openid);
        Assert.That(result.GetProperty("uid").GetString(), Is.EqualTo(user.Uid));
        var conversation = result.GetProperty("sent").GetProperty("conversation_id").GetString();
        var history = (await user.PostAsync("getMsgList", new { conversation_id = conversation })).AssertOk().Data;
        var message = history[0];
        Assert.That((message.GetProperty("type").GetString(), message.GetProperty("from_uid").GetString(), message.GetProperty("body").GetProperty("text").GetString()),
            Is.EqualTo(("system", "system", "hello from " + language)));
    }

    static async Task<(int ExitCode, string Output)> RunAsync(string tool, string arguments, string install, Dictionary<string, string> environment)
    {
        var start = new ProcessStartInfo(tool, arguments)
        {
            WorkingDirectory = Snippets,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (name, value) in environment) start.Environment[name] = value;
        Process process;
        try { process = Process.Start(start)!; }
        catch (System.ComponentModel.Win32Exception)
        {
            Assert.Fail($"'{tool}' is not on PATH: install {install} (tests/run.sh does) and run again.");
            throw;
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            // A guard against a hung process, not a timing assertion: a first `go run` or `dotnet run file.cs` compiles.
            using var guard = new CancellationTokenSource(TimeSpan.FromMinutes(5));
            try { await process.WaitForExitAsync(guard.Token); }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail($"{tool} {arguments} did not finish in 5 minutes:\n{await stdout}\n{await stderr}");
            }
            return (process.ExitCode, await stdout + await stderr);
        }
    }
}
