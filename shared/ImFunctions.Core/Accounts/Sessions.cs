using ImFunctions.Core.Domain;

namespace ImFunctions.Core.Accounts;

/// <summary>A logged-out session (one login and its renewals): its tokens are refused until <see cref="Until"/>, when all have expired.</summary>
public sealed record RevokedSession(string Sid, long Until);

/// <summary>
/// Logout without a store read per request: revoked sessions live on the user record, which every request reads
/// through <see cref="UserDirectory"/>'s cache anyway. The list only holds sessions whose tokens could still be
/// alive, and past <see cref="MaxRevoked"/> a logout becomes a logoutAll (the token version moves on).
/// </summary>
public static class Sessions
{
    public const int MaxRevoked = 32;

    /// <param name="tokenLifetime">The longest a token lives: a renewal issued just before logout lives this long.</param>
    public static User Revoke(User user, string sid, DateTimeOffset now, TimeSpan tokenLifetime)
    {
        var nowMs = now.ToUnixTimeMilliseconds();
        var kept = user.RevokedSessions.Where(s => s.Until > nowMs && s.Sid != sid).ToList();
        if (kept.Count >= MaxRevoked) return RevokeAll(user);
        kept.Add(new RevokedSession(sid, (now + tokenLifetime).ToUnixTimeMilliseconds()));
        return user with { RevokedSessions = [.. kept] };
    }

    public static User RevokeAll(User user) => user with { TokenVersion = user.TokenVersion + 1, RevokedSessions = [] };

    public static bool IsRevoked(User user, string? sid) => sid is not null && user.RevokedSessions.Any(s => s.Sid == sid);
}
