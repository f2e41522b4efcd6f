// The SDK against the real local host: login, typed calls, live delivery, history, read receipts, no loss across a
// dropped socket, safe send retries, token renewal, and the uni-im compatibility object.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ImError, createClient, createUniCloud } from "../dist/index.js";
import { disconnectAll, inbox, signIn, sleep, startApp, startProxy, through, waitFor } from "./support.mjs";

let app;
before(async () => {
  // Tokens live 30 s and are renewed in their last 28 s: any call 2 s after login carries a newToken.
  app = await startApp({ Auth__TokenLifetime: "00:00:30", Auth__RenewBefore: "00:00:28" });
});
after(async () => { await disconnectAll(); await app?.stop(); });

const text = (to_uid, body) => ({ to_uid, type: "text", body });

describe("login", () => {
  test("loginWithJWT keeps the token and the uid", async () => {
    const a = await signIn(app, "alice");
    assert.match(a.uid, /^[0-9a-f]{24}$/);
    assert.ok(a.token?.token && a.token.tokenExpired > Date.now());
  });

  test("a JWT signed with another key is refused with uni-im's code 1 and HTTP 401", async () => {
    const client = createClient({ baseUrl: app.baseUrl });
    const forged = (await import("./support.mjs")).signJwt({ exp: Date.now() + 60000, userInfo: { openid: "x" } }, "not-the-key-".repeat(4));
    await assert.rejects(client.loginWithJWT(forged), (e) => e instanceof ImError && e.status === 401 && e.errCode === 1);
  });

  test("calls without a token are 401 uni-id-check-token-failed", async () => {
    const client = createClient({ baseUrl: app.baseUrl });
    await assert.rejects(client.api.getConversationList({}), (e) => e.status === 401 && e.errCode === "uni-id-check-token-failed");
  });
});

describe("messages", () => {
  test("a sent message reaches the receiver's socket once, with its seq", async () => {
    const [a, b] = [await signIn(app, "a"), await signIn(app, "b")];
    const got = inbox(b);
    await b.connect();
    const sent = await a.sendMsg(text(b.uid, "hello"));
    await waitFor(() => got.length === 1, "the push");
    assert.equal(got[0]._id, sent._id);
    assert.equal(got[0].seq, 1);
    assert.equal(got[0].body, "hello");
    assert.equal(got[0].client_msg_id, sent.client_msg_id);
    await sleep(200);
    assert.equal(got.length, 1);
    await b.disconnect();
  });

  test("a batch push is delivered as its events, in order", async () => {
    const b = await signIn(app, "b");
    const got = inbox(b);
    const pushes = [];
    const reads = [];
    b.on("push", (p) => pushes.push(p.event));
    b.on("read", (r) => reads.push(r.read_seq));
    await b.connect();
    const conversation_id = "single_batch_" + Date.now();
    const msg = (seq) => ({ type: "im", event: "msg", data: { _id: `batch-${seq}`, conversation_id, seq, from_uid: "peer", type: "text", body: `m${seq}`, create_time: Date.now() } });
    const read = (read_seq) => ({ type: "im", event: "read", data: { conversation_id, user_id: "peer", read_seq } });

    await app.pushToUser(b.uid, { type: "im", event: "batch", data: [msg(1), read(1), msg(2), msg(3), read(3)] });

    await waitFor(() => got.length === 3 && reads.length === 2, "the batch's events");
    assert.deepEqual(got.map((m) => m.body), ["m1", "m2", "m3"]);
    assert.deepEqual(reads, [1, 3]);
    assert.deepEqual(pushes, ["msg", "read", "msg", "msg", "read"]);
    await b.disconnect();
  });

  test("an image by URL is sent and listed", async () => {
    const [a, b] = [await signIn(app, "a"), await signIn(app, "b")];
    const sent = await a.sendMsg({ to_uid: b.uid, type: "image", body: { url: "https://example.com/cat.png", width: 10, height: 20 } });
    const [row] = await b.conversations();
    assert.equal(row.id, sent.conversation_id);
    assert.equal(row.last_msg_note, "[图片]");
    assert.equal(row.unread_count, 1);
    const [message] = await b.history(sent.conversation_id);
    assert.deepEqual(message.body, { url: "https://example.com/cat.png", width: 10, height: 20 });
  });

  test("a retried send with the same client_msg_id stores one message", async () => {
    const [a, b] = [await signIn(app, "a"), await signIn(app, "b")];
    const first = await a.sendMsg({ ...text(b.uid, "once"), client_msg_id: "retry-1" });
    const again = await a.sendMsg({ ...text(b.uid, "once"), client_msg_id: "retry-1" });
    assert.equal(again._id, first._id);
    assert.equal(again.seq, first.seq);
    assert.equal((await b.history(first.conversation_id)).length, 1);
    await assert.rejects(a.sendMsg({ ...text(b.uid, "different"), client_msg_id: "retry-1" }),
      (e) => e.status === 409 && e.errCode === "uni-im-conflict");
  });

  test("a send that failed on the network is retried with the same client_msg_id", async () => {
    const [a, b] = [await signIn(app, "a"), await signIn(app, "b")];
    let tries = 0;
    const ids = new Set();
    // The first try reaches the server but its answer is lost; the retry must not store a second message.
    const flaky = createClient({
      baseUrl: app.baseUrl, token: a.token,
      fetch: async (url, init) => {
        if (String(url).endsWith("/sendMsg")) {
          tries++;
          ids.add(JSON.parse(init.body).client_msg_id);
          if (tries === 1) { await fetch(url, init); throw new TypeError("socket hang up"); }
        }
        return fetch(url, init);
      },
    });
    const sent = await flaky.sendMsg(text(b.uid, "through a bad network"));
    assert.equal(tries, 2);
    assert.equal(ids.size, 1);
    const history = await b.history(sent.conversation_id);
    assert.deepEqual(history.map((m) => m._id), [sent._id]);
  });

  test("history pages with before_seq, newest first, and after_seq fills oldest first", async () => {
    const [a, b] = [await signIn(app, "a"), await signIn(app, "b")];
    let conversation;
    for (let i = 1; i <= 7; i++) conversation = (await a.sendMsg(text(b.uid, "m" + i))).conversation_id;
    const newest = await b.history(conversation, undefined, 3);
    assert.deepEqual(newest.map((m) => m.seq), [7, 6, 5]);
    const older = await b.history(conversation, 5, 3);
    assert.deepEqual(older.map((m) => m.seq), [4, 3, 2]);
    const after = await b.api.getMsgList({ conversation_id: conversation, after_seq: 2, limit: 3 });
    assert.deepEqual(after.map((m) => m.seq), [3, 4, 5]);
  });

  test("messages over 1 KB arrive whole through the hint", async () => {
    const [a, b] = [await signIn(app, "a"), await signIn(app, "b")];
    const got = inbox(b);
    const pushes = [];
    b.on("push", (p) => pushes.push(p));
    await b.connect();
    const long = "长".repeat(1500);
    await a.sendMsg(text(b.uid, long));
    await waitFor(() => got.length === 1, "the large message");
    assert.equal(pushes[0].data.is_hint, true);
    assert.equal(got[0].body, long);
    await b.disconnect();
  });
});

describe("read receipts", () => {
  test("clearUnreadCount zeroes the unread count and the sender hears a read event", async () => {
    const [a, b] = [await signIn(app, "a"), await signIn(app, "b")];
    const reads = [];
    a.on("read", (e) => reads.push(e));
    await a.connect();
    const sent = await a.sendMsg(text(b.uid, "did you read this?"));
    assert.equal((await b.conversations())[0].unread_count, 1);
    await b.api.clearUnreadCount({ conversation_id: sent.conversation_id });
    assert.equal((await b.conversations())[0].unread_count, 0);
    await waitFor(() => reads.length > 0, "the read receipt");
    assert.deepEqual(reads[0], { conversation_id: sent.conversation_id, user_id: b.uid, read_seq: 1 });
    await a.disconnect();
  });
});

describe("no loss", () => {
  test("the socket cut while messages are sent: every message once, in seq order", async () => {
    const [a, b] = [await signIn(app, "a"), await signIn(app, "b")];
    const proxy = await startProxy(app.port);
    const bOnProxy = createClient({ baseUrl: app.baseUrl, token: b.token, rewriteSocketUrl: through(proxy) });
    const got = inbox(bOnProxy);
    await bOnProxy.connect();
    await a.sendMsg(text(b.uid, "before"));
    await waitFor(() => got.length === 1, "the first push");

    proxy.down = true;
    proxy.cut();
    for (let i = 1; i <= 5; i++) await a.sendMsg(text(b.uid, "while down " + i));
    await sleep(300);
    proxy.down = false;
    await waitFor(() => got.length >= 6, "the messages sent while down", 30_000);
    await sleep(1000); // replay and catch-up both ran: still nothing twice
    assert.deepEqual(got.map((m) => m.seq), [1, 2, 3, 4, 5, 6]);
    assert.equal(new Set(got.map((m) => m._id)).size, 6);
    await bOnProxy.disconnect();
    proxy.close();
  });

  test("a new connection (no replay) catches up with getMsgList after_seq", async () => {
    const [a, b] = [await signIn(app, "a"), await signIn(app, "b")];
    const got = inbox(b);
    let synced = 0;
    b.on("synced", () => synced++);
    await b.connect();
    await a.sendMsg(text(b.uid, "one"));
    await waitFor(() => got.length === 1, "the first push");
    await b.disconnect();
    for (const body of ["two", "three", "four"]) await a.sendMsg(text(b.uid, body));
    // A conversation that starts while away is caught up too.
    const c = await signIn(app, "c");
    await c.sendMsg(text(b.uid, "new conversation"));
    await b.connect();
    await waitFor(() => got.length === 5, "the catch-up");
    assert.ok(synced >= 1);
    const ab = got.filter((m) => m.from_uid === a.uid);
    assert.deepEqual(ab.map((m) => m.body), ["one", "two", "three", "four"]);
    assert.deepEqual(ab.map((m) => m.seq), [1, 2, 3, 4]);
    assert.deepEqual(got.filter((m) => m.from_uid === c.uid).map((m) => m.body), ["new conversation"]);
    await sleep(300);
    assert.equal(got.length, 5);
    await b.disconnect();
  });
});

describe("tokens", () => {
  test("a response's newToken replaces the token, and the new one works", async () => {
    const a = await signIn(app, "a");
    const first = a.token;
    const renewed = [];
    a.on("token", (t) => renewed.push(t));
    await sleep(2100);
    await a.api.getConversationList({});
    assert.equal(renewed.length, 1);
    assert.notEqual(a.token.token, first.token);
    assert.ok(a.token.tokenExpired > first.tokenExpired);
    const fresh = createClient({ baseUrl: app.baseUrl, token: a.token });
    assert.deepEqual(await fresh.api.getConversationList({}), []);
  });
});

describe("uni-im compatibility", () => {
  test("importObject('uni-im-co') takes uni-im's params and returns uni-im's result objects", async () => {
    const aCloud = createUniCloud({ baseUrl: app.baseUrl });
    const bCloud = createUniCloud({ baseUrl: app.baseUrl });
    const aCo = aCloud.importObject("uni-im-co", { customUI: true });
    const bCo = bCloud.importObject("uni-im-co");
    const login = await aCo.loginWithJWT({ signedData: app.signJwt({ openid: "compat-a-" + Date.now(), nickname: "A" }) });
    assert.equal(login.errCode, 0);
    assert.ok(login.newToken.token);
    const bLogin = await bCo.loginWithJWT({ signedData: app.signJwt({ openid: "compat-b-" + Date.now(), nickname: "B" }) });

    // uni-im's sendMsg: appId, isRetries (accepted and ignored), and {errCode:0, data:{_id, create_time}}.
    const sent = await aCo.sendMsg({ to_uid: bLogin.data.uid, appId: "__UNI__TEST", type: "text", body: "from uni-im code", isRetries: false });
    assert.equal(sent.errCode, 0);
    assert.ok(sent.data._id && sent.data.create_time);

    const list = await bCo.getConversationList({ limit: 30, page: 0 });
    assert.equal(list.errCode, 0);
    assert.equal(list.data[0].last_msg_note, "from uni-im code");
    assert.equal(list.data[0].user_info.nickname, "A");

    // Failures reject like uniCloud's cloud objects: an Error with errCode and errMsg.
    await assert.rejects(aCo.getMsgList({}), (e) => e.errCode === "uni-im-invalid-param" && /conversation_id/.test(e.errMsg) && e.errSubject === "uni-im-co");
    assert.throws(() => aCloud.importObject("uni-id-co"), /only 'uni-im-co'/);
  });
});
