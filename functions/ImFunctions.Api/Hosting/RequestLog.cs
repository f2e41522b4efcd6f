using System.Diagnostics;
using ImFunctions.Core.Storage;

namespace ImFunctions.Api.Hosting;

/// <summary>
/// One structured line per request: method, status, errCode, duration, the store work it caused and the pushes it queued.
/// Never the body, query string, headers or client address: they carry tokens and personal data.
/// </summary>
public static partial class RequestLog
{
    public static void Write(ILogger logger, string method, HttpContext context, long startedTimestamp, StoreMeter store)
    {
        if (!logger.IsEnabled(LogLevel.Information)) return;
        Line(logger, method, context.Response.StatusCode, UniIm.ErrCodeOf(context) ?? "-",
            Stopwatch.GetElapsedTime(startedTimestamp).TotalMilliseconds, store.PointReads, store.Queries, store.Writes, store.RequestCharge,
            store.Pushes);
    }

    // Generated: no params array, no boxing until a provider reads the values; the bench reads them as the line's State.
    [LoggerMessage(EventId = 0, Level = LogLevel.Information,
        Message = "{Method} {Status} {ErrCode} in {ElapsedMs:0.0} ms; store: {PointReads} reads, {Queries} queries, {Writes} writes, {RequestCharge:0.##} RU; pushes: {Pushes}")]
    static partial void Line(ILogger logger, string method, int status, string errCode, double elapsedMs, int pointReads, int queries,
        int writes, double requestCharge, int pushes);
}
