import type { Message } from "./types.js";

/** What ConversationSync needs from the client: a getMsgList {after_seq} page (oldest first) and outlets. */
export interface SyncPorts {
  fetchAfter(conversationId: string, afterSeq: number): Promise<Message[]>;
  deliver(message: Message): void;
  gap(gap: { conversation_id: string; after_seq: number; next_seq: number }): void;
  error(error: Error): void;
}

interface State {
  last: number;                  // every seq up to here was delivered (or was history when tracking began)
  wantUpTo: number;              // the server has at least this seq (from a hint or the conversation list)
  buffer: Map<number, Message>;  // pushes that arrived ahead of a gap
  seen: Set<string>;             // recent _ids, a second guard next to the seq
  skipped: Set<number>;          // seqs given up on after the retries: delivered late if they ever come
  filling: Promise<number> | undefined;
  again: boolean;
}

const PageSize = 100, SeenKept = 2000, GapRetries = 5;

/**
 * The no-loss rules, per conversation: deliver in seq order, exactly once; a gap (a push ahead of the last seq, a
 * large-message hint, a reconnect) is filled with getMsgList {after_seq}. seq is gapless on the server (SPEC §4), so a
 * hole that stays open is a message not yet visible: it is retried a few times, then delivery moves on (`gap`).
 */
export class ConversationSync {
  readonly #states = new Map<string, State>();
  constructor(private readonly ports: SyncPorts, private readonly retryDelayMs = 150) {}

  lastSeq(conversationId: string): number | undefined { return this.#states.get(conversationId)?.last; }

  /** Starts following a conversation at lastSeq (what the app already shows). A followed one is left as it is. */
  track(conversationId: string, lastSeq: number): void {
    if (!this.#states.has(conversationId)) this.#states.set(conversationId, newState(lastSeq));
  }

  /** A pushed message or large-message hint. */
  receive(message: Message & { is_hint?: boolean }): void {
    const state = this.#state(message.conversation_id, message.seq - 1);
    if (message.is_hint) {
      state.wantUpTo = Math.max(state.wantUpTo, message.seq);
      void this.#fill(message.conversation_id, state);
      return;
    }
    if (state.skipped.delete(message.seq) && !state.seen.has(message._id)) return this.#deliver(state, message, false);
    if (message.seq <= state.last || state.seen.has(message._id)) return;
    state.buffer.set(message.seq, message);
    this.#drain(state);
    if (state.buffer.size > 0) void this.#fill(message.conversation_id, state);
  }

  /** After a reconnect: the server's last_seq for a conversation; fetches what lies between. Returns how many came. */
  async catchUp(conversationId: string, serverLastSeq: number): Promise<number> {
    const state = this.#state(conversationId, 0);
    state.wantUpTo = Math.max(state.wantUpTo, serverLastSeq);
    return serverLastSeq > state.last ? this.#fill(conversationId, state) : 0;
  }

  #state(conversationId: string, lastIfNew: number): State {
    let state = this.#states.get(conversationId);
    if (!state) this.#states.set(conversationId, (state = newState(Math.max(0, lastIfNew))));
    return state;
  }

  #deliver(state: State, message: Message, advance = true): void {
    if (advance) state.last = message.seq;
    state.seen.add(message._id);
    if (state.seen.size > SeenKept) state.seen.delete(state.seen.values().next().value!);
    this.ports.deliver(message);
  }

  #drain(state: State): number {
    let delivered = 0;
    for (let next = state.buffer.get(state.last + 1); next; next = state.buffer.get(state.last + 1)) {
      state.buffer.delete(next.seq);
      if (!state.seen.has(next._id)) { this.#deliver(state, next); delivered++; } else state.last = next.seq;
    }
    for (const seq of state.buffer.keys()) if (seq <= state.last) state.buffer.delete(seq);
    return delivered;
  }

  /** One fill at a time per conversation; a request while one runs makes it go round once more. */
  #fill(conversationId: string, state: State): Promise<number> {
    if (state.filling) { state.again = true; return state.filling; }
    const run = async () => {
      let delivered = 0;
      try {
        do {
          state.again = false;
          delivered += await this.#fillOnce(conversationId, state);
        } while (state.again);
      } catch (e) {
        this.ports.error(e as Error);
      } finally {
        state.filling = undefined;
      }
      return delivered;
    };
    return (state.filling = run());
  }

  async #fillOnce(conversationId: string, state: State): Promise<number> {
    let delivered = 0;
    for (let retry = 0; ; ) {
      const page = await this.ports.fetchAfter(conversationId, state.last);
      for (const message of [...page].sort((a, b) => a.seq - b.seq))
        if (message.seq > state.last) state.buffer.set(message.seq, message);
      const before = delivered;
      delivered += this.#drain(state);
      if (page.length >= PageSize && delivered > before) continue; // more pages behind this one
      const missing = state.buffer.size > 0 || state.wantUpTo > state.last;
      if (!missing) return delivered;
      if (delivered > before) { retry = 0; continue; }
      if (++retry > GapRetries) break;
      await new Promise((r) => setTimeout(r, this.retryDelayMs * 2 ** (retry - 1)));
    }
    // Still a hole: move on rather than hold every later message back; a late one is still delivered when it comes.
    const next = Math.min(...state.buffer.keys());
    if (Number.isFinite(next)) {
      this.ports.gap({ conversation_id: conversationId, after_seq: state.last, next_seq: next });
      for (let seq = state.last + 1; seq < next; seq++) state.skipped.add(seq);
      state.last = next - 1;
      delivered += this.#drain(state);
    }
    state.wantUpTo = state.last;
    return delivered;
  }
}

function newState(last: number): State {
  return { last, wantUpTo: last, buffer: new Map(), seen: new Set(), skipped: new Set(), filling: undefined, again: false };
}
