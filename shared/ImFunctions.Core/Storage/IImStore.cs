using ImFunctions.Core.Domain;
using ImFunctions.Core.Groups;

namespace ImFunctions.Core.Storage;

/// <summary>
/// The store port: the few primitives the rules in <see cref="Messenger"/> need, shaped so a store without
/// transactions (Cosmos DB) can implement them with conditional creates and etag-guarded replaces.
/// Every adapter records its real I/O in <see cref="StoreMeter"/>.
/// </summary>
public interface IImStore
{
    /// <summary>Creates the schema (tables, containers) when missing. Called once at start.</summary>
    Task InitializeAsync(CancellationToken ct);

    Task<User?> GetUserAsync(string uid, CancellationToken ct);
    /// <summary>The users that exist among <paramref name="uids"/>, in no particular order.</summary>
    Task<IReadOnlyList<User>> GetUsersAsync(IReadOnlyCollection<string> uids, CancellationToken ct);
    Task<string?> FindUidByExtUidAsync(string extUid, CancellationToken ct);
    /// <summary>Binds an external uid to <paramref name="proposedUid"/> unless it is bound already; returns the bound uid.</summary>
    Task<string> BindExtUidAsync(string extUid, string proposedUid, CancellationToken ct);
    /// <summary>Creates or replaces the user record.</summary>
    Task SaveUserAsync(User user, CancellationToken ct);

    /// <summary>
    /// Stores the message if both its id and its (conversation, seq) are free. Atomic: the message is either
    /// fully stored with its seq or not at all.
    /// </summary>
    Task<AppendResult> TryAppendMessageAsync(Message message, CancellationToken ct);

    /// <summary>
    /// True when appends are applied in the order they were called (the call has queued the append when it returns)
    /// and a message that would not follow the head is refused (<see cref="AppendStatus.SeqTaken"/> with the head): a
    /// seq that would leave a gap, or a <c>create_time</c> before the head's. A store with one writer. Senders of one
    /// conversation may then hand over their appends one after the other without waiting for the one ahead to be
    /// stored, and share its commit.
    /// </summary>
    bool AppendsInCallOrder => false;

    /// <summary>
    /// <see cref="TryAppendMessageAsync(Message, CancellationToken)"/>, then, only if the message was appended,
    /// <paramref name="writes"/>: a 1:1 send's conversation rows, a group send's head and sender's read cursor. A store
    /// with transactions writes them in the append's own transaction (the message and its writes are stored together
    /// or not at all, in one trip to the writer); the default writes them after the append, never cancelled once the
    /// message is stored (<see cref="Messenger.AfterStored"/>).
    /// </summary>
    async Task<AppendResult> TryAppendMessageAsync(Message message, AppendWrites writes, CancellationToken ct)
    {
        var appended = await TryAppendMessageAsync(message, ct);
        if (appended.Status == AppendStatus.Appended) await UpdateAsync(writes, Messenger.AfterStored);
        return appended;
    }

    /// <summary>
    /// Each of <paramref name="writes"/> as its own optimistic read-modify-write, all at once: what an append did not
    /// carry (a retry's repair, a hot conversation's rows written outside its turn).
    /// </summary>
    Task UpdateAsync(AppendWrites writes, CancellationToken ct);

    Task<Message?> GetMessageAsync(string conversationId, string messageId, CancellationToken ct);
    /// <summary>One page of a conversation: newest first without <c>AfterSeq</c>, oldest first with it.</summary>
    Task<IReadOnlyList<Message>> ReadMessagesAsync(string conversationId, SeqWindow window, int limit, CancellationToken ct);
    /// <summary>
    /// Messages sent or changed after <paramref name="minUpdateTime"/> (uni-im 3.x update sync), oldest update first,
    /// ties in seq order.
    /// </summary>
    Task<IReadOnlyList<Message>> ReadMessagesUpdatedSinceAsync(string conversationId, long minUpdateTime, int limit, CancellationToken ct);

    Task<ConversationRow?> GetConversationAsync(string userId, string conversationId, CancellationToken ct);
    /// <summary>A user's rows, newest <c>update_time</c> first.</summary>
    Task<IReadOnlyList<ConversationRow>> ListConversationsAsync(string userId, ConversationPage page, CancellationToken ct);
    /// <summary>
    /// Optimistic read-modify-write of one row. <paramref name="apply"/> gets the current row (null when there is
    /// none) and returns the new row, or null to leave it unchanged; it may run more than once under contention.
    /// <paramref name="known"/> is a row the caller read already (with its ETag), saving a read when it is current.
    /// </summary>
    Task<ConversationRow?> UpdateConversationAsync(string userId, string conversationId, ConversationRow? known,
        Func<ConversationRow?, ConversationRow?> apply, CancellationToken ct);
}

/// <summary>One row's change, as <see cref="IImStore.UpdateConversationAsync"/> takes it.</summary>
public sealed record RowUpdate(string UserId, string ConversationId, ConversationRow? Known, Func<ConversationRow?, ConversationRow?> Apply);

/// <summary>
/// What a send writes besides its message, for the message as tried (its seq): the conversation rows of a 1:1 send;
/// a group send's head (<see cref="Group"/>) and sender's read cursor (<see cref="Member"/>). Each is applied as
/// <see cref="IImStore.UpdateConversationAsync"/>, <see cref="IGroupStore.UpdateGroupAsync"/> and
/// <see cref="IGroupStore.UpdateMemberAsync"/> apply theirs.
/// </summary>
public sealed record AppendWrites(IReadOnlyList<RowUpdate> Rows, GroupUpdate? Group = null, MemberUpdate? Member = null)
{
    public static readonly AppendWrites None = new([]);

    /// <summary>Each write as its own update on these stores, all at once.</summary>
    public Task ApplyEachAsync(IImStore rows, IGroupStore groups, CancellationToken ct) => Task.WhenAll([
        .. Rows.Select(row => rows.UpdateConversationAsync(row.UserId, row.ConversationId, row.Known, row.Apply, ct)),
        Group is { } group ? groups.UpdateGroupAsync(group.GroupId, group.Known, group.Apply, ct) : Task.CompletedTask,
        Member is { } member ? groups.UpdateMemberAsync(member.GroupId, member.UserId, member.Known, member.Apply, ct) : Task.CompletedTask,
    ]);
}

/// <summary>A group record's change, as <see cref="IGroupStore.UpdateGroupAsync"/> takes it.</summary>
public sealed record GroupUpdate(string GroupId, Group? Known, Func<Group, Group?> Apply);

/// <summary>A member record's change, as <see cref="IGroupStore.UpdateMemberAsync"/> takes it.</summary>
public sealed record MemberUpdate(string GroupId, string UserId, MemberRecord? Known, Func<MemberRecord?, MemberRecord?> Apply);

public enum AppendStatus { Appended, SeqTaken, IdTaken }

/// <param name="Head">With <see cref="AppendStatus.SeqTaken"/>: the conversation's last stored message now.</param>
public readonly record struct AppendResult(AppendStatus Status, ConversationHead Head = default)
{
    public static readonly AppendResult Appended = new(AppendStatus.Appended);
    public static readonly AppendResult IdTaken = new(AppendStatus.IdTaken);
    public static AppendResult SeqTaken(ConversationHead head) => new(AppendStatus.SeqTaken, head);
}

/// <summary>
/// A conversation's last message, stored or claimed: its seq (0: none) and <c>create_time</c> (0 where not known).
/// The message after it takes the next seq and a <c>create_time</c> not before its own, so a conversation's times
/// never fall as its seqs rise.
/// </summary>
public readonly record struct ConversationHead(long Seq, long CreateTime)
{
    public static ConversationHead Of(Message message) => new(message.Seq, message.CreateTime);

    /// <summary><paramref name="draft"/> as the message after this one.</summary>
    public Message Next(Message draft)
    {
        var time = Math.Max(draft.CreateTime, CreateTime);
        return draft with { Seq = Seq + 1, CreateTime = time, UpdateTime = Math.Max(draft.UpdateTime, time) };
    }
}

/// <summary>Exclusive bounds: <c>BeforeSeq</c> pages back through history, <c>AfterSeq</c> fills a gap forward.</summary>
public readonly record struct SeqWindow(long? BeforeSeq = null, long? AfterSeq = null);

/// <param name="MaxUpdateTime">Exclusive cursor: rows updated before it (uni-im's maxUpdateTime paging).</param>
public readonly record struct ConversationPage(int Limit, int Skip = 0, long? MaxUpdateTime = null);
