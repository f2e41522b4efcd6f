// The web chat: plain DOM over the SDK. Every rule about order, gaps and retries lives in the SDK; this file draws.
import { createClient, ImError, type Conversation, type ImClient, type Message, type SystemBody } from "../js/src/index.js";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const client: ImClient = createClient({ baseUrl: location.origin, appId: "__UNI__WEBCHAT" });

interface Room { conversation_id?: string; to_uid?: string; group_id?: string; title: string }
let room: Room | undefined;
let replyTo: Message | undefined;
const conversations = new Map<string, Conversation>();
const names = new Map<string, string>();            // uid → nickname
const peerReadSeq = new Map<string, number>();      // conversation → the peer's read_seq (1:1 receipts)
const shown = new Map<string, Message>();           // _id → message in the open room
const heard = new Map<string, Message>();           // conversation → the newest message heard live (list previews)

// ---- sign in --------------------------------------------------------------------------------------------------
$("signin").addEventListener("submit", async (e) => {
  e.preventDefault();
  const name = ($("signin-name") as HTMLInputElement).value.trim();
  $("signin-error").textContent = "";
  try {
    const signIn = await fetch("/dev/signin", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name }) });
    if (signIn.status === 404) throw new Error("The development sign-in is off (secrets are configured): sign in through your backend.");
    const reply = await signIn.json();
    if (!signIn.ok) throw new Error(reply.errMsg);
    await client.loginWithJWT(reply.data.signedData);
    names.set(client.uid!, name);
    $("me").textContent = "Signed in as " + name;
    $("signin").hidden = true;
    $("chat").hidden = false;
    await refreshConversations();
    await client.connect();
  } catch (err) {
    $("signin-error").textContent = (err as Error).message;
  }
});

// ---- realtime -------------------------------------------------------------------------------------------------
const setStatus = (state: "online" | "reconnecting" | "offline", text: string) => {
  const status = $("status");
  status.dataset.state = state;
  status.textContent = text;
};
client.on("connected", () => setStatus("online", "Online"));
client.on("disconnected", () => setStatus("reconnecting", "Reconnecting…"));
client.on("synced", () => { setStatus("online", "Online"); void refreshConversations(); });
window.addEventListener("offline", () => setStatus("reconnecting", "Reconnecting…"));
// The socket may have survived a short outage without noticing: catch up anyway (synced sets the status back).
window.addEventListener("online", () => void client.resync());

client.on("msg", (message) => {
  if (message.nickname) names.set(message.from_uid, message.nickname);
  if (message.seq > (heard.get(message.conversation_id)?.seq ?? 0)) heard.set(message.conversation_id, message);
  if (room && isRoom(message)) {
    room.conversation_id = message.conversation_id;
    showMessage(message);
    void markRead(message.conversation_id, message.seq);
  }
  scheduleRefresh();
});
client.on("read", (e) => {
  if (e.user_id === client.uid) return scheduleRefresh(); // another device of mine
  peerReadSeq.set(e.conversation_id, Math.max(peerReadSeq.get(e.conversation_id) ?? 0, e.read_seq));
  if (room?.conversation_id === e.conversation_id) for (const m of shown.values()) drawMeta(m);
});
client.on("revoke", (e) => {
  const message = shown.get(e._id);
  if (message) { message.is_revoke = true; message.body = null; redraw(message); }
  scheduleRefresh();
});
client.on("edit", (edited) => {
  const message = shown.get(edited._id);
  if (message) { message.body = edited.body; message.edit_time = edited.edit_time; redraw(message); }
});
client.on("conversation", () => scheduleRefresh());
client.on("group", () => scheduleRefresh());

const isRoom = (m: Message) => room && (m.conversation_id === room.conversation_id
  || (!room.conversation_id && !m.group_id && (m.from_uid === room.to_uid || m.to_uid === room.to_uid)));

// ---- conversation list ----------------------------------------------------------------------------------------
let refreshTimer: ReturnType<typeof setTimeout> | undefined;
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => void refreshConversations(), 100);
}

async function refreshConversations() {
  const rows = await client.conversations({ limit: 100 });
  conversations.clear();
  const list = $("conversations");
  list.replaceChildren(...rows.map((row) => {
    conversations.set(row.id, row);
    if (row.user_info?.nickname) names.set(row.user_info._id, row.user_info.nickname);
    const title = titleOf(row);
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.conversation = row.id;
    button.setAttribute("aria-current", String(room?.conversation_id === row.id));
    const unread = room?.conversation_id === row.id ? 0 : row.unread_count;
    const note = lastNote(row);
    button.setAttribute("aria-label", `${title}${unread ? `, ${unread} unread` : ""}: ${note}`);
    button.append(span("conversation-name", title), span("conversation-last", note));
    if (unread > 0) button.append(span("badge", String(unread)));
    button.addEventListener("click", () => void openRoom({ conversation_id: row.id, to_uid: row.friend_uid ?? undefined, group_id: row.group_id ?? undefined, title }));
    item.append(button);
    return item;
  }));
}

// The list's own note, or the newest message heard live when the row has none for that seq yet (the backend's list
// leaves group rows' last_msg_note empty today; see docs/client.md).
function lastNote(row: Conversation): string {
  const live = heard.get(row.id);
  return row.last_msg_note || (live && live.seq >= row.last_seq ? preview(live) : "");
}

const titleOf = (row: Conversation) => row.type === 2
  ? String(row.group_info?.name ?? "Group " + (row.group_id ?? "").slice(0, 6))
  : row.user_info?.nickname ?? row.friend_uid ?? row.id;

// ---- a room ---------------------------------------------------------------------------------------------------
async function openRoom(next: Room) {
  room = next;
  $("messages").setAttribute("aria-busy", "true");   // its history is loading: not to be read out message by message
  replyTo = undefined;
  $("replying").hidden = true;
  shown.clear();
  $("messages").replaceChildren();
  $("room").hidden = false;
  $("room-title").textContent = next.title;
  $("add-members").hidden = !next.group_id;
  $("room-error").textContent = "";
  // Now, not once the history is in: focus moved later would pull the caret out of a field the user went on to type in.
  ($("text") as HTMLInputElement).focus();
  try {
    if (next.conversation_id) {
      const page = await client.history(next.conversation_id);
      for (const m of page.reverse()) showMessage(m);
      $("older").hidden = page.length < 30;
      const last = page.at(-1);
      if (last) await markRead(next.conversation_id, last.seq);
    } else {
      $("older").hidden = true;
    }
    await refreshConversations();
  } finally {
    $("messages").setAttribute("aria-busy", "false");
  }
}

$("older").addEventListener("click", async () => {
  if (!room?.conversation_id) return;
  const oldest = Math.min(...[...shown.values()].map((m) => m.seq));
  const page = await client.history(room.conversation_id, oldest, 30);
  const list = $("messages");
  for (const m of page) list.prepend(render(m));
  $("older").hidden = page.length < 30;
});

async function markRead(conversation_id: string, read_seq: number) {
  try { await client.api.clearUnreadCount({ conversation_id, read_seq }); } catch { /* the next open marks it again */ }
}

function showMessage(message: Message) {
  if (shown.has(message._id)) return redraw(message);
  $("messages").append(render(message));
  $("messages").lastElementChild?.scrollIntoView({ block: "end" });
}

function render(message: Message): HTMLLIElement {
  shown.set(message._id, message);
  if (message.type === "system") void learnNames(message);
  const item = document.createElement("li");
  item.id = "m-" + message._id;
  fill(item, message);
  return item;
}

function redraw(message: Message) {
  shown.set(message._id, message);
  const item = document.getElementById("m-" + message._id);
  if (item) fill(item as HTMLLIElement, message);
}

function fill(item: HTMLLIElement, message: Message) {
  const mine = message.from_uid === client.uid;
  item.className = "message" + (mine ? " mine" : "") + (message.type === "system" ? " system" : "") + (message.is_revoke ? " revoked" : "");
  item.dataset.seq = String(message.seq);
  item.dataset.id = message._id;
  const parts: Node[] = [];
  if (!mine && message.type !== "system") parts.push(span("from", names.get(message.from_uid) ?? message.nickname ?? message.from_uid));
  const quoted = message.about_msg_id ? shown.get(message.about_msg_id) : undefined;
  if (message.about_msg_id) {
    const quote = document.createElement("blockquote");
    quote.textContent = quoted ? preview(quoted) : "a earlier message";
    parts.push(quote);
  }
  if (message.is_revoke) parts.push(span("text", "This message was revoked"));
  else if (message.type === "image") {
    const image = document.createElement("img");
    const body = message.body as { url?: string } | string;
    image.src = typeof body === "string" ? body : body?.url ?? "";
    image.alt = "Image";
    image.loading = "lazy";
    parts.push(image);
  } else parts.push(span("text", preview(message)));
  const meta = document.createElement("div");
  meta.className = "meta";
  parts.push(meta);
  item.replaceChildren(...parts);
  drawMeta(message, meta);
}

function drawMeta(message: Message, meta = document.querySelector(`#m-${CSS.escape(message._id)} .meta`)) {
  if (!meta) return;
  const mine = message.from_uid === client.uid;
  const items: Node[] = [span("time", new Date(message.create_time).toLocaleTimeString())];
  if (message.edit_time) items.push(span("edited", "edited"));
  if (mine && !message.group_id && !message.is_revoke) {
    const read = message.is_read || (peerReadSeq.get(message.conversation_id) ?? 0) >= message.seq;
    items.push(span("receipt", read ? "Read" : "Sent"));
  }
  if (!message.is_revoke && message.type !== "system") {
    items.push(button("Reply", () => startReply(message)));
    if (mine) items.push(button("Revoke", () => void revoke(message)));
  }
  meta.replaceChildren(...items);
}

function startReply(message: Message) {
  replyTo = message;
  $("replying-text").textContent = preview(message);
  $("replying").hidden = false;
  ($("text") as HTMLInputElement).focus();
}
$("replying-cancel").addEventListener("click", () => { replyTo = undefined; $("replying").hidden = true; });

async function revoke(message: Message) {
  try {
    await client.revokeMsg(message);
    message.is_revoke = true;
    message.body = null;
    redraw(message);
  } catch (err) { showError(err); }
}

$("composer").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (!room) return;
  const text = $("text") as HTMLInputElement, image = $("image-url") as HTMLInputElement;
  const target = room.group_id ? { group_id: room.group_id } : { to_uid: room.to_uid! };
  const about = replyTo ? { about_msg_id: replyTo._id } : {};
  const drafts = [
    ...(image.value.trim() ? [{ type: "image", body: { url: image.value.trim() } }] : []),
    ...(text.value.trim() ? [{ type: "text", body: text.value.trim() }] : []),
  ];
  text.value = image.value = "";
  replyTo = undefined;
  $("replying").hidden = true;
  for (const draft of drafts) {
    try {
      const sent = await client.sendMsg({ ...target, ...about, ...draft });
      room.conversation_id = sent.conversation_id;
      // The sender's own message is not pushed back to this device: draw it from the answer.
      showMessage({
        _id: sent._id, conversation_id: sent.conversation_id, seq: sent.seq, create_time: sent.create_time, from_uid: client.uid!,
        appid: client.options.appId, client_msg_id: sent.client_msg_id, ...target, ...about, ...draft,
      } as Message);
    } catch (err) { showError(err); }
  }
  scheduleRefresh();
});

// ---- new chats and groups -------------------------------------------------------------------------------------
async function uidOf(name: string): Promise<string> {
  const { uid } = await client.api.getUserIdByExtUid({ ext_uid: "dev-" + name.trim().toLowerCase() });
  names.set(uid, name.trim());
  return uid;
}

$("new-chat").addEventListener("submit", async (e) => {
  e.preventDefault();
  const input = $("new-chat-name") as HTMLInputElement;
  try {
    const to_uid = await uidOf(input.value);
    const existing = [...conversations.values()].find((c) => c.friend_uid === to_uid);
    await openRoom({ to_uid, conversation_id: existing?.id, title: input.value.trim() });
    input.value = "";
  } catch (err) { showError(err, "No user called that has signed in yet."); }
});

$("new-group").addEventListener("submit", async (e) => {
  e.preventDefault();
  const input = $("new-group-names") as HTMLInputElement;
  try {
    const list = input.value.split(",").map((n) => n.trim()).filter(Boolean);
    const user_ids = await Promise.all(list.map(uidOf));
    const name = [names.get(client.uid!) ?? "me", ...list].join(", ").slice(0, 30);
    const created = await client.api.chooseUserIntoGroup({ user_ids, groupInfo: { name } });
    const group_id = created.group_id;
    input.value = "";
    await openRoom({ group_id, conversation_id: "group_" + group_id, title: name });
  } catch (err) { showError(err); }
});

$("add-members").addEventListener("submit", async (e) => {
  e.preventDefault();
  const input = $("add-members-names") as HTMLInputElement;
  if (!room?.group_id) return;
  try {
    const user_ids = await Promise.all(input.value.split(",").map((n) => n.trim()).filter(Boolean).map(uidOf));
    await client.api.chooseUserIntoGroup({ group_id: room.group_id, user_ids });
    input.value = "";
  } catch (err) { showError(err); }
});

// ---- bits -----------------------------------------------------------------------------------------------------
function preview(message: Message): string {
  if (message.is_revoke) return "This message was revoked";
  if (typeof message.body === "string") return message.body;
  if (message.type === "image") return "[image]";
  if (message.type === "system") return describe(message.body as SystemBody);
  return `[${message.type}]`;
}

/** System messages name users by uid: look up the ones not seen yet, then draw the message again. */
async function learnNames(message: Message) {
  const body = message.body as SystemBody;
  const uids = [body.operator_uid, body.user_id, body.new_owner_uid, ...(body.user_id_list ?? [])]
    .filter((uid): uid is string => !!uid && !names.has(uid));
  if (uids.length === 0) return;
  try {
    for (const user of await client.api.getUserInfo({ user_ids: [...new Set(uids)] })) names.set(user._id, user.nickname ?? user._id);
    redraw(message);
  } catch { /* drawn with "someone" */ }
}

/** A system message in words (docs/api.md "Groups": the actions and their fields). */
function describe(body: SystemBody): string {
  const who = (uids?: string[]) => (uids ?? []).map((uid) => uid === client.uid ? "you" : names.get(uid) ?? "someone").join(", ");
  const by = body.operator_uid ? who([body.operator_uid]) : "someone";
  switch (body.action) {
    case "join-group": {
      // A creator is listed among the joiners of their own group: "alice added bob", not "alice added alice, bob".
      const added = (body.user_id_list ?? []).filter((uid) => uid !== body.operator_uid);
      return added.length ? `${by} added ${who(added)}` : `${by} joined`;
    }
    case "group-exit": return `${who(body.user_id_list)} left`;
    case "group-expel": return `${by} removed ${who(body.user_id_list)}`;
    case "group-dissolved": return `${by} dissolved the group`;
    case "set-group-admin": return `${who([body.user_id!])} is ${body.addRole?.includes("admin") ? "now" : "no longer"} an admin`;
    case "transfer-group-owner": return `${who([body.new_owner_uid!])} now owns the group`;
    case "mute-group-member": return `${who([body.user_id!])} was ${body.mute_until ? "muted" : "unmuted"}`;
    case "notice": return body.text ?? "notice";
    default: return body.action?.startsWith("update-group-info-") ? `${by} changed the group's ${body.action.slice(18)}` : body.action ?? "system";
  }
}

function span(className: string, text: string) {
  const element = document.createElement("span");
  element.className = className;
  element.textContent = text;
  return element;
}

function button(label: string, onClick: () => void) {
  const element = document.createElement("button");
  element.type = "button";
  element.textContent = label;
  element.addEventListener("click", onClick);
  return element;
}

function showError(err: unknown, notFound?: string) {
  const e = err as ImError;
  $("room-error").textContent = e.status === 404 && notFound ? notFound
    : e.status === 404 && e.errCode !== "uni-im-not-found" ? "This server does not offer that yet." : e.message;
  if (!$("room").hidden) return;
  $("signin-error").textContent = $("room-error").textContent;
}
