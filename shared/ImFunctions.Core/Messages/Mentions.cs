using ImFunctions.Core.Domain;

namespace ImFunctions.Core.Messages;

/// <summary>A row's unseen mentions (<c>remind_msg_ids</c>): kept short, newest last, never a revoked message.</summary>
public static class Mentions
{
    /// <summary>Beyond this a row keeps the newest ones: a badge needs one, a "jump to mention" list a screenful.</summary>
    public const int MaxRemindMsgIds = 20;

    /// <summary>The row's reminders once <paramref name="message"/> arrives: its id added when it mentions the owner.</summary>
    public static string[]? Remember(string[]? remind, Message message, string ownerUid)
    {
        if (message.CallUid is not { } called || message.FromUid == ownerUid) return remind;
        if (!called.Contains(ownerUid) && !called.Contains(MessageComposer.MentionAll)) return remind;
        var ids = (remind ?? []).Where(id => id != message.Id).Append(message.Id).ToArray();
        return ids.Length <= MaxRemindMsgIds ? ids : ids[^MaxRemindMsgIds..];
    }

    public static string[]? Forget(string[]? remind, string messageId)
    {
        if (remind is null || !remind.Contains(messageId)) return remind;
        var rest = remind.Where(id => id != messageId).ToArray();
        return rest.Length == 0 ? null : rest;
    }
}
