using System.Text.Json;
using ImFunctions.Api.Hosting;
using ImFunctions.Tests.Support;

namespace ImFunctions.Tests.Api;

public sealed class DevSecretsTests
{
    static readonly Dictionary<string, string?> NoSecrets = new()
    {
        ["UniIm:JwtSecret"] = null,
        ["Auth:TokenSecret"] = null,
        ["LocalHub:AccessKey"] = null,
    };

    [Test]
    public async Task With_no_settings_secrets_are_generated_once_into_the_data_folder_and_reused()
    {
        await using var first = await TestApp.StartAsync(NoSecrets);
        var path = Path.Combine(first.DataDirectory, DevSecrets.FileName);
        var secrets = JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(path))!;
        Assert.That(secrets.Keys, Is.EquivalentTo(new[] { "UniIm:JwtSecret", "Auth:TokenSecret", "LocalHub:AccessKey" }));
        Assert.That(secrets.Values.Distinct().Count(), Is.EqualTo(3));
        if (!OperatingSystem.IsWindows())
            Assert.That(File.GetUnixFileMode(path), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));

        var signed = LegacyJwts.Sign(new { userInfo = new { openid = "dev-user" } }, secrets["UniIm:JwtSecret"]);
        var token = (await first.PostAsync("loginWithJWT", new { signedData = signed })).AssertOk()
            .Body.GetProperty("newToken").GetProperty("token").GetString();

        await using var restarted = await TestApp.StartAsync(new Dictionary<string, string?>(NoSecrets) { ["DataDirectory"] = first.DataDirectory });
        (await restarted.PostAsync("getConversationList", new { }, token)).AssertOk();
        Assert.That(File.ReadAllText(path), Is.EqualTo(JsonSerializer.Serialize(secrets, new JsonSerializerOptions { WriteIndented = true })));
    }

    [Test]
    public void In_Azure_no_secret_is_generated_and_a_missing_token_secret_stops_the_start()
    {
        var settings = new Dictionary<string, string?>(NoSecrets) { ["WEBSITE_SITE_NAME"] = "imfunctions-test" };
        Assert.That(async () => await TestApp.StartAsync(settings), Throws.InstanceOf<InvalidOperationException>().With.Message.Contains("Auth:TokenSecret"));
    }
}
