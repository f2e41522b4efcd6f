import { ImClient, ImError, type ClientOptions } from "./client.js";
import type { Envelope } from "./types.js";

/** What uniCloud's cloud-object calls resolve with: uni-im's result object. */
export type UniImResult = Envelope<unknown> & { [key: string]: unknown };

/** Rejections look like uniCloud's: an Error carrying errCode, errMsg and errSubject. */
export interface UniImCallError extends Error { errCode: string | number; errMsg: string; errSubject: string }

/** `uniCloud.importObject('uni-im-co')`'s object: every uni-im method takes uni-im's params, returns its result. */
export type UniImCo = { [method: string]: (params?: object) => Promise<UniImResult> };

/**
 * The one-line switch for uni-im client code: `const uniImCo = importObject('uni-im-co')` instead of
 * `uniCloud.importObject('uni-im-co', ...)`. The token from loginWithJWT (and every renewal) is kept by `client`.
 */
export function createUniCloud(client: ImClient | ClientOptions): { importObject(name: string, options?: object): UniImCo } {
  const im = client instanceof ImClient ? client : new ImClient(client);
  return {
    importObject(name: string): UniImCo {
      if (name !== "uni-im-co") throw new Error(`importObject: only 'uni-im-co' is served here, not '${name}'`);
      return new Proxy({} as UniImCo, {
        get(_target, method) {
          if (typeof method !== "string" || method === "then") return undefined; // not a thenable
          return async (params: object = {}) => {
            try {
              const result = await im.request(method, params) as UniImResult;
              if (method === "loginWithJWT") im.uid = (result.data as { uid?: string })?.uid;
              // uni-id's clients read the renewed token from the result as well.
              return im.token && result.newToken ? { ...result, newToken: im.token } : result;
            } catch (e) {
              throw toUniCloudError(e);
            }
          };
        },
      });
    },
  };
}

function toUniCloudError(e: unknown): UniImCallError {
  const source = e instanceof ImError ? e : new ImError(0, "uni-im-network", (e as Error)?.message ?? String(e));
  const error = new Error(source.errMsg) as UniImCallError;
  error.errCode = source.errCode;
  error.errMsg = source.errMsg;
  error.errSubject = source.errSubject;
  return error;
}
