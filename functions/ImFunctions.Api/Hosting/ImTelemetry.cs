using System.Diagnostics;
using ImFunctions.Core.Storage;
using ImFunctions.Core.Telemetry;

namespace ImFunctions.Api.Hosting;

/// <summary>The span every method call gets; <see cref="ImObservability"/> exports it.</summary>
public static class ImTelemetry
{
    public const string SourceName = ImDiagnostics.Name;
    public static ActivitySource Source => ImDiagnostics.Source;

    public static Activity? StartMethod(string method) => Source.StartActivity(method, ActivityKind.Server);

    public static void EndMethod(Activity? activity, HttpContext context, StoreMeter store)
    {
        if (activity is null) return;
        activity.SetTag("http.response.status_code", context.Response.StatusCode);
        activity.SetTag("imf.err_code", UniIm.ErrCodeOf(context));
        activity.SetTag("imf.store.point_reads", store.PointReads);
        activity.SetTag("imf.store.queries", store.Queries);
        activity.SetTag("imf.store.writes", store.Writes);
        activity.SetTag("imf.store.request_charge", store.RequestCharge);
        activity.SetTag("imf.pushes", store.Pushes);
        if (context.Response.StatusCode >= 500) activity.SetStatus(ActivityStatusCode.Error);
    }
}
