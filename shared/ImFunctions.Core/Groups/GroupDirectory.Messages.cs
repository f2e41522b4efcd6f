using ImFunctions.Core.Domain;
using ImFunctions.Core.Push;
using ImFunctions.Core.Storage;

namespace ImFunctions.Core.Groups;

/// <summary>
/// What the group record keeps of its message stream (the head, the last message, the all-mentions) and the members'
/// reminders: each a point read-modify-write, never a write per member of the group.
/// </summary>
public sealed partial class GroupDirectory
{
    /// <summary>
    /// Max-merges a stored message into the group's head (last_seq, last message, activity time) and records an
    /// all-mention, in the same write. A message overtaken by a later one still records its all-mention.
    /// </summary>
    public static GroupUpdate AdvancingHead(Group known, Message message, bool copyWhole) => new(known.Id, known, group =>
    {
        var isNewest = message.Seq > group.LastSeq;
        var allMentions = GroupMentions.RememberAll(group.AllMentions, message);
        if (!isNewest) return ReferenceEquals(allMentions, group.AllMentions) ? null : group with { AllMentions = allMentions };
        return group with
        {
            LastSeq = message.Seq,
            LastMsg = copyWhole ? message : null,
            LastMsgNote = MessageNotes.Preview(message, 30),
            LastMsgCreateTime = message.CreateTime,
            UpdateTime = Math.Max(group.UpdateTime, message.CreateTime),
            AllMentions = allMentions,
        };
    });

    /// <summary>Writes the reminder of a message that names these members (current ones only): one write per uid.</summary>
    public Task RemindAsync(Message message, IReadOnlyList<string> uids, CancellationToken ct) =>
        Task.WhenAll(uids.Select(uid => store.UpdateMemberAsync(message.GroupId!, uid, null, m =>
            m is { IsCurrent: true } && GroupMentions.Remember(m.Mentions, message) is var next && !ReferenceEquals(next, m.Mentions)
                ? m with { Mentions = next }
                : null, ct)));

    public async Task<int> ForgetMentionAsync(string groupId, IReadOnlyCollection<string> uids, string messageId, CancellationToken ct)
    {
        var group = await store.GetGroupAsync(groupId, ct);
        var changed = 0;
        await Task.WhenAll(uids.Distinct().Select(uid => store.UpdateMemberAsync(groupId, uid, null, m =>
        {
            var next = m is null ? null : GroupMentions.Cleared(m, group, messageId);
            if (next is not null) Interlocked.Increment(ref changed);
            return next;
        }, ct)));
        return Math.Min(changed, uids.Count);
    }

    public async Task<bool> ReflectMessageChangeAsync(Message changed, CancellationToken ct)
    {
        if (changed.GroupId is not { } groupId) return false;
        PushEvents.Msg(changed, out var copyWhole);   // the head copies a small message whole, as a send does
        var reflected = false;
        await store.UpdateGroupAsync(groupId, null, group =>
        {
            var next = WithChangedMessage(group, changed, copyWhole);
            reflected = next is not null;
            return next;
        }, ct);
        return reflected;
    }

    /// <summary>The group record after a revoke or edit of <paramref name="changed"/>; null when it keeps nothing of it.</summary>
    static Group? WithChangedMessage(Group group, Message changed, bool copyWhole)
    {
        var allMentions = changed.IsRevoke ? GroupMentions.Forget(group.AllMentions, changed.Id) : group.AllMentions;
        var next = ReferenceEquals(allMentions, group.AllMentions) ? group : group with { AllMentions = allMentions };
        var headWasRevoked = group.LastMsg is { IsRevoke: true } || (group.LastMsg is null && group.LastMsgNote == MessageNotes.Revoked);
        if (group.LastSeq == changed.Seq)
        {
            if (changed.IsRevoke && !headWasRevoked)
                next = next with { LastMsg = group.LastMsg is null ? null : changed, LastMsgNote = MessageNotes.Revoked };
            // An edit shows on the head, never over a revoke that won a race, never over a later edit.
            else if (!changed.IsRevoke && !headWasRevoked && !(group.LastMsg?.UpdateTime >= changed.UpdateTime))
                next = next with { LastMsg = copyWhole ? changed : null, LastMsgNote = MessageNotes.Preview(changed, 30) };
        }
        return ReferenceEquals(next, group) ? null : next;
    }
}
