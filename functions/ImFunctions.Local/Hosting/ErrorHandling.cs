using System.Diagnostics;
using ImFunctions.Api.Hosting;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Storage;

namespace ImFunctions.Local.Hosting;

/// <summary>
/// For the routes around the uni-im methods (the local hub's REST API, unknown paths): the same envelope for errors
/// and the same one log line as <see cref="ImPipeline"/> gives the methods themselves.
/// </summary>
public sealed class ErrorHandling(RequestDelegate next, ILogger<ErrorHandling> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<ImMethod>() is not null)
        {
            await next(context);   // the pipeline answers and logs for itself
            return;
        }
        var started = Stopwatch.GetTimestamp();
        using var meter = StoreMeter.Start();
        try
        {
            await next(context);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
        }
        catch (Exception e) when (!context.Response.HasStarted)
        {
            var error = e is BadHttpRequestException { StatusCode: 415 }
                ? new ImError(415, ErrorCodes.InvalidParam, "Content-Type must be application/json.")
                : Failures.Classify(e);
            if (error.Status >= 500) logger.LogError(e, "Unhandled error in {Route}", RouteOf(context));
            context.Response.Clear();
            await UniIm.WriteErrorAsync(context, error);
        }
        finally
        {
            RequestLog.Write(logger, RouteOf(context), context, started, meter.Meter);
        }
    }

    // The route pattern, not the raw path: paths may carry user ids (hub REST calls).
    static string RouteOf(HttpContext context) =>
        (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "(no route)";
}

public static class EnvelopeStatusPages
{
    /// <summary>Bare status answers from routing and body reading (404, 405, 413, 415), in the envelope too.</summary>
    public static Task Answer(HttpContext context)
    {
        var status = context.Response.StatusCode;
        if (context.Response.HasStarted || context.Response.ContentLength > 0 || context.WebSockets.IsWebSocketRequest) return Task.CompletedTask;
        var error = status switch
        {
            404 => ImError.NotFound("No such method."),
            405 => new ImError(405, ErrorCodes.InvalidParam, "Use POST with a JSON body."),
            413 => RequestBody.TooLarge,
            415 => new ImError(415, ErrorCodes.InvalidParam, "Content-Type must be application/json."),
            _ => new ImError(status, status >= 500 ? ErrorCodes.Internal : ErrorCodes.InvalidParam, "The request was refused."),
        };
        return UniIm.WriteErrorAsync(context, error);
    }
}

/// <summary>Endpoint metadata that makes Kestrel stop reading a body past the limit (answered 413).</summary>
public sealed class RequestSizeLimitMetadata(long limit) : Microsoft.AspNetCore.Http.Metadata.IRequestSizeLimitMetadata
{
    public long? MaxRequestBodySize => limit;
}
