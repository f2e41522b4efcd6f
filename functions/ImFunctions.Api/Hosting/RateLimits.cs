using System.Threading.RateLimiting;
using ImFunctions.Core.Domain;
using Microsoft.AspNetCore.RateLimiting;

namespace ImFunctions.Api.Hosting;

/// <summary>A token bucket per user (setting section RateLimit); over it: 429 with Retry-After.</summary>
public sealed class RateLimitOptions
{
    public const string PerUser = "per-user";
    public int PermitsPerSecond { get; set; } = 20;
    public int Burst { get; set; } = 100;
}

public static class RateLimits
{
    public static IServiceCollection AddPerUserRateLimit(this IServiceCollection services, RateLimitOptions options) =>
        services.AddRateLimiter(limiter =>
        {
            limiter.AddPolicy(RateLimitOptions.PerUser, context => RateLimitPartition.GetTokenBucketLimiter(
                context.User.FindFirst("sub")?.Value ?? "",
                _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = options.Burst,
                    TokensPerPeriod = options.PermitsPerSecond,
                    ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                    QueueLimit = 0,
                }));
            limiter.OnRejected = async (rejected, _) =>
            {
                var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
                rejected.HttpContext.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString();
                await UniIm.WriteErrorAsync(rejected.HttpContext,
                    new ImError(429, ErrorCodes.RateLimited, "Too many requests; retry after the Retry-After delay."));
            };
        });
}
