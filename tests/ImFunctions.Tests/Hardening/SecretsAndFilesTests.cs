using ImFunctions.Api.Hosting;
using ImFunctions.Tests.Support;

namespace ImFunctions.Tests.Hardening;

/// <summary>Each secret has one job, and the files holding chat history and secrets are the owner's alone.</summary>
public sealed class SecretsAndFilesTests
{
    [TestCase("Auth:TokenSecret", TestApp.JwtSecret, "Auth__TokenSecret", "UniIm__JwtSecret")]
    [TestCase("LocalHub:AccessKey", TestApp.JwtSecret, "LocalHub__AccessKey", "UniIm__JwtSecret")]
    [TestCase("LocalHub:AccessKey", TestApp.TokenSecret, "LocalHub__AccessKey", "Auth__TokenSecret")]
    [TestCase("Webhooks:Secret", TestApp.HubAccessKey, "LocalHub__AccessKey", "Webhooks__Secret")]
    public void The_app_refuses_to_start_when_two_secrets_are_equal(string setting, string otherSecretsValue, string named1, string named2)
    {
        var settings = new Dictionary<string, string?> { [setting] = otherSecretsValue };
        Assert.That(async () => await TestApp.StartAsync(settings),
            Throws.InstanceOf<InvalidOperationException>().With.Message.Contains(named1).And.Message.Contains(named2));
    }

    [Test]
    public async Task Distinct_secrets_start_fine()
    {
        await using var app = await TestApp.StartAsync();
        await app.LoginAsync();
    }

    [Test, Platform(Exclude = "Win"), System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task The_database_its_search_index_their_wal_and_shm_and_the_dev_secrets_are_readable_by_the_owner_only()
    {
        await using var app = await TestApp.StartAsync(new Dictionary<string, string?>
        {
            ["UniIm:JwtSecret"] = null,
            ["Auth:TokenSecret"] = null,
            ["LocalHub:AccessKey"] = null,
        });
        // A write, so SQLite has opened its -wal and -shm files.
        var signed = LegacyJwts.Sign(new { userInfo = new { openid = "file-modes" } },
            System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(app.DataDirectory, DevSecrets.FileName))).RootElement.GetProperty("UniIm:JwtSecret").GetString()!);
        (await app.PostAsync("loginWithJWT", new { signedData = signed })).AssertOk();

        const UnixFileMode ownerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        var files = new[]
            {
                "imfunctions.db", "imfunctions.db-wal", "imfunctions.db-shm",
                "imfunctions.search.db", "imfunctions.search.db-wal", "imfunctions.search.db-shm", DevSecrets.FileName,
            }
            .ToDictionary(name => name, name => File.GetUnixFileMode(Path.Combine(app.DataDirectory, name)));
        Assert.That(files, Is.EqualTo(files.Keys.ToDictionary(name => name, _ => ownerOnly)));
        Assert.That(File.GetUnixFileMode(app.DataDirectory), Is.EqualTo(ownerOnly | UnixFileMode.UserExecute), "the data folder");
    }
}
