using System.Security.Cryptography;
using System.Text;

namespace ImFunctions.Core.Domain;

/// <summary>Record ids in uni-id's shape: 24 lowercase hex characters.</summary>
public static class Ids
{
    public static string New() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));

    /// <summary>
    /// The id of a message sent with a client_msg_id: derived, so a retry lands on the same record
    /// and the store's uniqueness on ids is what makes the send idempotent.
    /// </summary>
    public static string ForClientMessage(string conversationId, string fromUid, string clientMsgId)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{conversationId}\n{fromUid}\n{clientMsgId}"));
        return Convert.ToHexStringLower(hash.AsSpan(0, 12));
    }
}
