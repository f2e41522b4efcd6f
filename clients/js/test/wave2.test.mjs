// Features other branches add (SPEC §9, §11). Each test is `todo` until its feature is switched on in features.json;
// once on, a missing method fails with a message naming it instead of passing or skipping.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ImError } from "../dist/index.js";
import { disconnectAll, inbox, signIn, startApp, waitFor, when } from "./support.mjs";

let app;
before(async () => { app = await startApp(); });
after(async () => { await disconnectAll(); await app?.stop(); });

/** Calls a method; a 404 that is the route's (not uni-im-not-found) means the feature is not on this branch. */
async function callNew(client, method, params) {
  try {
    return await client.call(method, params);
  } catch (e) {
    if (e instanceof ImError && e.status === 404 && e.errCode !== "uni-im-not-found")
      assert.fail(`${method} is not served by this app (HTTP 404): its feature is not merged yet`);
    throw e;
  }
}

describe("groups", () => {
  test("a group of three: create, add a member, every member hears every message in order", when("groups"), async () => {
    const [a, b, c] = [await signIn(app, "a"), await signIn(app, "b"), await signIn(app, "c")];
    const created = await callNew(a, "chooseUserIntoGroup", { user_ids: [b.uid], groupInfo: { name: "three" } });
    const group_id = created.group_id ?? created._id;
    assert.ok(group_id, "chooseUserIntoGroup answers the new group's id");
    await callNew(a, "chooseUserIntoGroup", { group_id, user_ids: [c.uid] });
    const info = await callNew(b, "getGroupInfo", { group_id });
    assert.equal(info.name ?? info.group_info?.name, "three");

    const [gotB, gotC] = [inbox(b), inbox(c)];
    await b.connect();
    await c.connect();
    await a.sendMsg({ group_id, type: "text", body: "hi all" });
    await b.sendMsg({ group_id, type: "text", body: "hi from b" });
    const texts = (got) => got.filter((m) => m.type === "text").map((m) => m.body);
    await waitFor(() => texts(gotC).length === 2 && texts(gotB).length === 2, "both group messages at b and c");
    assert.deepEqual(texts(gotC), ["hi all", "hi from b"]);
    const seqs = gotC.map((m) => m.seq);
    assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y));
    const row = (await c.conversations()).find((r) => r.id === "group_" + group_id);
    assert.ok(row, "the group is in c's conversation list");
    assert.equal(row.type, 2);
    await b.disconnect();
    await c.disconnect();
  });

  test("a non-member cannot send to the group", when("groups"), async () => {
    const [a, b, stranger] = [await signIn(app, "a"), await signIn(app, "b"), await signIn(app, "s")];
    const created = await callNew(a, "chooseUserIntoGroup", { user_ids: [b.uid] });
    await assert.rejects(stranger.sendMsg({ group_id: created.group_id ?? created._id, type: "text", body: "let me in" }),
      (e) => e.status === 403);
  });
});

describe("revoke", () => {
  test("the sender revokes: the receiver hears a revoke event and history keeps the seq without the body", when("revoke"), async () => {
    const [a, b] = [await signIn(app, "a"), await signIn(app, "b")];
    const revokes = [];
    b.on("revoke", (e) => revokes.push(e));
    await b.connect();
    const sent = await a.sendMsg({ to_uid: b.uid, type: "text", body: "oops" });
    await callNew(a, "revokeMsg", { msg_id: sent._id });
    await waitFor(() => revokes.length === 1, "the revoke event");
    assert.equal(revokes[0].msg_id ?? revokes[0]._id, sent._id);
    const [message] = await b.history(sent.conversation_id);
    assert.equal(message.seq, sent.seq);
    assert.equal(message.is_revoke, true);
    assert.notEqual(message.body, "oops");
    await b.disconnect();
  });

  test("someone else's message cannot be revoked", when("revoke"), async () => {
    const [a, b] = [await signIn(app, "a"), await signIn(app, "b")];
    const sent = await a.sendMsg({ to_uid: b.uid, type: "text", body: "mine" });
    await assert.rejects(callNew(b, "revokeMsg", { msg_id: sent._id }), (e) => e.status === 403);
  });
});

describe("reply", () => {
  test("a reply names the message it answers, and a reply to a message of another conversation is refused", when("reply"), async () => {
    const [a, b, c] = [await signIn(app, "a"), await signIn(app, "b"), await signIn(app, "c")];
    const question = await a.sendMsg({ to_uid: b.uid, type: "text", body: "lunch?" });
    const answer = await b.sendMsg({ to_uid: a.uid, type: "text", body: "yes", about_msg_id: question._id });
    const [latest] = await a.history(question.conversation_id);
    assert.equal(latest._id, answer._id);
    assert.equal(latest.about_msg_id, question._id);
    await assert.rejects(c.sendMsg({ to_uid: a.uid, type: "text", body: "sneaky", about_msg_id: question._id }),
      (e) => e.status === 400 || e.status === 404 || e.status === 403);
  });
});
