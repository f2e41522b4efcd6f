using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ImFunctions.Local.WebChat;
using ImFunctions.Tests.Support;

namespace ImFunctions.Tests.Local;

/// <summary>The web chat's development sign-in signs JWTs for any name: it must exist only on generated secrets.</summary>
public sealed class DevSignInTests
{
    static readonly Dictionary<string, string?> NoSecrets = new()
    {
        ["UniIm:JwtSecret"] = null,
        ["Auth:TokenSecret"] = null,
        ["LocalHub:AccessKey"] = null,
    };

    [Test]
    public async Task With_configured_secrets_there_is_no_development_sign_in()
    {
        await using var app = await TestApp.StartAsync();
        using var response = await app.Http.PostAsJsonAsync(DevSignIn.Path, new { name = "mallory" });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task A_configured_legacy_key_alone_also_turns_the_development_sign_in_off()
    {
        // The other secrets may still be generated; signing with a real legacy key would let anyone in as anyone.
        var settings = new Dictionary<string, string?>(NoSecrets) { ["UniIm:JwtSecret"] = TestApp.JwtSecret };
        await using var app = await TestApp.StartAsync(settings);
        using var response = await app.Http.PostAsJsonAsync(DevSignIn.Path, new { name = "mallory" });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task On_generated_secrets_a_name_signs_in_and_is_the_same_user_each_time()
    {
        await using var app = await TestApp.StartAsync(NoSecrets);
        async Task<string> LoginAs(string name)
        {
            using var signIn = await app.Http.PostAsJsonAsync(DevSignIn.Path, new { name });
            Assert.That(signIn.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            var signed = (await signIn.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("data").GetProperty("signedData").GetString();
            return (await app.PostAsync("loginWithJWT", new { signedData = signed })).AssertOk().Data.GetProperty("uid").GetString()!;
        }
        var first = await LoginAs("Alice");
        Assert.That(await LoginAs("Alice"), Is.EqualTo(first));
        Assert.That(await LoginAs("Bob"), Is.Not.EqualTo(first));

        using var bad = await app.Http.PostAsJsonAsync(DevSignIn.Path, new { name = "<script>" });
        Assert.That(bad.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
    }

    [Test]
    public async Task In_Azure_there_is_no_development_sign_in()
    {
        var settings = new Dictionary<string, string?> { ["WEBSITE_SITE_NAME"] = "imfunctions-test" };
        await using var app = await TestApp.StartAsync(settings);
        using var response = await app.Http.PostAsJsonAsync(DevSignIn.Path, new { name = "mallory" });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }
}
