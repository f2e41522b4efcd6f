using System.Reflection;
using ImFunctions.Api.Hosting;
using ImFunctions.Core.Push;
using ImFunctions.Core.Storage;

namespace ImFunctions.Api.Health;

/// <summary>
/// <c>GET /api/health</c>, anonymous: whether the store and the push service answer, and the version. Nothing else:
/// no settings, no secrets, no user data. 200 when both answer, 503 otherwise.
/// </summary>
public static class HealthApi
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);
    static readonly string Version =
        typeof(HealthApi).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    public static async Task WriteAsync(HttpContext context)
    {
        var services = context.RequestServices;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        timeout.CancelAfter(Timeout);
        var store = Probe(() => services.GetRequiredService<IImStore>().GetUserAsync("health-probe", timeout.Token));
        var push = Probe(() => services.GetRequiredService<IPushGateway>().UserExistsAsync("health-probe", timeout.Token));
        var (storeOk, pushOk) = (await store, await push);

        context.Response.StatusCode = storeOk && pushOk ? 200 : 503;
        if (!(storeOk && pushOk)) context.Response.Headers.RetryAfter = Failures.RetryAfterSeconds.ToString();
        await context.Response.WriteAsJsonAsync(new
        {
            status = storeOk && pushOk ? "ok" : "degraded",
            store = storeOk ? "ok" : "unavailable",
            push = pushOk ? "ok" : "unavailable",
            version = Version,
        }, context.RequestAborted);
    }

    static async Task<bool> Probe(Func<Task> call)
    {
        try
        {
            await call();
            return true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return false;
        }
    }
}
