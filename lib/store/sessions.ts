/**
 * Dashboard sessions kept in Deno KV, so signing out ends a session on every
 * `deno serve` worker and Deploy isolate at once.
 *
 * @module
 */

/** The live sessions, by a key the caller derives from the session id (never the id itself). */
export interface SessionRecords {
  /** Records a session until `expiresAt` (ms since the epoch); KV drops it then. */
  create(key: string, expiresAt: number): Promise<void>;
  /** Whether the session is recorded and unexpired at `now`. */
  live(key: string, now: number): Promise<boolean>;
  /** Forgets the session: its cookie no longer works anywhere. */
  revoke(key: string): Promise<void>;
}

/**
 * Session records under `["dashboard_session", key]`, each with `expireIn`
 * so expired ones leave on their own.
 *
 * @example
 * ```ts
 * import { kvSessionRecords } from "./sessions.ts";
 * import assert from "node:assert/strict";
 * const kv = await Deno.openKv(":memory:");
 * const sessions = kvSessionRecords(kv);
 * await sessions.create("k1", Date.now() + 60_000);
 * assert.equal(await sessions.live("k1", Date.now()), true);
 * await sessions.revoke("k1");
 * assert.equal(await sessions.live("k1", Date.now()), false);
 * kv.close();
 * ```
 */
export function kvSessionRecords(kv: Deno.Kv): SessionRecords {
  const keyOf = (key: string) => ["dashboard_session", key];
  return {
    async create(key, expiresAt) {
      await kv.set(keyOf(key), expiresAt, { expireIn: Math.max(1, expiresAt - Date.now()) });
    },
    async live(key, now) {
      const { value } = await kv.get<number>(keyOf(key));
      return typeof value === "number" && value > now;
    },
    async revoke(key) {
      await kv.delete(keyOf(key));
    },
  };
}
