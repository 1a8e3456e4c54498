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
 * const { secret, created } = await loadOrCreateDevSecret("data/dev_webhook_secret");
 * // secret starts with "whsec_"; created is true the first time only
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
