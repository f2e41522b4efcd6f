using ImFunctions.Core.Domain;
using ImFunctions.Core.Storage;

namespace ImFunctions.Tests.Support;

/// <summary>
/// A store that cancels the caller's token as soon as a message is appended: a sender whose request is aborted the
/// moment the message is stored (the sender's connection dropped).
/// </summary>
public sealed class GivesUpAfterAppend(IImStore inner, CancellationTokenSource giveUp) : IImStore
{
    public async Task<AppendResult> TryAppendMessageAsync(Message message, CancellationToken ct)
    {
        var result = await inner.TryAppendMessageAsync(message, ct);
        if (result.Status == AppendStatus.Appended) await giveUp.CancelAsync();
        return result;
    }

    public Task InitializeAsync(CancellationToken ct) => inner.InitializeAsync(ct);
    public Task<User?> GetUserAsync(string uid, CancellationToken ct) => inner.GetUserAsync(uid, ct);
    public Task<IReadOnlyList<User>> GetUsersAsync(IReadOnlyCollection<string> uids, CancellationToken ct) => inner.GetUsersAsync(uids, ct);
    public Task<string?> FindUidByExtUidAsync(string extUid, CancellationToken ct) => inner.FindUidByExtUidAsync(extUid, ct);
    public Task<string> BindExtUidAsync(string extUid, string proposedUid, CancellationToken ct) => inner.BindExtUidAsync(extUid, proposedUid, ct);
    public Task SaveUserAsync(User user, CancellationToken ct) => inner.SaveUserAsync(user, ct);
    public Task<Message?> GetMessageAsync(string conversationId, string messageId, CancellationToken ct) => inner.GetMessageAsync(conversationId, messageId, ct);
    public Task<IReadOnlyList<Message>> ReadMessagesAsync(string conversationId, SeqWindow window, int limit, CancellationToken ct) =>
        inner.ReadMessagesAsync(conversationId, window, limit, ct);
    public Task<IReadOnlyList<Message>> ReadMessagesUpdatedSinceAsync(string conversationId, long minUpdateTime, int limit, CancellationToken ct) =>
        inner.ReadMessagesUpdatedSinceAsync(conversationId, minUpdateTime, limit, ct);
    public Task<ConversationRow?> GetConversationAsync(string userId, string conversationId, CancellationToken ct) =>
        inner.GetConversationAsync(userId, conversationId, ct);
    public Task<IReadOnlyList<ConversationRow>> ListConversationsAsync(string userId, ConversationPage page, CancellationToken ct) =>
        inner.ListConversationsAsync(userId, page, ct);
    public Task<ConversationRow?> UpdateConversationAsync(string userId, string conversationId, ConversationRow? known,
        Func<ConversationRow?, ConversationRow?> apply, CancellationToken ct) => inner.UpdateConversationAsync(userId, conversationId, known, apply, ct);
}
