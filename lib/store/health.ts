/**
 * Store health for `/healthz`: can the KV be written and read back, and is
 * its file still the one opened?
 *
 * @module
 */
import type { Logger } from "../telemetry/log.ts";
import { kvFileOf } from "./kv_path.ts";

/** A result is reused this long, so a busy health checker costs one write a second. */
export const HEALTH_CACHE_MS = 1_000;
/** Probe records expire on their own (Deno KV `expireIn`). */
const PROBE_TTL_MS = 60_000;

/** What {@linkcode createKvHealth} watches. */
export interface KvHealthOptions {
  readonly kv: Deno.Kv;
  /** The KV file, when it is one (not `:memory:`, a URL or Deploy's KV): its identity is watched. */
  readonly path?: string;
  readonly log: Logger;
  readonly now?: () => number;
}

/**
 * `ok`, or the one-line reason it is not, which `/healthz` answers anyone
 * with; `detail` (the file's path, the error) is for the log only.
 */
export type KvHealth =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: string; readonly detail?: string };

/**
 * Returns a check that writes a probe record (one per process, so `deno serve
 * --parallel` workers never read each other's), reads it back, and compares
 * the KV file's device and inode with those it had at start: SQLite keeps
 * writing to a deleted or replaced file, and every decision since would be
 * gone at the next start. A failure is logged as an error once per change of
 * reason or detail; results are cached for {@linkcode HEALTH_CACHE_MS}.
 *
 * @example
 * ```ts
 * import { createKvHealth } from "./health.ts";
 * import assert from "node:assert/strict";
 * const kv = await Deno.openKv(":memory:");
 * const health = createKvHealth({ kv, log: () => {} });
 * assert.deepEqual(await health(), { ok: true });
 * kv.close();
 * ```
 */
export function createKvHealth(options: KvHealthOptions): () => Promise<KvHealth> {
  const { kv, log, now = Date.now } = options;
  const path = kvFileOf(options.path);
  const opened = path === undefined ? undefined : identity(path);
  const probeKey = ["health_probe", crypto.randomUUID()];
  let cached: { at: number; result: Promise<KvHealth> } | undefined;
  let lastReason: string | undefined;

  async function probe(): Promise<KvHealth> {
    if (path !== undefined && typeof opened === "string") {
      const current = identity(path);
      if (current === null) return { ok: false, reason: "KV file was deleted", detail: path };
      if (current !== undefined && current !== opened) {
        return { ok: false, reason: "KV file was replaced", detail: path };
      }
    }
    const written = `${now()}`;
    try {
      await kv.set(probeKey, written, { expireIn: PROBE_TTL_MS });
      const read = await kv.get<string>(probeKey);
      if (read.value !== written) return { ok: false, reason: "KV read back another value" };
    } catch (error) {
      return {
        ok: false,
        reason: "KV not writable",
        detail: error instanceof Error ? error.message : String(error),
      };
    }
    return { ok: true };
  }

  return function kvHealth() {
    if (cached && now() - cached.at < HEALTH_CACHE_MS) return cached.result;
    const result = probe().then((health) => {
      // Logged again when the cause changes, not only what `/healthz` says (a lock, then a full disk).
      const reason = health.ok ? undefined : `${health.reason}: ${health.detail ?? ""}`;
      if (reason !== lastReason) {
        log(
          health.ok ? { level: "info", msg: "store_healthy" } : {
            level: "error",
            msg: "store_unhealthy",
            reason: health.reason,
            detail: health.detail,
            consequence:
              "decisions recorded now may be lost at restart; /healthz answers 503 until fixed",
          },
        );
        lastReason = reason;
      }
      return health;
    });
    cached = { at: now(), result };
    return result;
  };
}

/**
 * `dev:ino` of `path`; `null` when it no longer exists; `undefined` when it
 * cannot be told (no read permission, or never a file).
 */
function identity(path: string): string | null | undefined {
  try {
    const { dev, ino } = Deno.statSync(path);
    return ino === null ? undefined : `${dev}:${ino}`;
  } catch (error) {
    return error instanceof Deno.errors.NotFound ? null : undefined;
  }
}
