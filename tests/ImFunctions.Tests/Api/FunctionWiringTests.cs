using System.Reflection;
using System.Text.Json;
using ImFunctions.Api;
using ImFunctions.Api.Hosting;
using ImFunctions.Tests.Support;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace ImFunctions.Tests.Api;

/// <summary>Both hosts serve exactly the method table: the local host's routes and the worker's function metadata.</summary>
public sealed class FunctionWiringTests
{
    static readonly string[] Methods = UniImMethods.Create().Select(m => m.Name).Order(StringComparer.Ordinal).ToArray();

    [Test]
    public async Task The_local_host_serves_every_method_at_post_api_name()
    {
        await using var app = await TestApp.StartAsync();
        var routes = app.App.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<ImMethod>() is not null)
            .Select(e => e.RoutePattern.RawText!["/api/".Length..])
            .Order(StringComparer.Ordinal).ToArray();

        Assert.That(routes, Is.EqualTo(Methods));
    }

    [Test]
    public void The_workers_metadata_declares_every_method_as_an_anonymous_post_function_of_its_own_name()
    {
        using var metadata = JsonDocument.Parse(File.ReadAllText(Path.Combine(FunctionsWorker.Directory, "functions.metadata")));
        var triggers = metadata.RootElement.EnumerateArray()
            .Select(f => (Name: f.GetProperty("name").GetString()!, Trigger: f.GetProperty("bindings").EnumerateArray().Single(b => b.GetProperty("type").GetString() == "httpTrigger")))
            .Where(f => f.Name != "health")
            .ToList();

        Assert.That(triggers.Select(t => t.Name).Order(StringComparer.Ordinal), Is.EqualTo(Methods));
        foreach (var (name, trigger) in triggers)
        {
            Assert.That(name, Does.Match("^[a-zA-Z][a-zA-Z0-9_-]{0,127}$"), "the host's function name rule");
            Assert.That(trigger.GetProperty("authLevel").GetString(), Is.EqualTo("Anonymous"), name);
            Assert.That(trigger.GetProperty("methods").EnumerateArray().Select(m => m.GetString()), Is.EqualTo(new[] { "post" }), name);
            Assert.That(trigger.GetProperty("route").GetString(), Is.EqualTo(name), name);
        }
    }

    [Test]
    public async Task The_readiness_probe_GET_slash_answers_without_a_token()
    {
        await using var app = await TestApp.StartAsync();
        using var response = await app.Http.GetAsync("/");
        Assert.That((int)response.StatusCode, Is.EqualTo(200));
    }

    [Test]
    public async Task Health_says_store_and_push_are_reachable_and_nothing_more()
    {
        await using var app = await TestApp.StartAsync();
        using var response = await app.Http.GetAsync("/api/health");
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.That((int)response.StatusCode, Is.EqualTo(200), body.ToString());
        Assert.That(body.EnumerateObject().Select(p => p.Name), Is.EquivalentTo(new[] { "status", "store", "push", "version" }));
        Assert.That((body.GetProperty("store").GetString(), body.GetProperty("push").GetString()), Is.EqualTo(("ok", "ok")));
    }
}

/// <summary>Where the test project's build put the Functions worker (see the AssemblyMetadata in the csproj).</summary>
public static class FunctionsWorker
{
    public static string Directory =>
        typeof(FunctionsWorker).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "FunctionsWorkerDirectory").Value!;
}
