using System.Text.Json;
using ImFunctions.Api.Hosting;
using ImFunctions.Local;
using ImFunctions.Tests.Support;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace ImFunctions.Tests.Api;

/// <summary>
/// The Azure Functions host only forwards what function.json files declare, and only when each is HTTP-only:
/// these checks stand in for running the host (it cannot be installed here).
/// </summary>
public sealed class FunctionWiringTests
{
    static readonly string Root = FindRepoRoot();

    static IEnumerable<string> FunctionFolders() =>
        Directory.GetDirectories(Path.Combine(Root, "functions")).Where(d => File.Exists(Path.Combine(d, "function.json")));

    [Test]
    public async Task Function_json_files_and_the_apps_uni_im_routes_agree_in_both_directions()
    {
        await using var app = await TestApp.StartAsync();
        var routes = app.App.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<ImMethod>() is not null)
            .Select(e => e.RoutePattern.RawText!.TrimStart('/'))
            .Order().ToArray();
        var declared = FunctionFolders().Select(d => "api/" + Path.GetFileName(d)).Order().ToArray();

        Assert.That(routes, Is.EqualTo(declared));
    }

    [Test]
    public void Every_function_json_is_http_only_anonymous_post_routed_to_its_own_name()
    {
        Assert.That(FunctionFolders(), Is.Not.Empty);
        foreach (var folder in FunctionFolders())
        {
            var name = Path.GetFileName(folder);
            Assert.That(name, Does.Match("^[a-zA-Z][a-zA-Z0-9_-]{0,127}$"), "the host's function name rule");
            using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "function.json")));
            var bindings = json.RootElement.GetProperty("bindings").EnumerateArray().ToArray();
            Assert.That(bindings, Has.Length.EqualTo(2), name);
            var trigger = bindings.Single(b => b.GetProperty("direction").GetString() == "in");
            var output = bindings.Single(b => b.GetProperty("direction").GetString() == "out");
            Assert.That(trigger.GetProperty("type").GetString(), Is.EqualTo("httpTrigger"), name);
            Assert.That(trigger.GetProperty("authLevel").GetString(), Is.EqualTo("anonymous"), name);
            Assert.That(trigger.GetProperty("methods").EnumerateArray().Select(m => m.GetString()), Is.EqualTo(new[] { "post" }), name);
            Assert.That(trigger.GetProperty("route").GetString(), Is.EqualTo(name), name);
            Assert.That(output.GetProperty("type").GetString(), Is.EqualTo("http"), name);
        }
    }

    [Test]
    public void Host_json_forwards_http_requests_to_the_handler_executable()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, "host.json")));
        var handler = json.RootElement.GetProperty("customHandler");
        Assert.That(handler.GetProperty("enableForwardingHttpRequest").GetBoolean(), Is.True);
        Assert.That(handler.GetProperty("description").GetProperty("defaultExecutablePath").GetString(),
            Is.EqualTo("bin/" + typeof(ImFunctionsApp).Assembly.GetName().Name));
    }

    [Test]
    public async Task The_readiness_probe_GET_slash_answers_without_a_token()
    {
        await using var app = await TestApp.StartAsync();
        using var response = await app.Http.GetAsync("/");
        Assert.That((int)response.StatusCode, Is.EqualTo(200));
    }

    static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "host.json")) && File.Exists(Path.Combine(dir.FullName, "ImFunctions.sln")))
                return dir.FullName;
        throw new DirectoryNotFoundException("repository root not found");
    }
}
