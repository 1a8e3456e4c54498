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
  const existing = await readDevSecret(path);
  if (existing !== undefined) return { secret: existing, created: false };
  const secret = `whsec_${
    btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))
  }`;
  const dir = path.slice(0, path.lastIndexOf("/"));
  if (dir) await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  // Written whole under another name, then linked into place: `deno serve --parallel` workers
  // start at once, and none may read a half-written secret or fail on the one another created.
  const draft = `${path}.${crypto.randomUUID()}`;
  await Deno.writeTextFile(draft, `${secret}\n`, { mode: 0o600, createNew: true });
  try {
    await Deno.link(draft, path).catch((error) =>
      error instanceof Deno.errors.AlreadyExists
        ? Promise.reject(error)
        // A file system without hard links (some shared or FUSE mounts): written in place, once.
        : Deno.writeTextFile(path, `${secret}\n`, { mode: 0o600, createNew: true })
    );
    return { secret, created: true };
  } catch (error) {
    // Another worker's is in place: that one is the secret.
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    return { secret: (await readDevSecret(path))!, created: false };
  } finally {
    await Deno.remove(draft);
  }
}

/**
 * The development secret at `path`, or `undefined` when there is none yet;
 * an empty file is refused (it is read again for a moment first, as another
 * worker may be writing it).
 *
 * @example
 * ```ts
 * import { readDevSecret } from "./dev_secret.ts";
 * import { equal } from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * equal(await readDevSecret(`${dir}/dev_webhook_secret`), undefined);
 * await Deno.writeTextFile(`${dir}/dev_webhook_secret`, "whsec_x\n");
 * equal(await readDevSecret(`${dir}/dev_webhook_secret`), "whsec_x");
 * ```
 */
export async function readDevSecret(path: string = DEV_SECRET_PATH): Promise<string | undefined> {
  // Empty for a moment while another worker writes it in place (no hard links): read again.
  for (let attempt = 1;; attempt++) {
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
    const secret = text.trim();
    if (secret) return secret;
    // An empty key would verify signatures anyone can make.
    if (attempt === EMPTY_READS) {
      throw new Error(`${path} is empty: delete it to make a new development secret`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Reads of an empty secret file, 10 ms apart, before it is taken to be empty for good. */
const EMPTY_READS = 20;
