using ImFunctions.Api.Integrations;

namespace ImFunctions.Api.Hosting;

public sealed partial class ImPipeline
{
    /// <summary>
    /// A signed server-to-server call (or any call of a server-only method): <see cref="ServerCalls"/> checks the
    /// signature over the raw body and finds the user it acts as; then the method runs as for that user's own token.
    /// </summary>
    async Task<IResult> RunSignedAsync(HttpContext context, ImMethod method)
    {
        var signed = await context.RequestServices.GetRequiredService<ServerCalls>().AuthenticateAsync(context, method.Access);
        if (signed.Refusal is { } refused)
            // Like a bad token, a bad signature is charged to the caller's address, so guessing is not free.
            return signed.Status == 401 ? limits.TryAcquireForAddress(context, CallerLimits.FailedAttemptCost) ?? refused : refused;
        return await method.InvokeAsync(new ImCall(context, signed.Caller, signed.Body));
    }
}
