using ImFunctions.Core.Storage;

namespace ImFunctions.Core.Domain;

/// <summary>
/// One-at-a-time turns per conversation within this process, created on demand and dropped as soon as nobody
/// holds, waits for or still has an append in flight under them. A turn also remembers the last message claimed under
/// it (its seq and time), for the sender waiting next.
/// </summary>
public sealed class ConversationTurns
{
    readonly Dictionary<string, Line> lines = new(StringComparer.Ordinal);

    /// <summary>Waits for the conversation's turn; disposing the turn leaves it (and lets the next sender in).</summary>
    public async ValueTask<Turn> EnterAsync(string conversationId, CancellationToken ct)
    {
        Line line;
        lock (lines)
        {
            if (!lines.TryGetValue(conversationId, out line!)) lines[conversationId] = line = new Line(conversationId);
            line.Users++;
        }
        var turn = new Turn(this, line);
        try
        {
            await turn.ReenterAsync(ct);
        }
        catch
        {
            turn.Dispose();
            throw;
        }
        return turn;
    }

    /// <summary>Conversations someone holds, waits for or has an append in flight in now.</summary>
    public int Count
    {
        get { lock (lines) return lines.Count; }
    }

    void Leave(Line line)
    {
        lock (lines)
            if (--line.Users == 0) lines.Remove(line.ConversationId);
    }

    /// <summary>What the senders of one conversation share: the gate, and what was claimed under it.</summary>
    internal sealed class Line(string conversationId)
    {
        public readonly SemaphoreSlim Gate = new(1, 1);
        public readonly string ConversationId = conversationId;
        /// <summary>Senders holding, waiting for or still using this line; guarded by the owner's lock.</summary>
        public int Users;
        public ConversationHead? Claimed;
        public int Breaks;
    }

    /// <summary>
    /// One sender's turn. It may let the next sender in before it is done (<see cref="LetNextIn"/>) and come back
    /// (<see cref="ReenterAsync"/>); what it reads and sets here is only consistent while it holds the gate.
    /// </summary>
    public sealed class Turn : IDisposable
    {
        readonly ConversationTurns owner;
        readonly Line line;
        bool holding, left;

        internal Turn(ConversationTurns owner, Line line) => (this.owner, this.line) = (owner, line);

        /// <summary>Whether other sends wait for (or share) this conversation's turn now.</summary>
        public bool HasWaiters
        {
            get { lock (owner.lines) return line.Users > 1; }
        }

        /// <summary>
        /// The last message claimed under this conversation's turns while they lived (null: none yet). Where senders
        /// wait for their append before leaving, it is the last one appended; with a store that applies appends in call
        /// order, the last one handed to it.
        /// </summary>
        public ConversationHead? Claimed
        {
            get => line.Claimed;
            set => line.Claimed = value;
        }

        /// <summary>How often the line broke (an append in it failed): a claim made before a break is void.</summary>
        public int Breaks
        {
            get => line.Breaks;
            set => line.Breaks = value;
        }

        /// <summary>Lets the next sender in while this one keeps its place (the line lives on until it leaves).</summary>
        public void LetNextIn()
        {
            if (!holding) return;
            holding = false;
            line.Gate.Release();
        }

        /// <summary>Takes the gate again after <see cref="LetNextIn"/>; nothing if it is held already.</summary>
        public async ValueTask ReenterAsync(CancellationToken ct)
        {
            if (holding) return;
            await line.Gate.WaitAsync(ct);
            holding = true;
        }

        public void Dispose()
        {
            if (left) return;
            left = true;
            LetNextIn();
            owner.Leave(line);
        }
    }
}
