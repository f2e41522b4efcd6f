namespace ImFunctions.Core.Domain;

/// <summary>An expected failure, as uni-im clients read it: an errCode, a message and the HTTP status that carries them.</summary>
public sealed record ImError(int Status, string Code, string Message)
{
    public static ImError InvalidParam(string field, string problem) => new(400, ErrorCodes.InvalidParam, $"{field}: {problem}");
    public static ImError NotFound(string what) => new(404, ErrorCodes.NotFound, what);
    public static ImError NoPermission(string why) => new(403, ErrorCodes.NoPermission, why);
    public static ImError Conflict(string why) => new(409, ErrorCodes.Conflict, why);
    public static ImError Unavailable(string why) => new(503, ErrorCodes.Unavailable, why);
}

public static class ErrorCodes
{
    public const string InvalidParam = "uni-im-invalid-param";
    public const string NotFound = "uni-im-not-found";
    public const string NoPermission = "uni-im-no-permission";
    public const string Conflict = "uni-im-conflict";
    public const string TooLarge = "uni-im-too-large";
    public const string RateLimited = "uni-im-rate-limited";
    public const string Unavailable = "uni-im-unavailable";
    public const string TokenInvalid = "uni-id-check-token-failed";
    public const string TokenExpired = "uni-id-token-expired";
    public const string AdminOnly = "40001";
    public const string LegacyJwtInvalid = "1";
    public const string LegacyJwtNoOpenid = "2";
    public const string JwtSecretEmpty = "4000";
    public const string JwtSecretDemo = "4100";
    public const string Internal = "uni-im-internal";
    /// <summary>A server-to-server call whose signature, key id, timestamp or nonce does not hold (401).</summary>
    public const string SignatureInvalid = "uni-im-signature-invalid";
}

/// <summary>A value or an <see cref="ImError"/>: expected outcomes are returned, not thrown.</summary>
public readonly struct Result<T>
{
    readonly T? value;
    public ImError? Error { get; }

    Result(T? value, ImError? error) => (this.value, Error) = (value, error);

    public static Result<T> Ok(T value) => new(value, null);
    public static implicit operator Result<T>(T value) => new(value, null);
    public static implicit operator Result<T>(ImError error) => new(default, error);

    public TOut Match<TOut>(Func<T, TOut> ok, Func<ImError, TOut> failed) => Error is null ? ok(value!) : failed(Error);
}

/// <summary>Thrown by adapters when a dependency stays down after retries; the API turns it into 503 + Retry-After.</summary>
public sealed class DependencyUnavailableException(string dependency, Exception? inner = null)
    : Exception($"{dependency} is unavailable", inner)
{
    public string Dependency { get; } = dependency;
}
