// @azure/web-pubsub-client (reliable protocol, its defaults) against ImFunctions' local hub, the way a uni-im web
// client would use it: the URL comes from negotiate, pushes come from sendMsg. In between, the connection is cut
// (no close frame) through a TCP proxy while messages are sent, then closed by the server with closeUserConnections.
//
// stdin: { appUrl, hub, connectionString, receiver: { uid, token }, sender: { token } }
import net from "node:net";
import { WebPubSubClient } from "@azure/web-pubsub-client";
import { WebPubSubServiceClient } from "@azure/web-pubsub";
import { log, readInput, run, sleep, waitFor } from "./wps-common.mjs";

const input = await readInput();

await run(async (observed) => {
  const proxy = await startProxy(new URL(input.appUrl));
  observed.upgrades = proxy.upgrades;
  observed.negotiations = 0;
  observed.connected = [];
  observed.disconnected = [];
  observed.pushes = [];

  const client = new WebPubSubClient({
    getClientAccessUrl: async () => {
      observed.negotiations++;
      const reply = await api("negotiate", input.receiver.token, {});
      const url = new URL(reply.data.url);
      url.port = String(proxy.port); // the same URL, through the proxy the test can cut
      return url.toString();
    },
  });
  client.on("connected", (e) => { log("connected", e.connectionId); observed.connected.push(e.connectionId); });
  client.on("disconnected", (e) => { log("disconnected", e.message?.message); observed.disconnected.push(e.message?.message ?? null); });
  const onPush = (push) => {
    log("push", push.event, push.data?.seq);
    // Pushes that queued up for the user arrive as one batch frame: its events, in order.
    if (push.type === "im" && push.event === "batch") return push.data.forEach(onPush);
    if (push.type === "im" && push.event === "msg") observed.pushes.push({ seq: push.data.seq, body: push.data.body });
  };
  client.on("server-message", (e) => onPush(e.message.data));
  const seen = () => observed.pushes.length;

  await client.start();
  await waitFor(() => observed.connected.length === 1, "the first connected event");
  await sendText("before the cut");
  await waitFor(() => seen() === 1, "the first push");

  log("cutting the connection");
  proxy.down = true;
  proxy.cut();
  await sleep(300);
  for (const text of ["while cut 1", "while cut 2", "while cut 3"]) await sendText(text);
  await sleep(500); // the pushes reach the hub and wait in the connection's replay buffer
  proxy.down = false;
  await waitFor(() => seen() === 4, "the messages sent while cut off");
  await sleep(1500); // and nothing twice
  observed.pushesAfterRecovery = seen();

  log("closing the user's connections");
  const service = new WebPubSubServiceClient(input.connectionString, input.hub, { allowInsecureConnection: true });
  await service.closeUserConnections(input.receiver.uid, { reason: "closed by the test" });
  await waitFor(() => observed.connected.length === 2, "a fresh connection after the refused recovery");
  await sendText("on the fresh connection");
  await waitFor(() => seen() === 5, "the push on the fresh connection");
  await sleep(300);

  await client.stop();
  proxy.close();
});

async function sendText(text) {
  const reply = await api("sendMsg", input.sender.token, { to_uid: input.receiver.uid, appId: "__UNI__TEST", type: "text", body: text });
  log("sent", text, "seq", reply.data.seq);
}

async function api(method, token, body) {
  const response = await fetch(new URL("api/" + method, input.appUrl), {
    method: "POST",
    headers: { authorization: "Bearer " + token, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = await response.json();
  if (response.status !== 200) throw new Error(`${method} answered ${response.status}: ${JSON.stringify(json)}`);
  return json;
}

/** A TCP proxy to the app. cut() resets every connection (no close frame); while down, new ones are reset too. */
function startProxy(target) {
  const pairs = new Set();
  const proxy = { down: false, upgrades: [], port: 0 };
  const server = net.createServer((client) => {
    if (proxy.down) return client.resetAndDestroy();
    const upstream = net.connect(Number(target.port), target.hostname);
    const pair = { client, upstream };
    pairs.add(pair);
    let first = true;
    client.on("data", (chunk) => {
      if (first) {
        first = false;
        // Keep the shape of the WebSocket request (new or recovery), never the tokens.
        const line = chunk.toString("latin1").split("\r\n")[0];
        proxy.upgrades.push(line.includes("awps_connection_id=") ? "recovery" : "new");
      }
      upstream.write(chunk);
    });
    upstream.on("data", (chunk) => client.write(chunk));
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.on("error", end);
      socket.on("close", end);
    }
  });
  proxy.cut = () => {
    for (const { client, upstream } of pairs) {
      client.resetAndDestroy();
      upstream.resetAndDestroy();
    }
    pairs.clear();
  };
  proxy.close = () => server.close();
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      proxy.port = server.address().port;
      resolve(proxy);
    }));
}
