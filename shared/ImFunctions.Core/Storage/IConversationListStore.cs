namespace ImFunctions.Core.Storage;

/// <summary>
/// getConversationList's filters and pinned-first paging, and getUnreadCount's scan: one single-partition query
/// per call, in the list's order (update_time, then id, both descending), so keyset paging never skips or repeats.
/// </summary>
public interface IConversationListStore
{
    Task<IReadOnlyList<Domain.ConversationRow>> QueryConversationsAsync(string userId, ConversationQuery query, CancellationToken ct);

    /// <summary>
    /// The unread counts of rows that are neither hidden nor muted and have something unread, in the list's order after
    /// <paramref name="after"/>: only the few fields a badge needs, not whole rows.
    /// </summary>
    Task<IReadOnlyList<UnreadRow>> ListUnreadAsync(string userId, string? after, int limit, CancellationToken ct);
}

/// <param name="ListKey">The row's <see cref="Domain.ConversationRow.ListKey"/>, to continue after it.</param>
public readonly record struct UnreadRow(string ConversationId, long UnreadCount, string ListKey);

[Flags]
public enum ConversationFilter
{
    None = 0,
    /// <summary>unread_count &gt; 0 (read_seq behind last_seq, or marked unread).</summary>
    Unread = 1,
    Single = 2,
    Group = 4,
    Starred = 8,
    /// <summary>Rows where someone mentioned the owner: <c>has_remind: true</c> or a non-empty <c>remind_msg_ids</c>.</summary>
    HasRemind = 16,
}

/// <param name="After">Keyset: rows strictly after this row's <c>ListKey</c> in the list's order.</param>
/// <param name="Pinned">Only pinned (true) or only unpinned (false) rows; null for both.</param>
public sealed record ConversationQuery(
    int Limit, int Skip = 0, long? MaxUpdateTime = null, string? After = null,
    ConversationFilter Filter = ConversationFilter.None, bool? Pinned = null, bool IncludeHidden = false, bool ExcludeMuted = false)
{
    /// <summary>
    /// The stores' conditions in memory, for group rows (whose order and unread come from their group, not the row).
    /// <see cref="ConversationFilter.Unread"/> and <see cref="ConversationFilter.HasRemind"/> are left to the caller: a
    /// group row's unread and reminders need its member record.
    /// </summary>
    public bool Admits(Domain.ConversationRow row) =>
        (MaxUpdateTime is not { } max || row.UpdateTime < max)
        && (After is not { } after || string.CompareOrdinal(row.ListKey, after) < 0)
        && (IncludeHidden || !row.Hidden)
        && (!ExcludeMuted || !row.Mute)
        && (Pinned is not { } pinned || row.Pinned == pinned)
        && (!Filter.HasFlag(ConversationFilter.Single) || row.Type == Domain.ConversationTypes.Single)
        && (!Filter.HasFlag(ConversationFilter.Group) || row.Type == Domain.ConversationTypes.Group)
        && (!Filter.HasFlag(ConversationFilter.Starred) || row.IsStar);
}
