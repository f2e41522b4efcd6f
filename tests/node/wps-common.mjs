// Small helpers shared by the Web PubSub check scripts. Each script reads its input as JSON on stdin, logs to
// stderr, and prints one line `RESULT <json>` on stdout for the NUnit test that started it.

export async function readInput() {
  let text = "";
  for await (const chunk of process.stdin) text += chunk;
  return JSON.parse(text);
}

export function log(...args) {
  console.error(new Date().toISOString(), ...args);
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once `condition()` is true; rejects with `what` after `timeoutMs`. */
export async function waitFor(condition, what, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Runs the check; prints its result, or the error with what was observed so far. */
export async function run(check) {
  const observed = {};
  try {
    await check(observed);
    process.stdout.write("RESULT " + JSON.stringify({ ok: true, ...observed }) + "\n");
    process.exit(0);
  } catch (error) {
    process.stdout.write("RESULT " + JSON.stringify({ ok: false, error: String(error?.stack ?? error), ...observed }) + "\n");
    process.exit(1);
  }
}
