using ImFunctions.Core.Domain;
using ImFunctions.Core.Groups;
using ImFunctions.Core.Storage;

namespace ImFunctions.Core.Messages;

/// <summary>One page of search hits; <c>next_before</c> is the cursor for the next page (null at the end).</summary>
public sealed record MessageSearchPage(IReadOnlyList<Message> List, long? NextBefore);

/// <summary>
/// searchMessages and searchConversations: only ever over the caller's own conversations, and only the part of each
/// one they may see. The keyword is literal text (lower-cased on both sides), never a pattern.
/// </summary>
public sealed class MessageSearch(IImStore store, IMessageSearchStore index, UserDirectory users, IGroupStore groups, Messenger messenger)
{
    /// <summary>
    /// A search without conversation_id looks at the caller's most recently active conversations, this many: the bound
    /// that keeps one call's cost fixed (on Cosmos one query per conversation). Older ones need conversation_id.
    /// </summary>
    public const int MaxConversationsPerSearch = 100;
    /// <summary>searchConversations matches peers among this many of the caller's conversations (newest first).</summary>
    public const int MaxConversationsScanned = 1000;

    public async Task<Result<MessageSearchPage>> SearchMessagesAsync(User me, string keyword, string? conversationId, long? before,
        int limit, CancellationToken ct)
    {
        IReadOnlyList<ConversationRow> rows;
        if (conversationId is not null)
        {
            var row = await store.GetConversationAsync(me.Id, conversationId, ct);
            if (row is null) return ImError.NotFound($"conversation_id: '{conversationId}' is not one of your conversations");
            rows = [row];
        }
        else
        {
            var singles = await store.ListConversationsAsync(me.Id, new ConversationPage(MaxConversationsPerSearch), ct);
            var groupRows = await messenger.GroupRowsAsync(me.Id, ConversationFilter.None, ct);
            rows = ByActivity(singles, groupRows.Rows).Take(MaxConversationsPerSearch).ToList();
        }

        var scopes = (await Task.WhenAll(rows.Select(row => ScopeAsync(me.Id, row, ct)))).OfType<SearchScope>().ToList();
        var hits = await index.SearchMessagesAsync(scopes, MessageSearchText.Keyword(keyword), before ?? long.MaxValue, limit, ct);
        // from_ip is shown to uni-im-admin in history only, never in search hits (docs/privacy.md).
        var visible = hits.Where(m => !m.IsRevoke).Select(m => m with { FromIp = null }).ToList();
        return new MessageSearchPage(visible, hits.Count == limit ? hits[^1].CreateTime : null);
    }

    /// <summary>
    /// What of a conversation the caller may search: a single chat whole; a group from after their hidden history
    /// (history_visible false when they joined) up to when they left.
    /// </summary>
    async Task<SearchScope?> ScopeAsync(string uid, ConversationRow row, CancellationToken ct)
    {
        if (row.GroupId is not { } groupId) return new SearchScope(row.Id);
        var member = await groups.GetMemberAsync(groupId, uid, ct);
        return member is null ? null : new SearchScope(row.Id, member.VisibleAfterSeq + 1, member.LeaveSeq ?? long.MaxValue);
    }

    /// <summary>
    /// The caller's conversations whose peer's nickname or group's name contains the keyword, most recently active first.
    /// Peers among their newest <see cref="MaxConversationsScanned"/> rows, groups among all their groups (one query and
    /// one batched read).
    /// </summary>
    public async Task<Result<IReadOnlyList<ConversationView>>> SearchConversationsAsync(User me, string keyword, int limit,
        CancellationToken ct)
    {
        const int pageSize = 500;
        var rows = new List<ConversationRow>();
        for (var skip = 0; skip < MaxConversationsScanned; skip += pageSize)
        {
            var page = await store.ListConversationsAsync(me.Id, new ConversationPage(pageSize, skip), ct);
            rows.AddRange(page.Where(r => r.Type != ConversationTypes.Group));
            if (page.Count < pageSize) break;
        }
        var groupRows = await messenger.GroupRowsAsync(me.Id, ConversationFilter.None, ct);
        var needle = keyword.Trim();
        var peers = await users.GetManyAsync(rows.Select(r => r.FriendUid).OfType<string>(), ct);
        var matches = ByActivity(
                rows.Where(r => r.FriendUid is { } f && peers.TryGetValue(f, out var peer)
                    && peer.Nickname?.Contains(needle, StringComparison.OrdinalIgnoreCase) == true),
                groupRows.Rows.Where(r => groupRows.Groups.TryGetValue(r.GroupId!, out var g) && g.Name.Contains(needle, StringComparison.OrdinalIgnoreCase)))
            .Take(limit).ToList();
        return Result<IReadOnlyList<ConversationView>>.Ok(await messenger.ViewsAsync(matches, groupRows.Groups, ct));
    }

    /// <summary>Single rows and group rows (whose stored times are their membership changes) in one order of activity.</summary>
    static IEnumerable<ConversationRow> ByActivity(IEnumerable<ConversationRow> singles, IEnumerable<ConversationRow> groupRows) =>
        singles.Where(r => r.Type != ConversationTypes.Group).Concat(groupRows)
            .OrderByDescending(r => r.UpdateTime).ThenBy(r => r.Id, StringComparer.Ordinal);
}
