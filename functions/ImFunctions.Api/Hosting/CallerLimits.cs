using System.Net;
using System.Threading.RateLimiting;
using ImFunctions.Core.Domain;

namespace ImFunctions.Api.Hosting;

/// <summary>Setting section RateLimit: a token bucket per user, and one per client address for calls without a user.</summary>
public sealed class RateLimitOptions
{
    public int PermitsPerSecond { get; set; } = 20;
    public int Burst { get; set; } = 100;
    /// <summary>Per client address: anonymous calls (logins), bad tokens and failed logins.</summary>
    public int AddressPermitsPerSecond { get; set; } = 5;
    public int AddressBurst { get; set; } = 50;
    /// <summary>
    /// The header a trusted front end puts the client's address in (Azure: <c>X-Forwarded-For</c>). Unset, the
    /// connection's own address is used: a header anyone can send is never trusted unless configured.
    /// </summary>
    public string? ForwardedForHeader { get; set; }
}

/// <summary>
/// Who is charged for a call: a known user pays from their own bucket; anything else from its client address,
/// so a flood of forged logins from one address cannot block logins from another. Over a limit: 429 + Retry-After.
/// </summary>
public sealed class CallerLimits : IDisposable
{
    /// <summary>A failed login or a bad token costs this many permits; a good call costs one.</summary>
    public const int FailedAttemptCost = 5;

    readonly RateLimitOptions options;
    readonly PartitionedRateLimiter<string> perUser, perAddress;

    public CallerLimits(RateLimitOptions options)
    {
        this.options = options;
        perUser = Buckets(options.PermitsPerSecond, options.Burst);
        perAddress = Buckets(options.AddressPermitsPerSecond, options.AddressBurst);
    }

    public IResult? TryAcquireForUser(string uid) => Answer(perUser.AttemptAcquire(uid));

    public IResult? TryAcquireForAddress(HttpContext context, int cost) =>
        Answer(perAddress.AttemptAcquire(ClientAddress(context), Math.Min(cost, options.AddressBurst)));

    /// <summary>
    /// The rightmost entry of the trusted header is the one the front end added; entries left of it are the client's say.
    /// App Service may write it with the client's port (<c>203.0.113.7:51234</c>): the address alone is charged, or every
    /// new connection would be a fresh bucket.
    /// </summary>
    public string ClientAddress(HttpContext context)
    {
        if (options.ForwardedForHeader is { Length: > 0 } header &&
            context.Request.Headers[header].ToString().Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) is { Length: > 0 } hops &&
            IPEndPoint.TryParse(hops[^1], out var forwarded))
            return forwarded.Address.ToString();
        return context.Connection.RemoteIpAddress?.ToString() ?? "";
    }

    static IResult? Answer(RateLimitLease lease)
    {
        using (lease)
        {
            if (lease.IsAcquired) return null;
            var wait = lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromSeconds(1);
            return UniIm.Error(new ImError(429, ErrorCodes.RateLimited, "Too many requests; retry after the Retry-After delay."),
                retryAfterSeconds: Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)));
        }
    }

    static PartitionedRateLimiter<string> Buckets(int perSecond, int burst) =>
        PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.GetTokenBucketLimiter(key, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = burst,
            TokensPerPeriod = perSecond,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
        }));

    public void Dispose()
    {
        perUser.Dispose();
        perAddress.Dispose();
    }
}
