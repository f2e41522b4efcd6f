using System.Text.Json;
using ImFunctions.Api;
using ImFunctions.Api.Hosting;
using ImFunctions.Tests.Support;

namespace ImFunctions.Tests.Local;

public sealed class OpenApiTests
{
    [Test]
    public async Task Every_method_of_the_table_is_in_the_document_with_its_request_body_errors_and_auth()
    {
        await using var app = await TestApp.StartAsync();
        var document = JsonDocument.Parse(await app.Http.GetStringAsync("/openapi/v1.json")).RootElement;
        var paths = document.GetProperty("paths");
        var methods = UniImMethods.Create().ToList();
        Assert.That(paths.EnumerateObject().Select(p => p.Name), Is.EquivalentTo(methods.Select(m => "/api/" + m.Name)));

        foreach (var method in methods)
        {
            var post = paths.GetProperty("/api/" + method.Name).GetProperty("post");
            Assert.That(post.GetProperty("operationId").GetString(), Is.EqualTo(method.Name));
            Assert.That(post.GetProperty("requestBody").GetProperty("content").TryGetProperty("application/json", out _), method.Name);
            var responses = post.GetProperty("responses");
            Assert.That(responses.TryGetProperty("200", out _) && responses.TryGetProperty("400", out _) && responses.TryGetProperty("401", out _), method.Name);
            Assert.That(post.TryGetProperty("security", out _), Is.EqualTo(method.Access == Access.User), method.Name);
        }
        var sendMsg = paths.GetProperty("/api/sendMsg").GetProperty("post").GetProperty("requestBody").GetProperty("content")
            .GetProperty("application/json").GetProperty("schema").GetProperty("properties");
        Assert.That(sendMsg.EnumerateObject().Select(p => p.Name), Is.SupersetOf(new[] { "to_uid", "group_id", "appId", "type", "body", "client_msg_id", "about_msg_id" }));
        Assert.That(document.GetProperty("components").GetProperty("securitySchemes").GetProperty("bearer").GetProperty("scheme").GetString(), Is.EqualTo("bearer"));
    }

    [Test]
    public async Task The_interactive_reference_is_served_in_local_mode()
    {
        await using var app = await TestApp.StartAsync();
        var page = await app.Http.GetStringAsync("/scalar/v1");
        Assert.That(page, Does.Contain("openapi/v1.json").Or.Contain("scalar"));
    }
}
