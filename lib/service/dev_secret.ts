/**
 * A local development webhook secret, so a first `deno task start` works with
 * no configuration.
 *
 * @module
 */

/** Where the development secret is kept (git-ignored). */
export const DEV_SECRET_PATH = "data/dev_webhook_secret";

/**
 * Reads the development secret from `path`, creating it (`whsec_` + 32 random
 * bytes, base64, file mode 0600) on first use.
 *
 * @example
 * ```ts
 * import { loadOrCreateDevSecret } from "./dev_secret.ts";
 * import { equal, match } from "node:assert/strict";
 * const path = `${await Deno.makeTempDir()}/dev_webhook_secret`;
 * const first = await loadOrCreateDevSecret(path);
 * match(first.secret, /^whsec_/);
 * equal(first.created, true);
 * const again = await loadOrCreateDevSecret(path);
 * equal(again.secret, first.secret);
 * equal(again.created, false);
 * ```
 */
export async function loadOrCreateDevSecret(
  path: string = DEV_SECRET_PATH,
): Promise<{ secret: string; created: boolean }> {
  try {
    return { secret: (await Deno.readTextFile(path)).trim(), created: false };
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const secret = `whsec_${
    btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))
  }`;
  const dir = path.slice(0, path.lastIndexOf("/"));
  if (dir) await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(path, `${secret}\n`, {
    mode: 0o600,
    createNew: true,
  });
  return { secret, created: true };
}
