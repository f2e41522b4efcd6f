using ImFunctions.Core.Domain;

namespace ImFunctions.Core.Storage;

/// <summary>
/// Full-text lookup over message text (<see cref="Messages.MessageSearchText"/>): literal, case-insensitive substrings,
/// CJK included. The caller decides which conversations and seq ranges may be searched; the store never widens them.
/// </summary>
public interface IMessageSearchStore
{
    /// <summary>
    /// Messages of <paramref name="scopes"/> whose text contains <paramref name="keyword"/> (already lower-cased, never a
    /// pattern), created before <paramref name="beforeTime"/>, newest first, at most <paramref name="limit"/>; never revoked ones.
    /// </summary>
    Task<IReadOnlyList<Message>> SearchMessagesAsync(IReadOnlyList<SearchScope> scopes, string keyword, long beforeTime, int limit,
        CancellationToken ct);
}

/// <summary>One conversation the caller may search, and the seqs of it they may see (both inclusive).</summary>
public readonly record struct SearchScope(string ConversationId, long MinSeq = 1, long MaxSeq = long.MaxValue);
