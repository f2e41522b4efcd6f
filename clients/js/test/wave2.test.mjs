// Groups, revoke, edit and replies through the SDK against the real app (docs/api.md "Groups" and "Messages: types,
// replies, mentions, revoke, edit, search").
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { disconnectAll, inbox, signIn, startApp, waitFor } from "./support.mjs";

let app;
before(async () => { app = await startApp(); });
after(async () => { await disconnectAll(); await app?.stop(); });

const texts = (got) => got.filter((m) => m.type === "text").map((m) => m.body);

describe("groups", () => {
  test("a group of three: create, add a member, every member hears every message in order", async () => {
    const [a, b, c] = [await signIn(app, "a"), await signIn(app, "b"), await signIn(app, "c")];
    const created = await a.api.chooseUserIntoGroup({ user_ids: [b.uid], groupInfo: { name: "three" } });
    const { group_id } = created;
    assert.deepEqual(created.added.toSorted(), [a.uid, b.uid].toSorted(), "the creator and the chosen are added");
    await a.api.chooseUserIntoGroup({ group_id, user_ids: [c.uid] });
    const info = await b.api.getGroupInfo({ group_id });
    assert.equal(info.name, "three");
    assert.equal(info.user_id, a.uid);
    assert.equal(info.member_count, 3);

    const [gotB, gotC] = [inbox(b), inbox(c)];
    await b.connect();
    await c.connect();
    await a.sendMsg({ group_id, type: "text", body: "hi all" });
    await b.sendMsg({ group_id, type: "text", body: "hi from b" });
    await waitFor(() => texts(gotC).length === 2 && texts(gotB).length === 2, "both group messages at b and c");
    assert.deepEqual(texts(gotC), ["hi all", "hi from b"]);
    const seqs = gotC.map((m) => m.seq);
    assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y));
    const row = (await c.conversations()).find((r) => r.id === "group_" + group_id);
    assert.ok(row, "the group is in c's conversation list");
    assert.equal(row.type, 2);
    assert.equal(row.group_info.name, "three");
    await b.disconnect();
    await c.disconnect();
  });

  test("a member added while connected hears the announcement and the messages after it, without reconnecting", async () => {
    const [a, b, c] = [await signIn(app, "a"), await signIn(app, "b"), await signIn(app, "c")];
    const { group_id } = await a.api.chooseUserIntoGroup({ user_ids: [b.uid] });
    const gotC = inbox(c);
    await c.connect();
    await a.api.chooseUserIntoGroup({ group_id, user_ids: [c.uid] });
    await a.sendMsg({ group_id, type: "text", body: "welcome, c" });
    await waitFor(() => texts(gotC).length === 1, "the message after c joined");
    const [joined] = gotC;
    assert.equal(joined.type, "system");
    assert.equal(joined.from_uid, "system");
    assert.equal(joined.body.action, "join-group");
    assert.deepEqual(joined.body.user_id_list, [c.uid]);
    assert.equal(joined.body.operator_uid, a.uid);
    assert.deepEqual(gotC.map((m) => m.seq), [joined.seq, joined.seq + 1]);
    await c.disconnect();
  });

  test("the conversation list shows a group by its last message and moves it up with activity", async () => {
    const [a, b] = [await signIn(app, "a"), await signIn(app, "b")];
    const { group_id } = await a.api.chooseUserIntoGroup({ user_ids: [b.uid] });
    const sent = await a.sendMsg({ group_id, type: "text", body: "group news" });
    await a.sendMsg({ to_uid: b.uid, type: "text", body: "a 1:1 word" });
    const later = await a.sendMsg({ group_id, type: "text", body: "more group news" });
    // docs/api.md "Groups": rows merged with single rows by activity, carrying last_msg.
    const rows = await b.conversations();
    const row = rows.find((r) => r.id === "group_" + group_id);
    assert.deepEqual({ last_seq: row.last_seq, note: row.last_msg_note, time: row.last_msg_create_time, body: row.last_msg?.body },
      { last_seq: later.seq, note: "more group news", time: later.create_time, body: "more group news" });
    assert.equal(rows[0].id, row.id, "the group's newest message is newer than the 1:1 one");
    assert.ok(row.update_time >= later.create_time && later.create_time > sent.create_time);
  });

  test("a non-member cannot send to the group", async () => {
    const [a, b, stranger] = [await signIn(app, "a"), await signIn(app, "b"), await signIn(app, "s")];
    const { group_id } = await a.api.chooseUserIntoGroup({ user_ids: [b.uid] });
    await assert.rejects(stranger.sendMsg({ group_id, type: "text", body: "let me in" }), (e) => e.status === 403);
  });
});

describe("revoke and edit", () => {
  test("the sender revokes: the receiver hears a revoke event and history keeps the seq without the body", async () => {
    const [a, b] = [await signIn(app, "a"), await signIn(app, "b")];
    const revokes = [];
    b.on("revoke", (e) => revokes.push(e));
    await b.connect();
    const sent = await a.sendMsg({ to_uid: b.uid, type: "text", body: "oops" });
    const revoked = await a.revokeMsg(sent);
    assert.equal(revoked._id, sent._id);
    await waitFor(() => revokes.length === 1, "the revoke event");
    assert.deepEqual({ ...revokes[0], update_time: 0 }, {
      _id: sent._id, conversation_id: sent.conversation_id, seq: sent.seq, from_uid: a.uid, revoked_by: a.uid, update_time: 0, is_revoke: true,
    });
    const [message] = await b.history(sent.conversation_id);
    assert.equal(message.seq, sent.seq);
    assert.equal(message.is_revoke, true);
    assert.equal(message.body, null);
    await b.disconnect();
  });

  test("someone else's message cannot be revoked", async () => {
    const [a, b] = [await signIn(app, "a"), await signIn(app, "b")];
    const sent = await a.sendMsg({ to_uid: b.uid, type: "text", body: "mine" });
    await assert.rejects(b.revokeMsg(sent), (e) => e.status === 403 && e.errCode === "uni-im-no-permission");
  });

  test("a revoke in a group reaches every member", async () => {
    const [a, b] = [await signIn(app, "a"), await signIn(app, "b")];
    const { group_id } = await a.api.chooseUserIntoGroup({ user_ids: [b.uid] });
    const revokes = [];
    b.on("revoke", (e) => revokes.push(e));
    await b.connect();
    const sent = await a.sendMsg({ group_id, type: "text", body: "wrong group" });
    await a.revokeMsg(sent);
    await waitFor(() => revokes.length === 1, "the group's revoke event");
    assert.equal(revokes[0]._id, sent._id);
    assert.equal(revokes[0].conversation_id, "group_" + group_id);
    await b.disconnect();
  });

  test("an edit reaches the receiver as the message with its new body", async () => {
    const [a, b] = [await signIn(app, "a"), await signIn(app, "b")];
    const edits = [];
    b.on("edit", (m) => edits.push(m));
    await b.connect();
    const sent = await a.sendMsg({ to_uid: b.uid, type: "text", body: "teh typo" });
    await a.editMsg(sent, "the typo");
    await waitFor(() => edits.length === 1, "the edit event");
    assert.equal(edits[0]._id, sent._id);
    assert.equal(edits[0].body, "the typo");
    assert.ok(edits[0].edit_time > 0);
    await b.disconnect();
  });
});

describe("reply", () => {
  test("a reply names the message it answers, and a reply to a message of another conversation is refused", async () => {
    const [a, b, c] = [await signIn(app, "a"), await signIn(app, "b"), await signIn(app, "c")];
    const question = await a.sendMsg({ to_uid: b.uid, type: "text", body: "lunch?" });
    const answer = await b.sendMsg({ to_uid: a.uid, type: "text", body: "yes", about_msg_id: question._id });
    const [latest] = await a.history(question.conversation_id);
    assert.equal(latest._id, answer._id);
    assert.equal(latest.about_msg_id, question._id);
    assert.deepEqual(latest.call_uid, [a.uid], "the quoted author counts as mentioned");
    await assert.rejects(c.sendMsg({ to_uid: a.uid, type: "text", body: "sneaky", about_msg_id: question._id }),
      (e) => e.status === 404 && e.errCode === "uni-im-not-found");
  });
});
