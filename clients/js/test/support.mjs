// Starts the real local host (the built ImFunctions.Local.dll) on a free port with test secrets, signs legacy JWTs
// the way a legacy backend does, and cuts connections through a TCP proxy.
import { spawn } from "node:child_process";
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createClient } from "../dist/index.js";

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, "../../..");
export const appDll = process.env.IMF_APP_DLL
  ?? path.join(repoRoot, "functions/ImFunctions.Local/bin/Release/net10.0/ImFunctions.Local.dll");

export async function freePort() {
  const server = net.createServer();
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

/** The app with its own data folder and secrets; `settings` adds or overrides environment settings. */
export async function startApp(settings = {}) {
  if (!existsSync(appDll))
    throw new Error(`The app is not built: ${appDll} is missing. Run 'dotnet build functions/ImFunctions.Local -c Release' (tests/run.sh does).`);
  const dataDirectory = mkdtempSync(path.join(tmpdir(), "imf-sdk-"));
  const port = await freePort();
  const jwtSecret = "sdk-test-legacy-" + randomBytes(24).toString("hex");
  const hubKey = "sdk-test-hub-" + randomBytes(24).toString("hex");
  const env = {
    ...process.env,
    DataDirectory: dataDirectory,
    PORT: String(port),
    UniIm__JwtSecret: jwtSecret,
    Auth__TokenSecret: "sdk-test-token-" + randomBytes(24).toString("hex"),
    LocalHub__AccessKey: hubKey,
    ASPNETCORE_ENVIRONMENT: "Production",
    DOTNET_NOLOGO: "1",
    ...settings,
  };
  // devSecrets: run as `dotnet run` does on a developer's machine, secrets generated into the data folder.
  if (settings.devSecrets) for (const key of ["UniIm__JwtSecret", "Auth__TokenSecret", "LocalHub__AccessKey", "devSecrets"]) delete env[key];
  const child = spawn("dotnet", [appDll], { cwd: dataDirectory, env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (d) => { output = (output + d).slice(-20000); });
  child.stderr.on("data", (d) => { output = (output + d).slice(-20000); });
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the app exited with ${child.exitCode}:\n${output}`);
    try {
      if ((await fetch(baseUrl + "/api/health")).ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) { child.kill(); throw new Error(`the app did not answer /api/health in 60 s:\n${output}`); }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    baseUrl, port, jwtSecret, output: () => output,
    /** A legacy backend's JWT for a user (exp in ms, as uni-im's docs sign it). */
    signJwt: (userInfo, expInMs = 60_000) => signJwt({ exp: Date.now() + expInMs, userInfo }, jwtSecret),
    /** Pushes `data` to a user's connections through the hub's Web PubSub REST API, as the server's push calls do. */
    async pushToUser(uid, data) {
      const url = `${baseUrl}/api/hubs/im/users/${encodeURIComponent(uid)}/:send?api-version=2024-12-01`;
      const token = signJwt({ aud: url, exp: Math.floor(Date.now() / 1000) + 300 }, hubKey);
      const response = await fetch(url, {
        method: "POST",
        headers: { authorization: "Bearer " + token, "content-type": "application/json" },
        body: JSON.stringify(data),
      });
      if (response.status !== 202) throw new Error(`the hub answered ${response.status}: ${await response.text()}`);
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await Promise.race([new Promise((r) => child.once("exit", r)), new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null) child.kill("SIGKILL");
      }
      rmSync(dataDirectory, { recursive: true, force: true });
    },
  };
}

export function signJwt(payload, secret) {
  const part = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const unsigned = part({ alg: "HS256", typ: "JWT" }) + "." + part(payload);
  return unsigned + "." + createHmac("sha256", Buffer.from(secret, "utf8")).update(unsigned).digest("base64url");
}

const clients = new Set();
/** Closes every socket a test left open (a failed assertion skips its disconnect): else the file never ends. */
export async function disconnectAll() {
  await Promise.all([...clients].map((c) => c.disconnect().catch(() => {})));
  clients.clear();
}

/** A signed-in SDK client for a new user; `options` go to createClient. */
export async function signIn(app, name, options = {}) {
  const client = createClient({ baseUrl: app.baseUrl, ...options });
  clients.add(client);
  const openid = `${name}-${randomUUID()}`;
  await client.loginWithJWT(app.signJwt({ openid, nickname: name }));
  return client;
}

/** Collects a client's delivered messages per conversation. */
export function inbox(client) {
  const messages = [];
  client.on("msg", (m) => messages.push(m));
  return messages;
}

export async function waitFor(condition, what, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A TCP proxy to the app: cut() resets every connection (no close frame); while `down`, new ones are reset too. */
export function startProxy(targetPort) {
  const pairs = new Set();
  const proxy = { down: false, port: 0 };
  const server = net.createServer((client) => {
    if (proxy.down) return client.resetAndDestroy();
    const upstream = net.connect(targetPort, "127.0.0.1");
    const pair = { client, upstream };
    pairs.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => { pairs.delete(pair); client.destroy(); upstream.destroy(); };
    for (const socket of [client, upstream]) { socket.on("error", end); socket.on("close", end); }
  });
  proxy.cut = () => {
    for (const { client, upstream } of pairs) { client.resetAndDestroy(); upstream.resetAndDestroy(); }
    pairs.clear();
  };
  proxy.close = () => { proxy.cut(); server.close(); };
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => { proxy.port = server.address().port; resolve(proxy); }));
}

/** Points a negotiated WebSocket URL at the proxy. */
export const through = (proxy) => (url) => { const u = new URL(url); u.port = String(proxy.port); return u.toString(); };
