using System.Text.Json.Serialization;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Groups;
using ImFunctions.Core.Push;
using ImFunctions.Core.Storage;

namespace ImFunctions.Core.Conversations;

/// <summary>A row's settings as setConversation answers them and the <c>conversation</c> push carries them.</summary>
public sealed record ConversationSettingsView(string ConversationId, bool Pinned, bool Mute, bool Hidden, bool IsStar, long UnreadCount, long ReadSeq)
{
    public static ConversationSettingsView From(ConversationRow row) =>
        new(row.Id, row.Pinned, row.Mute, row.Hidden, row.IsStar, row.UnreadCount, row.ReadSeq);
}

public sealed record SettingsChange(bool? Pinned, bool? Mute, bool? Hidden, bool? IsStar);

public sealed record UnreadTotal(
    [property: JsonPropertyName("unreadCount")] long UnreadCount,
    [property: JsonPropertyName("unreadCountObj")] IReadOnlyDictionary<string, long> UnreadCountObj);

/// <summary>Which rows getConversationList shows, and how it pages them.</summary>
public sealed record ConversationListRequest(int Limit, int Skip, long? MaxUpdateTime, string? Cursor, string? Type, bool DistinguishPinned);

/// <summary>
/// The settings a user keeps on their own conversation rows (uni-im's clientDB updates, each an explicit checked call
/// here), the filtered and pinned-first list, and the unread total. A setting is the owner's alone and is never
/// activity: update_time (the list's order and the sync cursor) does not move (uni-im bumps it, D-20).
/// </summary>
public sealed class ConversationSettings(IImStore store, IConversationListStore lists, Messenger messenger, PushDispatcher pushes)
{
    public static readonly IReadOnlyDictionary<string, ConversationFilter> Filters = new Dictionary<string, ConversationFilter>
    {
        ["unread"] = ConversationFilter.Unread,
        ["single"] = ConversationFilter.Single,
        ["group"] = ConversationFilter.Group,
        ["is_star"] = ConversationFilter.Starred,
        ["has_remind_msg"] = ConversationFilter.HasRemind,
    };

    /// <summary>getUnreadCount reads unread rows in pages of this size, as many as there are.</summary>
    const int UnreadPage = 1000;

    public async Task<Result<ConversationSettingsView>> SetAsync(User me, string conversationId, SettingsChange change, CancellationToken ct)
    {
        // A group's messages never write its members' rows: a hidden group row keeps the group's head instead, and is
        // listed again once the head passes it. Single rows are unhidden by the message's own row write.
        var hiddenAt = change.Hidden == true ? await messenger.GroupHeadAsync(conversationId, ct) : null;
        return await ChangeAsync(me, conversationId, row => row with
        {
            Pinned = change.Pinned ?? row.Pinned,
            Mute = change.Mute ?? row.Mute,
            Hidden = change.Hidden ?? row.Hidden,
            HiddenSeq = change.Hidden switch { true => hiddenAt, false => null, null => row.HiddenSeq },
            IsStar = change.IsStar ?? row.IsStar,
        }, ct);
    }

    /// <summary>uni-im's "mark as unread": the row counts 1 unread until the owner reads it; read cursors do not move back.</summary>
    public Task<Result<ConversationSettingsView>> MarkUnreadAsync(User me, string conversationId, CancellationToken ct) =>
        ChangeAsync(me, conversationId, row => row with { MarkedUnread = true }, ct);

    async Task<Result<ConversationSettingsView>> ChangeAsync(User me, string conversationId, Func<ConversationRow, ConversationRow> change,
        CancellationToken ct)
    {
        var changed = false;
        var row = await store.UpdateConversationAsync(me.Id, conversationId, null, current =>
        {
            if (current is null) return null;
            var next = change(current);
            changed = next != current;
            return changed ? next : null;
        }, ct);
        if (row is null) return ImError.NotFound($"conversation_id: '{conversationId}' is not one of your conversations");
        var view = ConversationSettingsView.From(row);
        if (changed) pushes.ToUser(me.Id, PushEvents.Conversation(view));   // the caller's other devices
        return view;
    }

    public async Task<Result<IReadOnlyList<ConversationView>>> ListAsync(User me, ConversationListRequest request, CancellationToken ct)
    {
        var filter = request.Type is null ? ConversationFilter.None : Filters[request.Type];
        char phase = ConversationView.AllRows;
        string? after = null;
        if (request.Cursor is { } cursor)
        {
            if (!TryParseCursor(cursor, out phase, out after)) return ImError.InvalidParam("cursor", "is not a cursor getConversationList returned");
            if (phase != ConversationView.AllRows != request.DistinguishPinned)
                return ImError.InvalidParam("cursor", "was made with a different distinguishPinned");
        }
        var query = new ConversationQuery(request.Limit, request.Skip, request.MaxUpdateTime, after, filter);
        var groupRows = await messenger.GroupRowsAsync(me.Id, filter, ct);   // once for both parts
        if (!request.DistinguishPinned) return Result<IReadOnlyList<ConversationView>>.Ok(await messenger.ListAsync(me.Id, query, groupRows, ct));

        // Pinned rows first, then the others, each in the list's order; the cursor says which part it stopped in.
        var views = new List<ConversationView>();
        if (phase != ConversationView.UnpinnedRows)
        {
            views.AddRange(await messenger.ListAsync(me.Id, query with { Pinned = true }, groupRows, ct, ConversationView.PinnedRows));
            after = null;
        }
        if (views.Count < request.Limit)
            views.AddRange(await messenger.ListAsync(me.Id, query with { Pinned = false, After = after, Limit = request.Limit - views.Count },
                groupRows, ct, ConversationView.UnpinnedRows));
        return views;
    }

    /// <summary>
    /// The badge: unread over every conversation that is not muted, hidden or left, with no cap (uni-im stops at 100
    /// rows). Single rows: one query per thousand unread conversations; rows with nothing unread are never returned.
    /// Group rows carry stale cursors, so their unread is derived from their groups (<see cref="Messenger.GroupUnreadAsync"/>).
    /// </summary>
    public async Task<UnreadTotal> UnreadAsync(User me, CancellationToken ct)
    {
        var groupUnread = messenger.GroupUnreadAsync(me.Id, ct);
        var perConversation = new Dictionary<string, long>(StringComparer.Ordinal);
        string? after = null;
        while (true)
        {
            var rows = await lists.ListUnreadAsync(me.Id, after, UnreadPage, ct);
            foreach (var row in rows.Where(r => r.UnreadCount > 0 && GroupIds.FromConversation(r.ConversationId) is null))
                perConversation[row.ConversationId] = row.UnreadCount;
            if (rows.Count < UnreadPage) break;
            after = rows[^1].ListKey;
        }
        foreach (var (conversationId, unread) in await groupUnread) perConversation[conversationId] = unread;
        return new UnreadTotal(perConversation.Values.Sum(), perConversation);
    }

    static bool TryParseCursor(string cursor, out char phase, out string? after)
    {
        (phase, after) = (default, null);
        if (cursor.Length < 18 || cursor[0] is not (ConversationView.AllRows or ConversationView.PinnedRows or ConversationView.UnpinnedRows)) return false;
        var key = cursor[1..];
        if (key.Length < 17 || key[15] != '|' || !key.AsSpan(0, 15).ContainsOnlyDigits()) return false;
        (phase, after) = (cursor[0], key);
        return true;
    }
}

static class SpanDigits
{
    public static bool ContainsOnlyDigits(this ReadOnlySpan<char> span)
    {
        foreach (var c in span) if (c is < '0' or > '9') return false;
        return true;
    }
}
