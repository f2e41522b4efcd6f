using System.Text.Json;
using Microsoft.Extensions.Configuration;

namespace ImFunctions.Core.Domain;

/// <summary>uni-im's own config keys (uni-im/config.json), bound from the UniIm section.</summary>
public sealed class UniImOptions
{
    public string? JwtSecret { get; set; }
    /// <summary>Customer-service uids; empty means no restriction (uni-im's <c>false</c>).</summary>
    public IReadOnlyList<string> AdminUids { get; set; } = [];
    /// <summary>null when not configured: then only the admin_uid rule applies.</summary>
    public int? ConversationGrade { get; set; }
    /// <summary>Largest message body, in UTF-8 bytes of its JSON.</summary>
    public int MaxBodyBytes { get; set; } = 8 * 1024;
    /// <summary>How long a sender may revoke their own message (uni-im: 2 minutes).</summary>
    public TimeSpan RevokeWindow { get; set; } = TimeSpan.FromMinutes(2);
    /// <summary>How long a sender may edit a text, rich-text or code message.</summary>
    public TimeSpan EditWindow { get; set; } = TimeSpan.FromHours(24);
    /// <summary>Whether plain group members may mention <c>__ALL</c> (uni-im lets anyone; off by default: owner and admins only).</summary>
    public bool MentionAllByMembers { get; set; }

    public const string DemoJwtSecret = "jwtSecretDemo";

    public static UniImOptions FromConfiguration(IConfiguration section)
    {
        var options = new UniImOptions
        {
            JwtSecret = section["JwtSecret"],
            // uni-im ≥ 1.4 calls the customer-service list customer_service_uids; both names are read and merged.
            AdminUids = ParseAdminUids(section.GetSection("AdminUid"))
                .Union(ParseAdminUids(section.GetSection("CustomerServiceUids")))
                .Union(ParseAdminUids(section.GetSection("customer_service_uids"))).ToArray(),
            MaxBodyBytes = section.GetValue("MaxBodyBytes", 8 * 1024),
            RevokeWindow = section.GetValue("RevokeWindow", TimeSpan.FromMinutes(2)),
            EditWindow = section.GetValue("EditWindow", TimeSpan.FromHours(24)),
            MentionAllByMembers = section.GetValue("MentionAllByMembers", false),
        };
        var grade = section["ConversationGrade"];
        if (!string.IsNullOrWhiteSpace(grade))
        {
            if (!int.TryParse(grade, out var g) || g is not (0 or 100 or 200 or 300))
                throw new InvalidOperationException(
                    $"UniIm:ConversationGrade must be 0 (anyone), 100 (customer service, friends, group members), " +
                    $"200 (friends, group members) or 300 (friends, staff, group member and admin); got '{grade}'. " +
                    "uni-im answers every message with \"未知的对话等级\" for such a value; ImFunctions refuses to start instead.");
            options.ConversationGrade = g;
        }
        if (options.MaxBodyBytes is < 1 or > 60 * 1024)
            throw new InvalidOperationException("UniIm:MaxBodyBytes must be between 1 and 61440.");
        return options;
    }

    // admin_uid is "uid", ["a","b"], false, or (from environment variables) "a,b" / AdminUid__0, AdminUid__1.
    static IReadOnlyList<string> ParseAdminUids(IConfigurationSection section)
    {
        var children = section.GetChildren().Select(c => c.Value).OfType<string>().ToArray();
        if (children.Length > 0) return Clean(children);
        var value = section.Value?.Trim();
        if (string.IsNullOrEmpty(value) || value.Equals("false", StringComparison.OrdinalIgnoreCase)) return [];
        if (value.StartsWith('['))
            return Clean(JsonSerializer.Deserialize<string[]>(value)
                ?? throw new InvalidOperationException("UniIm:AdminUid is not a JSON array of strings."));
        return Clean(value.Split(','));

        static string[] Clean(IEnumerable<string> uids) =>
            uids.Select(u => u.Trim()).Where(u => u.Length > 0).Distinct(StringComparer.Ordinal).ToArray();
    }
}
