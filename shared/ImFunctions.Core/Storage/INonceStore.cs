namespace ImFunctions.Core.Storage;

/// <summary>
/// Nonces of signed server-to-server calls, remembered in the store so a replay is refused by every instance,
/// not only the one that saw the original.
/// </summary>
public interface INonceStore
{
    /// <summary>
    /// Remembers <paramref name="nonce"/> until <paramref name="expiresAt"/>; false when it is remembered already
    /// (a replay). Atomic: of two concurrent calls with the same nonce, exactly one gets true.
    /// </summary>
    Task<bool> TryRememberNonceAsync(string nonce, DateTimeOffset expiresAt, CancellationToken ct);
}
