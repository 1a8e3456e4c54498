/**
 * What a `KV_PATH` names: a local SQLite file, `:memory:`, or a KV Connect
 * URL (a self-hosted `denokv`); no path at all is Deno Deploy's managed KV.
 *
 * @module
 */

/**
 * Whether `path` is a KV Connect URL (`http://` or `https://`).
 *
 * @example
 * ```ts
 * import { isKvConnectUrl } from "./kv_path.ts";
 * import { equal } from "node:assert/strict";
 * equal(isKvConnectUrl("https://kv.example.com"), true);
 * equal(isKvConnectUrl("data/authorizer.kv.sqlite3"), false);
 * ```
 */
export function isKvConnectUrl(path: string): boolean {
  return /^https?:\/\//.test(path);
}

/**
 * The local file `path` names, or `undefined` for `:memory:`, a KV Connect
 * URL or Deno Deploy's KV (no path).
 *
 * @example
 * ```ts
 * import { kvFileOf } from "./kv_path.ts";
 * import { equal } from "node:assert/strict";
 * equal(kvFileOf("data/authorizer.kv.sqlite3"), "data/authorizer.kv.sqlite3");
 * equal(kvFileOf(":memory:"), undefined);
 * equal(kvFileOf("http://127.0.0.1:4512"), undefined);
 * equal(kvFileOf(undefined), undefined);
 * ```
 */
export function kvFileOf(path: string | undefined): string | undefined {
  return path && path !== ":memory:" && !isKvConnectUrl(path) ? path : undefined;
}
