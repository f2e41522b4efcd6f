// @azure/web-pubsub (Microsoft's server SDK) driving ImFunctions' local hub through its REST API, with a real
// @azure/web-pubsub-client connection on the receiving end.
//
// stdin: { connectionString, hub }
import { WebPubSubClient } from "@azure/web-pubsub-client";
import { WebPubSubServiceClient } from "@azure/web-pubsub";
import { log, readInput, run, sleep, waitFor } from "./wps-common.mjs";

const input = await readInput();

await run(async (observed) => {
  const service = new WebPubSubServiceClient(input.connectionString, input.hub, { allowInsecureConnection: true });
  const userId = "sdk-user-" + Math.random().toString(36).slice(2, 10);
  const group = "sdk-room-" + Math.random().toString(36).slice(2, 10);
  observed.received = [];
  observed.disconnected = [];

  const { url } = await service.getClientAccessToken({ userId });
  const client = new WebPubSubClient(url, { autoReconnect: false });
  let connected = null;
  client.on("connected", (e) => { connected = e; });
  client.on("disconnected", (e) => observed.disconnected.push(e.message?.message ?? null));
  client.on("server-message", (e) => observed.received.push({ from: "server", dataType: e.message.dataType, data: e.message.data }));
  client.on("group-message", (e) => observed.received.push({ from: "group", group: e.message.group, dataType: e.message.dataType, data: e.message.data }));
  await client.start();
  await waitFor(() => connected !== null, "connected");
  observed.connectedUserId = connected.userId;

  await service.sendToUser(userId, { hello: "user" });
  await waitFor(() => observed.received.length === 1, "the sendToUser message");

  await service.group(group).addUser(userId);
  await service.group(group).sendToAll({ hello: "group" });
  await waitFor(() => observed.received.length === 2, "the group message");

  // Removed from the group: the next group message does not arrive; a marker sent to the user after it does,
  // and one connection delivers in order, so the marker coming next proves the group message never came.
  await service.group(group).removeUser(userId);
  await service.group(group).sendToAll({ hello: "after removal" });
  await service.sendToUser(userId, { marker: "after removal" });
  await waitFor(() => observed.received.length === 3, "the marker after the removal");

  await service.sendToAll("to everyone", { contentType: "text/plain" });
  await waitFor(() => observed.received.length === 4, "the sendToAll message");

  // A token naming a group (webpubsub.group claim) puts the connection in it as it opens.
  const claimedGroup = "sdk-claimed-" + Math.random().toString(36).slice(2, 10);
  const claimed = await service.getClientAccessToken({ userId: userId + "-2", groups: [claimedGroup] });
  const second = new WebPubSubClient(claimed.url, { autoReconnect: false });
  observed.claimed = [];
  second.on("group-message", (e) => observed.claimed.push({ group: e.message.group, data: e.message.data }));
  await second.start();
  await service.group(claimedGroup).sendToAll({ hello: "claimed" });
  await waitFor(() => observed.claimed.length === 1, "the message to the token's group");
  observed.claimedGroupName = claimedGroup;
  await second.stop();

  observed.userExists = await service.userExists(userId);
  observed.strangerExists = await service.userExists(userId + "-nobody");

  await service.closeUserConnections(userId, { reason: "the SDK said bye" });
  // The reliable client then tries to recover; the hub refuses (1008), and without autoReconnect it stops.
  await waitFor(() => observed.disconnected.length === 1, "the disconnected event");
  await sleep(200);
  observed.userExistsAfterClose = await service.userExists(userId);

  const intruder = new WebPubSubServiceClient(
    input.connectionString.replace(/AccessKey=[^;]*/i, "AccessKey=" + "not-the-key-".repeat(4)),
    input.hub,
    { allowInsecureConnection: true });
  try {
    await intruder.sendToAll({ sneaky: true });
    observed.wrongKey = "accepted";
  } catch (error) {
    observed.wrongKey = error.statusCode ?? String(error);
  }
  log("done");
  await client.stop();
});
