namespace ImFunctions.Api.Auth;

/// <summary>ImFunctions' own tokens (setting section Auth). The secret is never uni-im's jwtSecret.</summary>
public sealed class AuthOptions
{
    public string TokenSecret { get; set; } = "";
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromHours(2);
    /// <summary>A response carries a renewed token when the caller's has less than this left.</summary>
    public TimeSpan RenewBefore { get; set; } = TimeSpan.FromHours(1);

    public void Validate()
    {
        if (System.Text.Encoding.UTF8.GetByteCount(TokenSecret) < 32)
            throw new InvalidOperationException("Auth:TokenSecret must be at least 32 bytes (HS256 key).");
        if (TokenLifetime <= TimeSpan.Zero || RenewBefore < TimeSpan.Zero || RenewBefore >= TokenLifetime)
            throw new InvalidOperationException("Auth:TokenLifetime must be positive and longer than Auth:RenewBefore.");
    }
}
