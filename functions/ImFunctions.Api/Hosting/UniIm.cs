using System.Text.Json;
using ImFunctions.Core.Domain;

namespace ImFunctions.Api.Hosting;

/// <summary>
/// uni-im's response envelope, produced here and nowhere else: <c>{errCode:0, errMsg:"", data, newToken?}</c> on
/// success, <c>{errCode, errMsg, errSubject:"uni-im-co"}</c> with a real HTTP status on failure.
/// </summary>
public static class UniIm
{
    const string ErrSubject = "uni-im-co";
    const string NewTokenItem = "im.newToken", ErrCodeItem = "im.errCode";

    public static IResult Ok(object? data = null) => new EnvelopeResult(200, null, data);
    public static IResult Error(ImError error) => new EnvelopeResult(error.Status, error, null);
    public static IResult Error(ImError error, int retryAfterSeconds) => new EnvelopeResult(error.Status, error, null, retryAfterSeconds);

    /// <summary>Attaches a renewed (or freshly issued) token to this request's response.</summary>
    public static void SetNewToken(HttpContext context, IssuedToken token) => context.Items[NewTokenItem] = token;

    public static string? ErrCodeOf(HttpContext context) => context.Items[ErrCodeItem] as string;

    /// <summary>The token to hand back with this response, for results that write their own envelope (a streamed export).</summary>
    public static IssuedToken? NewTokenOf(HttpContext context) => context.Items[NewTokenItem] as IssuedToken;

    /// <summary>Marks the response as a success for the log line, for results that write their own envelope.</summary>
    public static void MarkOk(HttpContext context) => context.Items[ErrCodeItem] = "0";

    public static Task WriteErrorAsync(HttpContext context, ImError error) => Error(error).ExecuteAsync(context);

    public sealed class EnvelopeResult(int status, ImError? error, object? data, int? retryAfterSeconds = null) : IResult
    {
        public int Status => status;
        public ImError? Error => error;

        public async Task ExecuteAsync(HttpContext context)
        {
            context.Response.StatusCode = status;
            if (retryAfterSeconds is { } wait) context.Response.Headers.RetryAfter = wait.ToString();
            context.Response.ContentType = "application/json; charset=utf-8";
            context.Items[ErrCodeItem] = error?.Code ?? "0";
            await using var json = new Utf8JsonWriter(context.Response.BodyWriter, new JsonWriterOptions { Encoder = ImJson.Options.Encoder });
            json.WriteStartObject();
            if (error is null)
            {
                json.WriteNumber("errCode", 0);
                json.WriteString("errMsg", "");
                json.WritePropertyName("data");
                JsonSerializer.Serialize(json, data, ImJson.Options);
                if (context.Items[NewTokenItem] is IssuedToken token)
                {
                    json.WriteStartObject("newToken");
                    json.WriteString("token", token.Token);
                    json.WriteNumber("tokenExpired", token.ExpiresAt.ToUnixTimeMilliseconds());
                    json.WriteEndObject();
                }
            }
            else
            {
                // uni-im's numeric codes (40001, 4000, 1, 2) stay numbers; its named codes stay strings.
                if (int.TryParse(error.Code, out var numeric)) json.WriteNumber("errCode", numeric);
                else json.WriteString("errCode", error.Code);
                json.WriteString("errMsg", error.Message);
                json.WriteString("errSubject", ErrSubject);
            }
            json.WriteEndObject();
            await json.FlushAsync(context.RequestAborted);
        }
    }
}

public sealed record IssuedToken(string Token, DateTimeOffset ExpiresAt);
