import { WebPubSubClient } from "@azure/web-pubsub-client";
import { ConversationSync } from "./sync.js";
import type {
  Api, ClientEvents, Conversation, Data, Envelope, ErrorEnvelope, Message, MessageChange, MethodName, NewToken, Params, PushPayload,
} from "./types.js";
import { methodNames } from "./types.js";

export interface ClientOptions {
  /** Where the app serves `/api/<method>`, e.g. `http://127.0.0.1:7071` (a trailing `/api` is not needed). */
  baseUrl: string;
  /** uni-im's appId for sendMsg when a send does not give one. */
  appId?: string;
  /** A token from an earlier session (e.g. kept in localStorage); renewed from every response's newToken. */
  token?: NewToken;
  /** How often a send is tried in all (network failure, 429, 5xx); every try carries the same client_msg_id. */
  sendAttempts?: number;
  /** Lets a test or a proxy change the negotiated WebSocket URL before it is used. */
  rewriteSocketUrl?: (url: string) => string;
  fetch?: typeof fetch;
}

/** A failed call: the server's envelope (errCode is uni-im's), its HTTP status, or status 0 when nothing answered. */
export class ImError extends Error {
  readonly errSubject: string;
  constructor(readonly status: number, readonly errCode: string | number, readonly errMsg: string, errSubject?: string,
    readonly retryAfterMs?: number) {
    super(`${errCode}: ${errMsg}`);
    this.name = "ImError";
    this.errSubject = errSubject ?? "uni-im-co";
  }
  /** Worth trying again with the same request: nothing answered, the server was busy or briefly unavailable. */
  get transient(): boolean { return this.status === 0 || this.status === 429 || this.status >= 500; }
}

type Handler<T> = (event: T) => void;

export class ImClient {
  readonly api: Api;
  readonly options: Required<Pick<ClientOptions, "appId" | "sendAttempts">> & ClientOptions;
  uid: string | undefined;
  #token: NewToken | undefined;
  #handlers = new Map<keyof ClientEvents, Set<Handler<never>>>();
  #socket: WebPubSubClient | undefined;
  #sync: ConversationSync;
  #connections = 0;
  #resyncAfterReconnect = false;
  #baselined = false;

  constructor(options: ClientOptions) {
    this.options = { appId: "__UNI__IMFUNCTIONS", sendAttempts: 4, ...options };
    this.#token = options.token;
    this.#sync = new ConversationSync({
      fetchAfter: (conversation_id, after_seq) => this.call("getMsgList", { conversation_id, after_seq, limit: 100 }),
      deliver: (message) => this.#emit("msg", message),
      gap: (gap) => this.#emit("gap", gap),
      error: (error) => this.#emit("error", error),
    });
    this.api = Object.fromEntries(methodNames.map((name) => [name, (params: never) => this.call(name, params)])) as unknown as Api;
  }

  get token(): NewToken | undefined { return this.#token; }
  set token(token: NewToken | undefined) { this.#token = token; }

  /** Calls any method by name; resolves with `data`, rejects with ImError. Unknown (newer) methods work too. */
  async call<M extends MethodName>(method: M, params: Params<M>): Promise<Data<M>>;
  async call(method: string, params?: object): Promise<unknown>;
  async call(method: string, params: object = {}): Promise<unknown> {
    return (await this.request(method, params)).data;
  }

  /** The whole success envelope (uni-im's result object); rejects with ImError. */
  async request(method: string, params: object = {}): Promise<Envelope<unknown>> {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (this.#token) headers.authorization = "Bearer " + this.#token.token;
    let response: Response;
    try {
      response = await (this.options.fetch ?? fetch)(this.#url(method), { method: "POST", headers, body: JSON.stringify(params) });
    } catch (e) {
      throw new ImError(0, "uni-im-network", `${method}: ${(e as Error).message}`);
    }
    const text = await response.text();
    let body: Envelope<unknown> | ErrorEnvelope | undefined;
    try { body = text ? JSON.parse(text) : undefined; } catch { body = undefined; }
    if (!response.ok || !body || body.errCode !== 0) {
      const retryAfter = Number(response.headers.get("retry-after"));
      const err = body as ErrorEnvelope | undefined;
      throw new ImError(response.status, err?.errCode ?? "uni-im-http-" + response.status, err?.errMsg ?? (text || response.statusText),
        err?.errSubject, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined);
    }
    const ok = body as Envelope<unknown>;
    if (ok.newToken?.token) {
      this.#token = ok.newToken;
      this.#emit("token", ok.newToken);
    }
    return ok;
  }

  /** Trades the legacy backend's signed JWT for this app's token (kept by the client). */
  async loginWithJWT(signedData: string): Promise<{ uid: string }> {
    const data = await this.call("loginWithJWT", { signedData });
    this.uid = data.uid;
    return data;
  }

  /**
   * Sends a message. A client_msg_id is made when none is given, and the send is tried again on network failures,
   * 429 and 5xx with that same id: the server stores it once and answers every try with the original _id and seq.
   */
  async sendMsg(params: Omit<Params<"sendMsg">, "appId"> & { appId?: string }): Promise<Data<"sendMsg"> & { client_msg_id: string }> {
    const client_msg_id = params.client_msg_id ?? newClientMsgId();
    const request = { ...params, appId: params.appId ?? this.options.appId, client_msg_id, client_create_time: params.client_create_time ?? Date.now() };
    for (let attempt = 1; ; attempt++) {
      try {
        return { ...(await this.call("sendMsg", request)), client_msg_id };
      } catch (e) {
        if (!(e instanceof ImError) || !e.transient || attempt >= this.options.sendAttempts) throw e;
        await sleep(e.retryAfterMs ?? 250 * 2 ** (attempt - 1));
      }
    }
  }

  /**
   * Revokes a message (revokeMsg needs its conversation too). Everyone in the conversation, this device included,
   * hears a `revoke` event; the message keeps its seq with `is_revoke: true` and no body.
   */
  revokeMsg(message: Pick<Message, "_id" | "conversation_id">): Promise<MessageChange> {
    return this.call("revokeMsg", { msg_id: message._id, conversation_id: message.conversation_id });
  }

  /** Changes the body of one's own text, rich-text or code message; the conversation hears an `edit` event. */
  editMsg(message: Pick<Message, "_id" | "conversation_id">, body: unknown): Promise<MessageChange> {
    return this.call("editMsg", { msg_id: message._id, conversation_id: message.conversation_id, body });
  }

  /** History, newest first, before a seq (or the newest page). Also starts tracking the conversation. */
  async history(conversation_id: string, before_seq?: number, limit = 30): Promise<Message[]> {
    const page = await this.call("getMsgList", before_seq ? { conversation_id, before_seq, limit } : { conversation_id, limit });
    if (!before_seq) this.#sync.track(conversation_id, page.reduce((max, m) => Math.max(max, m.seq), 0));
    return page;
  }

  /** The conversation list; every row becomes a tracked conversation at its last_seq. */
  async conversations(params: Params<"getConversationList"> = {}): Promise<Conversation[]> {
    const rows = await this.call("getConversationList", params);
    for (const row of rows) this.#sync.track(row.id, row.last_seq ?? 0);
    return rows;
  }

  /** The last seq delivered for a conversation (undefined when not tracked). */
  lastSeq(conversation_id: string): number | undefined { return this.#sync.lastSeq(conversation_id); }

  on<E extends keyof ClientEvents>(event: E, handler: Handler<ClientEvents[E]>): () => void {
    let set = this.#handlers.get(event);
    if (!set) this.#handlers.set(event, (set = new Set()));
    set.add(handler as Handler<never>);
    return () => set.delete(handler as Handler<never>);
  }

  /** Opens the realtime socket (Web PubSub's reliable protocol, URL from negotiate) after a first catch-up. */
  async connect(): Promise<void> {
    if (this.#socket) return;
    if (!this.#token) throw new Error("connect() needs a token: call loginWithJWT first");
    // On the first connect, conversations this client has not listed yet start at their current last_seq (older
    // messages are history); later ones are caught up by resync, new conversations from their first message.
    if (!this.#baselined) await this.conversations();
    this.#baselined = true;
    const socket = new WebPubSubClient({
      getClientAccessUrl: async () => {
        const { url } = await this.call("negotiate", {});
        return this.options.rewriteSocketUrl ? this.options.rewriteSocketUrl(url) : url;
      },
    });
    socket.on("connected", (e) => {
      this.#emit("connected", { connectionId: e.connectionId });
      if (this.#connections++ > 0 || this.#resyncAfterReconnect) void this.resync();
    });
    socket.on("disconnected", (e) => {
      this.#resyncAfterReconnect = true;
      this.#emit("disconnected", { reason: e.message?.message });
    });
    // A push to one user arrives as a server message; a push to a chat group (POST /groups/group_<id>/:send) arrives as
    // a group message, in Azure Web PubSub and the local hub alike. The connection joins those groups from negotiate's
    // token claims, and the server adds it to groups the user joins while connected: the client never joins itself.
    const onData = (data: unknown) => {
      // A recovered connection says so with its first replayed message: catch up then as well.
      if (this.#resyncAfterReconnect && this.#connections > 0) void this.resync();
      this.#onPush(data as PushPayload);
    };
    socket.on("server-message", (e) => onData(e.message.data));
    socket.on("group-message", (e) => onData(e.message.data));
    this.#socket = socket;
    await socket.start();
  }

  /** Closes the socket; messages sent meanwhile are fetched on the next connect(). */
  async disconnect(): Promise<void> {
    const socket = this.#socket;
    this.#socket = undefined;
    this.#connections = 0;
    this.#resyncAfterReconnect = true;
    await socket?.stop();
  }

  /**
   * Catches up every conversation that moved since the last sync: the conversation list says which (newest first),
   * getMsgList {after_seq} fetches what is missing. Runs after every reconnect; safe to call any time.
   */
  async resync(): Promise<void> {
    this.#resyncAfterReconnect = false;
    try {
      const rows = await this.call("getConversationList", { limit: 500 });
      let filled = 0;
      await Promise.all(rows.map(async (row) => {
        // A conversation that appeared while away is new since connect: all of it is live, not history.
        filled += await this.#sync.catchUp(row.id, row.last_seq ?? 0);
      }));
      this.#emit("synced", { conversations: rows.length, filled });
    } catch (e) {
      this.#resyncAfterReconnect = true;
      this.#emit("error", e as Error);
    }
  }

  #onPush(push: PushPayload): void {
    if (!push || push.type !== "im") return;
    // Pushes that queued up for one user or group arrive as one frame; each is delivered on its own, in order.
    if (push.event === "batch" && Array.isArray(push.data)) {
      for (const each of push.data) this.#onPush(each as PushPayload);
      return;
    }
    this.#emit("push", push);
    switch (push.event) {
      case "msg": return this.#sync.receive(push.data as Message & { is_hint?: boolean });
      case "edit": return void this.#edited(push.data as Message & { is_hint?: boolean });
      case "read": case "revoke": case "conversation": case "group": case "friend":
        return this.#emit(push.event, push.data as never);
    }
  }

  /** An edited message over 1 KB is pushed as a hint, like a new one: fetch it so `edit` always carries the message. */
  async #edited(message: Message & { is_hint?: boolean }): Promise<void> {
    if (!message.is_hint) return this.#emit("edit", message);
    try {
      const page = await this.call("getMsgList", { conversation_id: message.conversation_id, after_seq: message.seq - 1, limit: 1 });
      const full = page.find((m) => m._id === message._id);
      if (full) this.#emit("edit", full);
    } catch (e) {
      this.#emit("error", e as Error);
    }
  }

  #emit<E extends keyof ClientEvents>(event: E, data: ClientEvents[E]): void {
    for (const handler of this.#handlers.get(event) ?? []) {
      try { (handler as Handler<ClientEvents[E]>)(data); } catch (e) { if (event !== "error") this.#emit("error", e as Error); }
    }
  }

  #url(method: string): string {
    return this.options.baseUrl.replace(/\/+$/, "").replace(/\/api$/, "") + "/api/" + method;
  }
}

export function createClient(options: ClientOptions): ImClient {
  return new ImClient(options);
}

export function newClientMsgId(): string {
  return globalThis.crypto.randomUUID();
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
