using System.Diagnostics;
using ImFunctions.Core.Storage;

namespace ImFunctions.Api.Hosting;

/// <summary>
/// One structured line per request: method, status, errCode, duration, the store work it caused and the pushes it queued.
/// Never the body, query string, headers or client address: they carry tokens and personal data.
/// </summary>
public static class RequestLog
{
    public static void Write(ILogger logger, string method, HttpContext context, long startedTimestamp, StoreMeter store) =>
        logger.LogInformation(
            "{Method} {Status} {ErrCode} in {ElapsedMs:0.0} ms; store: {PointReads} reads, {Queries} queries, {Writes} writes, {RequestCharge:0.##} RU; pushes: {Pushes}",
            method, context.Response.StatusCode, UniIm.ErrCodeOf(context) ?? "-",
            Stopwatch.GetElapsedTime(startedTimestamp).TotalMilliseconds, store.PointReads, store.Queries, store.Writes, store.RequestCharge,
            store.Pushes);
}
