using System.Text.Json;
using ImFunctions.Core.Domain;

namespace ImFunctions.Api.Hosting;

/// <summary>
/// The one place unexpected outcomes become uni-im envelopes: unreadable bodies (400/413/415), dependencies that
/// stayed down (503 + Retry-After) and bugs (500, logged, never with a stack trace in the response).
/// </summary>
public sealed class ErrorHandling(RequestDelegate next, ILogger<ErrorHandling> logger)
{
    public const int RetryAfterSeconds = 5;

    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nobody is left to answer.
        }
        catch (Exception e) when (!context.Response.HasStarted)
        {
            var error = Classify(e);
            if (error.Status >= 500 && e is not DependencyUnavailableException)
                logger.LogError(e, "Unhandled error in {Path}", context.Request.Path.Value);
            else if (e is DependencyUnavailableException unavailable)
                logger.LogWarning("Dependency unavailable: {Dependency}", unavailable.Dependency);
            context.Response.Clear();
            if (error.Status == 503) context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString();
            await UniIm.WriteErrorAsync(context, error);
        }
    }

    static ImError Classify(Exception e) => e switch
    {
        BadHttpRequestException { StatusCode: 413 } => EnvelopeStatusPages.TooLarge,
        BadHttpRequestException { StatusCode: 415 } => new ImError(415, ErrorCodes.InvalidParam, "Content-Type must be application/json."),
        BadHttpRequestException { InnerException: JsonException json } => ImError.InvalidParam(FieldOf(json), "is malformed or has the wrong type"),
        BadHttpRequestException => ImError.InvalidParam("body", "must be a JSON object"),
        DependencyUnavailableException d => ImError.Unavailable($"{d.Dependency} is unavailable; retry later."),
        _ => new ImError(500, ErrorCodes.Internal, "Internal error."),
    };

    static string FieldOf(JsonException e) =>
        e.Path is null or "$" ? "body" : e.Path.StartsWith("$.") ? e.Path[2..] : e.Path.TrimStart('$');
}

public static class Limits
{
    /// <summary>A whole request over this is refused before it is parsed (SPEC §4).</summary>
    public const int MaxRequestBytes = 64 * 1024;
}

/// <summary>Endpoint metadata that makes Kestrel stop reading a body past the limit (answered 413).</summary>
public sealed class RequestSizeLimitMetadata(long limit) : Microsoft.AspNetCore.Http.Metadata.IRequestSizeLimitMetadata
{
    public long? MaxRequestBodySize => limit;
}

public static class EnvelopeStatusPages
{
    public static readonly ImError TooLarge = new(413, ErrorCodes.TooLarge, $"The request body is larger than {Limits.MaxRequestBytes / 1024} KB.");

    /// <summary>Bare status answers from routing and body binding (404, 405, 413, 415), in the envelope too.</summary>
    public static Task Answer(HttpContext context)
    {
        var status = context.Response.StatusCode;
        if (context.Response.HasStarted || context.Response.ContentLength > 0 || context.WebSockets.IsWebSocketRequest) return Task.CompletedTask;
        var error = status switch
        {
            404 => ImError.NotFound("No such method."),
            405 => new ImError(405, ErrorCodes.InvalidParam, "Use POST with a JSON body."),
            413 => TooLarge,
            415 => new ImError(415, ErrorCodes.InvalidParam, "Content-Type must be application/json."),
            _ => new ImError(status, status >= 500 ? ErrorCodes.Internal : ErrorCodes.InvalidParam, "The request was refused."),
        };
        return UniIm.WriteErrorAsync(context, error);
    }
}
