using System.Diagnostics;
using ImFunctions.Core.Storage;

namespace ImFunctions.Api.Hosting;

/// <summary>
/// One structured line per request: method, status, errCode, duration and the store work it caused.
/// Never the body, query string, headers or client address: they carry tokens and personal data.
/// </summary>
public sealed class RequestLog(RequestDelegate next, ILogger<RequestLog> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var started = Stopwatch.GetTimestamp();
        using var meter = StoreMeter.Start();
        try
        {
            await next(context);
        }
        finally
        {
            var store = meter.Meter;
            logger.LogInformation(
                "{Method} {Status} {ErrCode} in {ElapsedMs:0.0} ms; store: {PointReads} reads, {Queries} queries, {Writes} writes, {RequestCharge:0.##} RU",
                MethodName(context), context.Response.StatusCode, UniIm.ErrCodeOf(context) ?? "-",
                Stopwatch.GetElapsedTime(started).TotalMilliseconds, store.PointReads, store.Queries, store.Writes, store.RequestCharge);
        }
    }

    // The route pattern, not the raw path: paths may carry user ids (hub REST calls).
    static string MethodName(HttpContext context) =>
        (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? context.Request.Path.Value?.Split('/').ElementAtOrDefault(1) ?? "/";
}
