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
