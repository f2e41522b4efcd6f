namespace ImFunctions.Core.Domain;

/// <summary>
/// Who may start a conversation with whom (uni-im's admin_uid and conversation_grade).
/// Replies inside an existing conversation never come here: they are always allowed.
/// </summary>
public sealed class TalkPolicy(UniImOptions options)
{
    public ImError? CheckNewConversation(User from, string toUid)
    {
        if (from.IsSuperAdmin) return null;
        var admins = options.AdminUids;
        var involvesAdmin = admins.Contains(from.Id) || admins.Contains(toUid);

        switch (options.ConversationGrade)
        {
            case null or 100 when admins.Count > 0 && !involvesAdmin:
                return new ImError(403, ErrorCodes.AdminOnly, "Only conversations with customer service (admin_uid) are allowed.");
            case null or 0:
                return null;
            case 100 when involvesAdmin:
                return null;
            // Friends and groups arrive in a later wave; until then grade 100 means customer service only
            // and grade 200 allows no new conversation at all.
            default:
                return ImError.NoPermission($"conversation_grade {options.ConversationGrade} does not allow this conversation.");
        }
    }
}
