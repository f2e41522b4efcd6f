using System.Diagnostics;
using System.Text.Json;
using ImFunctions.Api.Auth;
using ImFunctions.Api.Integrations;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Storage;

namespace ImFunctions.Api.Hosting;

/// <summary>
/// Everything between an HTTP request and a feature's handler, in one place so both hosts behave the same:
/// the caller's token, rate limits, the body (size, type, UTF-8, JSON), the envelope for every outcome and the
/// one log line. The local host maps <c>POST /api/{method}</c> here; each Azure Function is one call into it.
/// </summary>
public sealed partial class ImPipeline(ImMethodTable methods, CallerAuthentication authentication, CallerLimits limits,
    ILogger<ImPipeline> logger)
{
    public ImMethodTable Methods => methods;

    public async Task InvokeAsync(HttpContext context, string methodName)
    {
        var started = Stopwatch.GetTimestamp();
        using var meter = StoreMeter.Start();
        using var activity = ImTelemetry.StartMethod(methodName);
        try
        {
            var result = await RunAsync(context, methods[methodName]);
            await result.ExecuteAsync(context);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nobody is left to answer.
        }
        catch (Exception e) when (!context.Response.HasStarted)
        {
            var error = Failures.Classify(e);
            if (e is DependencyUnavailableException unavailable)
                logger.LogWarning("Dependency unavailable: {Dependency}", unavailable.Dependency);
            else if (error.Status >= 500)
                logger.LogError(e, "Unhandled error in {Method}", methodName);
            context.Response.Clear();
            if (error.Status == 503) context.Response.Headers.RetryAfter = Failures.RetryAfterSeconds.ToString();
            await UniIm.WriteErrorAsync(context, error);
        }
        finally
        {
            RequestLog.Write(logger, methodName, context, started, meter.Meter);
            ImTelemetry.EndMethod(activity, context, meter.Meter);
        }
    }

    async Task<IResult> RunAsync(HttpContext context, ImMethod method)
    {
        if (!HttpMethods.IsPost(context.Request.Method))
            return UniIm.Error(new ImError(405, ErrorCodes.InvalidParam, "Use POST with a JSON body."));

        if (method.Access == Access.Server || ServerCalls.IsSigned(context.Request))
            return await RunSignedAsync(context, method);

        User? caller = null;
        if (method.Access == Access.User)
        {
            var authenticated = await authentication.AuthenticateAsync(context);
            if (authenticated.Error is { } denied)
                // A bad token is charged to the caller's address, so guessing tokens is not free.
                return limits.TryAcquireForAddress(context, CallerLimits.FailedAttemptCost) ?? UniIm.Error(denied);
            caller = authenticated.Match(u => u, _ => null!);
            // An account being deleted can only be finished (a retry after a crash), never used.
            if (caller.Deletion is not null && method.Name != Accounts.AccountsApi.DeleteAccount)
                return UniIm.Error(new ImError(401, ErrorCodes.TokenInvalid, "The token has been revoked."));
            if (limits.TryAcquireForUser(caller.Id) is { } limited) return limited;
        }
        else if (limits.TryAcquireForAddress(context, 1) is { } limited)
        {
            return limited;
        }

        var body = await RequestBody.ReadAsync(context.Request, context.RequestAborted);
        if (body.Error is { } unreadable) return UniIm.Error(unreadable);

        var result = await method.InvokeAsync(new ImCall(context, caller, body.Match(b => b, _ => default)));
        // Failed anonymous attempts (forged logins) cost more than good ones.
        if (method.Access == Access.Anonymous && result is UniIm.EnvelopeResult { Status: 401 })
            limits.TryAcquireForAddress(context, CallerLimits.FailedAttemptCost - 1);
        return result;
    }
}

/// <summary>The one place unexpected outcomes become envelopes: 503 + Retry-After for dependencies, 500 for bugs.</summary>
public static class Failures
{
    public const int RetryAfterSeconds = 5;

    public static ImError Classify(Exception e) => e switch
    {
        JsonException json => ImError.InvalidParam(FieldOf(json), "is malformed or has the wrong type"),
        BadHttpRequestException { StatusCode: 413 } => RequestBody.TooLarge,
        BadHttpRequestException => ImError.InvalidParam("body", "could not be read"),
        DependencyUnavailableException d => ImError.Unavailable($"{d.Dependency} is unavailable; retry later."),
        _ => new ImError(500, ErrorCodes.Internal, "Internal error."),
    };

    static string FieldOf(JsonException e) =>
        e.Path is null or "$" ? "body" : e.Path.StartsWith("$.") ? e.Path[2..] : e.Path.TrimStart('$');
}
