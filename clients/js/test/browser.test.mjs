// The web chat in Debian's Chromium (playwright-core, never a downloaded browser): two or three users in separate
// browser contexts against the real local host with generated development secrets (its development sign-in on).
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { chromium } from "playwright-core";
import { repoRoot, startApp } from "./support.mjs";

const browserPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const webChat = path.join(repoRoot, "functions/ImFunctions.Local/webchat");
export const screenshots = path.join(repoRoot, "artifacts/screenshots");

let app, browser;
before(async () => {
  if (!existsSync(browserPath)) throw new Error(`No Chromium at ${browserPath}: run 'apt-get install -y chromium' (tests/run.sh does), or set CHROMIUM_PATH.`);
  if (!existsSync(path.join(webChat, "index.html"))) throw new Error("The web chat is not built: run 'npm run build:web' in clients/js (tests/run.sh does).");
  mkdirSync(screenshots, { recursive: true });
  app = await startApp({ devSecrets: true, WebChat__Path: webChat });
  // launch() gives Chromium a fresh temporary --user-data-dir of its own (and refuses one passed in args).
  browser = await chromium.launch({
    executablePath: browserPath,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
});
after(async () => {
  await browser?.close();
  await app?.stop();
});

let unique = 0;
const nameFor = (who) => `${who}${Date.now().toString(36)}${unique++}`;

async function signIn(who) {
  const context = await browser.newContext({ viewport: { width: 1000, height: 640 } });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  // What the page says, for a failure's explanation (explained): its console, its errors, failed requests.
  const log = [];
  const at = () => new Date().toISOString().slice(11, 23);
  page.on("console", (m) => log.push(`${at()} console.${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => log.push(`${at()} error: ${e.message}`));
  page.on("response", (r) => { if (r.status() >= 400) log.push(`${at()} ${r.status()} ${r.url()}`); });
  page.on("requestfailed", (r) => log.push(`${at()} failed: ${r.url()} ${r.failure()?.errorText ?? ""}`));
  // And what its push socket received and sent, to tell a push the server never sent from one the page did not show.
  page.on("websocket", (ws) => {
    log.push(`${at()} socket opened`);
    ws.on("framereceived", (f) => log.push(`${at()} socket in: ${String(f.payload).slice(0, 300)}`));
    ws.on("framesent", (f) => log.push(`${at()} socket out: ${String(f.payload).slice(0, 120)}`));
    ws.on("close", () => log.push(`${at()} socket closed`));
  });
  const name = nameFor(who);
  await page.goto(app.baseUrl + "/");
  await page.getByLabel("Your name").fill(name);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator('#status[data-state="online"]').waitFor();
  return { context, page, name, log };
}

async function openChatWith(user, peerName) {
  await user.page.getByPlaceholder("Chat with (name)").fill(peerName);
  await user.page.getByRole("button", { name: "Chat", exact: true }).click();
  await user.page.locator("#room-title", { hasText: peerName }).waitFor();
}

async function send(user, text) {
  await user.page.getByLabel("Message", { exact: true }).fill(text);
  await user.page.getByRole("button", { name: "Send" }).click();
  await user.page.locator(".message.mine .text", { hasText: text }).last().waitFor();
}

const conversationButton = (user, title) => user.page.locator("#conversations button", { has: user.page.locator(".conversation-name", { hasText: title }) });
const texts = (user) => user.page.locator("#messages .message .text").allTextContents();

async function pair() {
  const a = await signIn("alice"), b = await signIn("bob");
  await openChatWith(a, b.name);
  return { a, b };
}

test("A messages B: B sees it live with an unread badge, opens it, and A sees the read receipt", async () => {
  const { a, b } = await pair();
  await send(a, "Hello Bob!");
  const row = conversationButton(b, a.name);
  await row.locator(".badge", { hasText: "1" }).waitFor();
  await row.locator(".conversation-last", { hasText: "Hello Bob!" }).waitFor();
  await b.page.screenshot({ path: path.join(screenshots, "unread-badge.png") });
  await row.click();
  await b.page.locator(".message .text", { hasText: "Hello Bob!" }).waitFor();
  await a.page.locator(".message.mine .receipt", { hasText: "Read" }).waitFor();
  await send(b, "Hi Alice, got it.");
  await a.page.locator(".message:not(.mine) .text", { hasText: "Hi Alice, got it." }).waitFor();
  await a.page.screenshot({ path: path.join(screenshots, "webchat.png") });
  await a.context.close();
  await b.context.close();
});

test("B replies with a quote", async () => {
  const { a, b } = await pair();
  await send(a, "Lunch at noon?");
  await conversationButton(b, a.name).click();
  const question = b.page.locator(".message", { hasText: "Lunch at noon?" });
  await question.getByRole("button", { name: "Reply" }).click();
  await send(b, "Yes, see you there");
  const answer = a.page.locator(".message:not(.mine)", { hasText: "Yes, see you there" });
  await answer.locator("blockquote", { hasText: "Lunch at noon?" }).waitFor();
  await a.context.close();
  await b.context.close();
});

test("A revokes a message and it disappears from B's screen", async () => {
  const { a, b } = await pair();
  await send(a, "This was a mistake");
  await conversationButton(b, a.name).click();
  await b.page.locator(".message .text", { hasText: "This was a mistake" }).waitFor();
  await a.page.locator(".message.mine", { hasText: "This was a mistake" }).getByRole("button", { name: "Revoke" }).click();
  await b.page.locator(".message.revoked").waitFor();
  assert.ok(!(await texts(b)).some((t) => t.includes("This was a mistake")), "the revoked text is gone on B's screen");
  await a.context.close();
  await b.context.close();
});

test("a group of three exchanges messages", async () => {
  const a = await signIn("alice"), b = await signIn("bob"), c = await signIn("carol");
  // The new group's history is held back while Alice types Carol's name: its arrival must not pull her caret away
  // (it once did, and her name went into the message box while an empty add was sent).
  let releaseHistory;
  const historyHeld = new Promise((resolve) => (releaseHistory = resolve));
  await a.page.route("**/api/getMsgList", async (route) => { await historyHeld; await route.continue(); });
  await a.page.getByPlaceholder("Group with: bob, carol").fill(b.name);
  await a.page.getByRole("button", { name: "Group", exact: true }).click();
  await a.page.locator("#add-members").waitFor();
  const adding = a.page.getByPlaceholder("Add: dave");
  await adding.fill(c.name);
  releaseHistory();
  await a.page.locator('#messages[aria-busy="false"]').waitFor({ state: "attached" });
  await a.page.unroute("**/api/getMsgList");
  assert.equal(await a.page.evaluate(() => document.activeElement?.id), "add-members-names", "the caret stayed where Alice typed");
  assert.equal(await adding.inputValue(), c.name);
  await a.page.getByRole("button", { name: "Add", exact: true }).click();
  await explained([a, b, c], "group", async () => {
    // Carol is a member once the add has answered (the web chat then clears the field; on an error it keeps it and
    // says why): a message sent before that is history she joined after.
    await a.page.waitForFunction(() => document.querySelector("#add-members-names").value === "" || document.querySelector("#room-error").textContent);
    assert.equal(await a.page.locator("#room-error").textContent(), "", "adding Carol failed");
    await send(a, "Welcome to the group");
    for (const member of [b, c]) {
      await member.page.locator("#conversations button", { hasText: "Welcome to the group" }).click();
      await member.page.locator(".message .text", { hasText: "Welcome to the group" }).waitFor();
    }
    await send(b, "Thanks from Bob");
    await send(c, "Thanks from Carol");
    for (const text of ["Thanks from Bob", "Thanks from Carol"]) await a.page.locator(".message .text", { hasText: text }).waitFor();
    await c.page.locator(".message .text", { hasText: "Thanks from Bob" }).waitFor();
  });
  await a.page.screenshot({ path: path.join(screenshots, "group.png") });
  for (const user of [a, b, c]) await user.context.close();
});

/** Runs steps; when one fails, saves each user's screen and prints what their page logged, then fails the same way. */
async function explained(users, name, steps) {
  try {
    await steps();
  } catch (error) {
    for (const user of users) {
      await user.page.screenshot({ path: path.join(screenshots, `failed-${name}-${user.name}.png`) }).catch(() => {});
      console.error(`${user.name}'s page (screenshot failed-${name}-${user.name}.png):\n  ${user.log.join("\n  ") || "(nothing logged)"}`);
    }
    throw error;
  }
}

test("B goes offline while A sends three messages; back online B sees all three once, in order", async () => {
  const { a, b } = await pair();
  await send(a, "first");
  await conversationButton(b, a.name).click();
  await b.page.locator(".message .text", { hasText: "first" }).waitFor();
  await b.context.setOffline(true);
  for (const text of ["offline 1", "offline 2", "offline 3"]) await send(a, text);
  await b.page.waitForTimeout(500);
  await b.context.setOffline(false);
  await b.page.locator(".message .text", { hasText: "offline 3" }).waitFor({ timeout: 45_000 });
  await b.page.locator('#status[data-state="online"]').waitFor({ timeout: 45_000 });
  await b.page.waitForTimeout(1000); // replay and catch-up have both run: still once each
  assert.deepEqual(await texts(b), ["first", "offline 1", "offline 2", "offline 3"]);
  const seqs = await b.page.locator("#messages .message").evaluateAll((items) => items.map((i) => Number(i.dataset.seq)));
  assert.deepEqual(seqs, [1, 2, 3, 4]);
  await a.context.close();
  await b.context.close();
});
