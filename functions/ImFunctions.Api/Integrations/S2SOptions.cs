using System.Text;
using System.Text.RegularExpressions;

namespace ImFunctions.Api.Integrations;

/// <summary>
/// The <c>S2S</c> settings section: the keys trusted backends sign calls with (<c>S2S__Keys__&lt;id&gt;</c>; several
/// for rotation) and the per-key rate limit.
/// </summary>
public sealed partial class S2SOptions
{
    /// <summary>How far a call's timestamp may be from the server's clock, either way (SPEC §13).</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(5);

    public Dictionary<string, string> Keys { get; set; } = new(StringComparer.Ordinal);
    /// <summary>Signed calls are charged to their key, not to the user they act as: one backend, one bucket.</summary>
    public int PermitsPerSecond { get; set; } = 200;
    public int Burst { get; set; } = 1000;

    public void Validate()
    {
        foreach (var (id, key) in Keys)
        {
            if (!KeyIdPattern().IsMatch(id))
                throw new InvalidOperationException($"S2S__Keys__{id}: a key id is 1 to 64 letters, digits, '-' or '_'.");
            if (Encoding.UTF8.GetByteCount(key) < 32)
                throw new InvalidOperationException($"S2S__Keys__{id} must be at least 32 bytes of random (HMAC-SHA256 key).");
        }
        if (PermitsPerSecond < 1 || Burst < 1) throw new InvalidOperationException("S2S:PermitsPerSecond and S2S:Burst must be at least 1.");
    }

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex KeyIdPattern();
}
