using ImFunctions.Core.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ImFunctions.Core.Accounts;

/// <summary>
/// UniIm:MessageTtl on a store that does not expire items itself (SQLite): every <see cref="AccountOptions.SweepInterval"/>
/// it deletes what has outlived the TTL, in bounded batches so the writer is never held long. On Cosmos the
/// container's TTL does the work and each sweep finds nothing to do.
/// </summary>
public sealed class MessageRetention(IAccountStore accounts, AccountOptions options, TimeProvider clock, ILogger<MessageRetention> logger)
    : BackgroundService
{
    const int Batch = 500;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.MessageTtl is null) return;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var removed = await SweepAsync(stoppingToken);
                if (removed > 0) logger.LogInformation("Retention removed {Count} messages older than {Ttl}", removed, options.MessageTtl);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Retention sweep failed; retrying at the next interval");
            }
            await Task.Delay(options.SweepInterval, clock, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    /// <summary>One full sweep: everything created more than the TTL before now. Returns how many messages went.</summary>
    public async Task<int> SweepAsync(CancellationToken ct)
    {
        if (options.MessageTtl is not { } ttl) return 0;
        var cutoff = (clock.GetUtcNow() - ttl).ToUnixTimeMilliseconds();
        var total = 0;
        while (true)
        {
            var removed = await accounts.DeleteMessagesCreatedBeforeAsync(cutoff, Batch, ct);
            total += removed;
            if (removed < Batch) return total;
        }
    }
}
