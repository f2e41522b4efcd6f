export { ImClient, ImError, createClient, newClientMsgId, type ClientOptions } from "./client.js";
export { ConversationSync, type SyncPorts } from "./sync.js";
export { createUniCloud, type UniImCo, type UniImResult, type UniImCallError } from "./compat.js";
export * from "./types.js";

import { createUniCloud } from "./compat.js";

/**
 * `importObject('uni-im-co')` against the app at `globalThis.IMFUNCTIONS_URL` (or this page's origin in a browser):
 * uni-im code switches by importing this instead of `uniCloud.importObject`.
 */
export function importObject(name: string, options?: { baseUrl?: string }) {
  const baseUrl = options?.baseUrl ?? (globalThis as { IMFUNCTIONS_URL?: string }).IMFUNCTIONS_URL
    ?? (globalThis as { location?: { origin: string } }).location?.origin;
  if (!baseUrl) throw new Error("importObject: give { baseUrl } or set globalThis.IMFUNCTIONS_URL");
  return sharedUniCloud(baseUrl).importObject(name);
}

const uniClouds = new Map<string, ReturnType<typeof createUniCloud>>();
function sharedUniCloud(baseUrl: string) {
  let cloud = uniClouds.get(baseUrl);
  if (!cloud) uniClouds.set(baseUrl, (cloud = createUniCloud({ baseUrl })));
  return cloud;
}
