// A legacy backend in Node.js 18+ (no packages): sign a login JWT, trade it for an ImFunctions token
// (loginWithJWT), then send the user a system message with a signed server-to-server call.
// Settings from the environment: IMF_URL, IMF_JWT_SECRET, IMF_OPENID, IMF_KEY_ID, IMF_KEY.
import { createHash, createHmac, randomUUID } from "node:crypto";

const { IMF_URL, IMF_JWT_SECRET, IMF_OPENID, IMF_KEY_ID, IMF_KEY } = process.env;
const url = IMF_URL.replace(/\/$/, "");
const b64url = buf => Buffer.from(buf).toString("base64url");

function loginJwt(openid) {
  const header = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  // uni-im's docs sign exp in milliseconds: Date.now() + 60000
  const payload = b64url(JSON.stringify({ exp: Date.now() + 60000, userInfo: { openid, nickname: "Node User" } }));
  const signature = createHmac("sha256", IMF_JWT_SECRET).update(`${header}.${payload}`).digest("base64url");
  return `${header}.${payload}.${signature}`;
}

async function post(method, body, headers = {}) {
  const response = await fetch(`${url}/api/${method}`, {
    method: "POST", headers: { "Content-Type": "application/json", ...headers }, body,
  });
  const reply = await response.json();
  if (!response.ok) throw new Error(`${method}: ${response.status} ${JSON.stringify(reply)}`);
  return reply;
}

async function signedPost(method, params, actAs = "") {
  const body = JSON.stringify(params);            // sign exactly the bytes you send
  const timestamp = String(Date.now()), nonce = randomUUID();
  const bodyHash = createHash("sha256").update(body, "utf8").digest("hex");
  const canonical = ["POST", `/api/${method}`, timestamp, nonce, actAs, bodyHash].join("\n");
  const signature = createHmac("sha256", IMF_KEY).update(canonical, "utf8").digest("hex");
  return post(method, body, {
    "X-ImF-Key-Id": IMF_KEY_ID, "X-ImF-Timestamp": timestamp, "X-ImF-Nonce": nonce,
    "X-ImF-Act-As": actAs, "X-ImF-Signature": signature,
  });
}

const { data: { uid } } = await post("loginWithJWT", JSON.stringify({ signedData: loginJwt(IMF_OPENID) }));
const sent = await signedPost("sendSystemMsg", { to_uid: uid, body: "hello from node", action: "notice" });
console.log(JSON.stringify({ uid, sent: sent.data }));
