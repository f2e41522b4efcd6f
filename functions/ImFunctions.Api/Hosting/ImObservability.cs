using Azure.Monitor.OpenTelemetry.Exporter;
using ImFunctions.Core.Telemetry;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace ImFunctions.Api.Hosting;

/// <summary>
/// OpenTelemetry for both hosts: our spans (a method span with store events, push dependency spans) and meters.
/// Azure Monitor when APPLICATIONINSIGHTS_CONNECTION_STRING is set, OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is,
/// otherwise collected and dropped. No ASP.NET Core or HttpClient instrumentation: those record URLs, query
/// strings (the hub's access_token) and client addresses, which must not leave the process.
/// </summary>
public static class ImObservability
{
    public static OpenTelemetryBuilder AddImObservability(this IServiceCollection services, IConfiguration config)
    {
        var otel = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(ImDiagnostics.Name))
            // ASP.NET Core starts an unsampled activity for every request when nobody listens to it (we do not, on
            // purpose); the default ParentBased sampler would drop our spans under it. Upstream decisions still hold.
            .WithTracing(tracing => tracing.AddSource(ImDiagnostics.Name)
                .SetSampler(new ParentBasedSampler(new AlwaysOnSampler(), localParentNotSampled: new AlwaysOnSampler())))
            .WithMetrics(metrics => metrics.AddMeter(ImDiagnostics.Name, ImDiagnostics.Name + ".*"));
        if (!string.IsNullOrEmpty(config["APPLICATIONINSIGHTS_CONNECTION_STRING"]))
            otel.UseAzureMonitorExporter(monitor =>
            {
                monitor.ConnectionString = config["APPLICATIONINSIGHTS_CONNECTION_STRING"];
                // The template turns key ingestion off: the app's identity (AZURE_CLIENT_ID) signs its telemetry.
                if (!string.IsNullOrEmpty(config["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]))
                    monitor.Credential = new Azure.Identity.DefaultAzureCredential();
            });
        else if (!string.IsNullOrEmpty(config["OTEL_EXPORTER_OTLP_ENDPOINT"]))
            otel.UseOtlpExporter();
        return otel;
    }
}
