namespace ImFunctions.Core.Domain;

/// <summary>
/// One-at-a-time turns per conversation within this process, created on demand and dropped as soon as nobody
/// holds or waits for them. A turn also remembers the last seq claimed under it, for the sender waiting next.
/// </summary>
public sealed class ConversationTurns
{
    readonly Dictionary<string, Turn> turns = new(StringComparer.Ordinal);

    public async ValueTask<Turn> EnterAsync(string conversationId, CancellationToken ct)
    {
        Turn turn;
        lock (turns)
        {
            if (!turns.TryGetValue(conversationId, out turn!)) turns[conversationId] = turn = new Turn(this, conversationId);
            turn.Users++;
        }
        try
        {
            await turn.Gate.WaitAsync(ct);
        }
        catch
        {
            Leave(turn, entered: false);
            throw;
        }
        return turn;
    }

    /// <summary>Conversations someone holds or waits for now.</summary>
    public int Count
    {
        get { lock (turns) return turns.Count; }
    }

    void Leave(Turn turn, bool entered)
    {
        if (entered) turn.Gate.Release();
        lock (turns)
            if (--turn.Users == 0) turns.Remove(turn.ConversationId);
    }

    public sealed class Turn(ConversationTurns owner, string conversationId) : IDisposable
    {
        internal readonly SemaphoreSlim Gate = new(1, 1);
        internal readonly string ConversationId = conversationId;
        internal int Users;

        /// <summary>Whether other sends wait for this turn now.</summary>
        public bool HasWaiters
        {
            get { lock (owner.turns) return Users > 1; }
        }

        /// <summary>The highest seq appended under this turn while it lived (0: none yet).</summary>
        public long HeadSeq { get; set; }

        public void Dispose() => owner.Leave(this, entered: true);
    }
}
