using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.RateLimiting;
using ImFunctions.Api.Hosting;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Storage;

namespace ImFunctions.Api.Integrations;

/// <summary>The outcome of a signed call's checks: a refusal, or the user it acts as (none for server methods) and its body.</summary>
public sealed record SignedCall(IResult? Refusal, int Status, User? Caller, JsonElement Body);

/// <summary>
/// Server-to-server calls (SPEC §13): a trusted backend signs
/// <c>METHOD\nPATH\nTIMESTAMP\nNONCE\nACT_AS\nhex(SHA256(raw body))</c> with HMAC-SHA256 and one of the
/// <c>S2S:Keys</c>. The signature covers everything that decides what the call does, so a captured call cannot be
/// pointed at another method, user or body; the nonce, remembered in the store for the window, stops it being replayed.
/// A valid call acts as the named user with that user's stored roles: nothing in the headers can add a right.
/// </summary>
public sealed class ServerCalls : IDisposable
{
    public const string KeyIdHeader = "X-ImF-Key-Id", TimestampHeader = "X-ImF-Timestamp", NonceHeader = "X-ImF-Nonce",
        ActAsHeader = "X-ImF-Act-As", SignatureHeader = "X-ImF-Signature";
    const string ExtPrefix = "ext:";
    const int MaxNonceLength = 128, MinNonceLength = 16, MaxActAsLength = 200;

    readonly INonceStore nonces;
    readonly IImStore store;
    readonly UserDirectory users;
    readonly TimeProvider clock;
    readonly Dictionary<string, byte[]> keys;
    readonly PartitionedRateLimiter<string> perKey;

    public ServerCalls(S2SOptions options, INonceStore nonces, IImStore store, UserDirectory users, TimeProvider clock)
    {
        (this.nonces, this.store, this.users, this.clock) = (nonces, store, users, clock);
        keys = options.Keys.ToDictionary(k => k.Key, k => Encoding.UTF8.GetBytes(k.Value), StringComparer.Ordinal);
        perKey = PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.GetTokenBucketLimiter(key, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = options.Burst,
            TokensPerPeriod = options.PermitsPerSecond,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
        }));
    }

    /// <summary>A call that carries any of the signing headers is judged as a signed call, never as a token call.</summary>
    public static bool IsSigned(HttpRequest request) =>
        request.Headers.ContainsKey(KeyIdHeader) || request.Headers.ContainsKey(SignatureHeader);

    public static string Canonical(string method, string path, string timestamp, string nonce, string actAs, string bodySha256Hex) =>
        $"{method}\n{path}\n{timestamp}\n{nonce}\n{actAs}\n{bodySha256Hex}";

    public async Task<SignedCall> AuthenticateAsync(HttpContext context, Access access)
    {
        var request = context.Request;
        var ct = context.RequestAborted;
        if (!IsSigned(request))
            return Refuse(Unauthorized("This method takes only signed server-to-server calls (X-ImF-Key-Id, X-ImF-Signature, ...)."));

        var raw = await RequestBody.ReadRawAsync(request, ct);
        if (raw.Error is { } tooLarge) return Refuse(tooLarge);
        using var body = raw.Match(b => b, _ => null!);

        var verified = await VerifyAsync(request, SHA256.HashData(body.Bytes), ct);
        if (verified.Error is { } bad) return Refuse(bad);
        var (keyId, actAs) = verified.Match(v => v, _ => default);

        using (var lease = perKey.AttemptAcquire(keyId))
            if (!lease.IsAcquired)
                return new SignedCall(UniIm.Error(new ImError(429, ErrorCodes.RateLimited, $"Too many calls with key '{keyId}'; retry after the Retry-After delay."),
                    retryAfterSeconds: 1), 429, null, default);

        var parsed = RequestBody.Parse(request, body);
        if (parsed.Error is { } unreadable) return Refuse(unreadable);
        var json = parsed.Match(j => j, _ => default);

        switch (access)
        {
            case Access.User when actAs.Length == 0:
                return Refuse(ImError.InvalidParam(ActAsHeader, "names the user this call acts as (a uid or ext:<openid>); it is required for this method"));
            case Access.Server or Access.Anonymous when actAs.Length > 0:
                return Refuse(ImError.InvalidParam(ActAsHeader, "must be empty: this method acts as nobody"));
            case Access.Server or Access.Anonymous:
                return new SignedCall(null, 200, null, json);
        }

        var uid = actAs.StartsWith(ExtPrefix, StringComparison.Ordinal) ? await store.FindUidByExtUidAsync(actAs[ExtPrefix.Length..], ct) : actAs;
        var user = uid is null ? null : await users.GetAsync(uid, ct);
        return user is null
            ? Refuse(ImError.NotFound($"{ActAsHeader}: user '{actAs}' does not exist"))
            : new SignedCall(null, 200, user, json);
    }

    /// <summary>The key id and act-as of a call whose signature, timestamp and nonce all hold; the nonce is spent only then.</summary>
    async Task<Result<(string KeyId, string ActAs)>> VerifyAsync(HttpRequest request, byte[] bodyHash, CancellationToken ct)
    {
        string? One(string name) => request.Headers[name] is { Count: 1 } values ? values[0] : null;
        var (keyId, timestamp, nonce, signature) = (One(KeyIdHeader), One(TimestampHeader), One(NonceHeader), One(SignatureHeader));
        var actAs = request.Headers[ActAsHeader] is { Count: > 0 } a ? a.Count == 1 ? a[0] ?? "" : null : "";
        if (keyId is null || timestamp is null || nonce is null || signature is null || actAs is null)
            return Unauthorized($"A signed call needs exactly one each of {KeyIdHeader}, {TimestampHeader}, {NonceHeader} and {SignatureHeader}, and at most one {ActAsHeader}.");
        if (!keys.TryGetValue(keyId, out var key)) return Unauthorized($"{KeyIdHeader}: unknown key id.");
        if (!long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var sentAt))
            return Unauthorized($"{TimestampHeader}: must be epoch milliseconds.");
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        if (Math.Abs(now - sentAt) > S2SOptions.Window.TotalMilliseconds)
            return Unauthorized($"{TimestampHeader}: more than {S2SOptions.Window.TotalMinutes} minutes from the server's clock ({now}).");
        if (nonce.Length is < MinNonceLength or > MaxNonceLength || !nonce.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '~'))
            return Unauthorized($"{NonceHeader}: {MinNonceLength} to {MaxNonceLength} characters of A-Z a-z 0-9 - _ . ~ (e.g. a random UUID).");
        if (actAs.Length > MaxActAsLength) return Unauthorized($"{ActAsHeader}: longer than {MaxActAsLength} characters.");
        if (signature.Length != 64 || !signature.All(char.IsAsciiHexDigitLower))
            return Unauthorized($"{SignatureHeader}: must be 64 lowercase hex characters (HMAC-SHA256).");

        var path = request.PathBase.Add(request.Path).Value ?? "";
        var expected = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(
            Canonical(request.Method, path, timestamp, nonce, actAs, Convert.ToHexStringLower(bodyHash))));
        if (!CryptographicOperations.FixedTimeEquals(expected, Convert.FromHexString(signature)))
            return Unauthorized($"{SignatureHeader}: does not match (sign METHOD, PATH, TIMESTAMP, NONCE, ACT_AS and the body's SHA-256, one per line).");

        // Remembered until the timestamp leaves the window: after that the timestamp check refuses a replay by itself.
        if (!await nonces.TryRememberNonceAsync($"{keyId}:{nonce}", DateTimeOffset.FromUnixTimeMilliseconds(sentAt) + S2SOptions.Window, ct))
            return Unauthorized($"{NonceHeader}: already used (a replayed call).");
        return (keyId, actAs);
    }

    static ImError Unauthorized(string why) => new(401, ErrorCodes.SignatureInvalid, why);
    static SignedCall Refuse(ImError error) => new(UniIm.Error(error), error.Status, null, default);

    public void Dispose() => perKey.Dispose();
}
