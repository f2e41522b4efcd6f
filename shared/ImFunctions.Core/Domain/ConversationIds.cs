using System.Security.Cryptography;
using System.Text;

namespace ImFunctions.Core.Domain;

/// <summary>uni-im's conversation ids, bit for bit, so existing clients and data keep working.</summary>
public static class ConversationIds
{
    public static string Single(string uidA, string uidB)
    {
        // Ordinal order: uni-im sorts with JavaScript's default comparison (UTF-16 code units).
        var (first, second) = string.CompareOrdinal(uidA, uidB) <= 0 ? (uidA, uidB) : (uidB, uidA);
        var hash = MD5.HashData(Encoding.UTF8.GetBytes(first + "," + second));
        return "single_" + Convert.ToHexStringLower(hash);
    }

    public static string Group(string groupId) => "group_" + groupId;
}
