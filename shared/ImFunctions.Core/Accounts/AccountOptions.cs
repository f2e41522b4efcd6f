using Microsoft.Extensions.Configuration;

namespace ImFunctions.Core.Accounts;

/// <summary>The data-rights settings of the UniIm section: retention and IP recording, both off by default.</summary>
public sealed class AccountOptions
{
    /// <summary>Messages older than this are removed (Cosmos: per-item TTL; SQLite: the sweeper). null keeps them.</summary>
    public TimeSpan? MessageTtl { get; init; }
    /// <summary>Record the sender's address on messages (from_ip), shown to uni-im-admin only.</summary>
    public bool RecordIp { get; init; }
    /// <summary>How often the SQLite sweeper looks for expired messages.</summary>
    public TimeSpan SweepInterval { get; init; } = TimeSpan.FromMinutes(5);

    public static AccountOptions FromConfiguration(IConfiguration uniIm)
    {
        var options = new AccountOptions
        {
            MessageTtl = uniIm.GetValue<TimeSpan?>("MessageTtl"),
            RecordIp = uniIm.GetValue("RecordIp", false),
            SweepInterval = uniIm.GetValue("MessageSweepInterval", TimeSpan.FromMinutes(5)),
        };
        if (options.MessageTtl is { } ttl && ttl < TimeSpan.FromSeconds(1))
            throw new InvalidOperationException("UniIm:MessageTtl must be at least 00:00:01 (or unset to keep messages).");
        if (options.SweepInterval <= TimeSpan.Zero)
            throw new InvalidOperationException("UniIm:MessageSweepInterval must be positive.");
        return options;
    }
}
