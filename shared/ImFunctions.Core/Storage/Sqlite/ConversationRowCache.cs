using System.Collections.Concurrent;
using ImFunctions.Core.Domain;

namespace ImFunctions.Core.Storage.Sqlite;

/// <summary>
/// The conversation rows this process last read or wrote, so that a send's two row reads (the next seq, the peer's
/// block) cost no trip to a pooled connection. Every write of the file goes through this process's one writer, and the
/// writer hands the cache the rows of each commit once it returned, so a row here is never older than the last commit
/// that changed it: a read that was answered before a write's caller was is the same read SQLite would have given.
/// <para>
/// A read from SQLite runs on a snapshot that a commit may overtake while it runs, so what it found is kept only if no
/// commit came in between (<see cref="Stamp"/>, <see cref="Offer"/>); rows that change all the time are kept by their
/// commits anyway. Another process writing the same file is not how the store is run; if it happens, the writer sees it
/// (<c>PRAGMA data_version</c>) before its next commit and the cache starts empty.
/// </para>
/// </summary>
internal sealed class ConversationRowCache(int capacity)
{
    readonly ConcurrentDictionary<(string UserId, string Id), ConversationRow?> rows = new();
    readonly Lock gate = new();
    long commits;

    public int Count => rows.Count;

    public bool TryGet(string userId, string conversationId, out ConversationRow? row) =>
        rows.TryGetValue((userId, conversationId), out row);

    /// <summary>Taken before a read from SQLite, for <see cref="Offer"/>.</summary>
    public long Stamp => Volatile.Read(ref commits);

    /// <summary>A row read from SQLite (null: none): kept only if no commit came since <paramref name="stamp"/>.</summary>
    public void Offer(string userId, string conversationId, ConversationRow? row, long stamp)
    {
        lock (gate)
        {
            if (commits == stamp && rows.Count < capacity) rows.TryAdd((userId, conversationId), row);
        }
    }

    /// <summary>
    /// After a COMMIT returned, before its writers are answered: the rows it wrote (null: deleted), in the order written.
    /// The count moves first, so a read that began before the commit cannot offer what it found afterwards.
    /// </summary>
    public void Committed(IReadOnlyList<((string UserId, string Id) Key, ConversationRow? Row)> written)
    {
        if (written.Count == 0) return;
        lock (gate) commits++;
        foreach (var (key, row) in written) rows[key] = row;
        if (rows.Count > capacity) rows.Clear();
    }

    /// <summary>What the file holds may differ from every row here (another writer, a commit that failed).</summary>
    public void Clear()
    {
        lock (gate) commits++;
        rows.Clear();
    }
}
