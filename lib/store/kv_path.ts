/**
 * What a `KV_PATH` names: a local SQLite file, `:memory:`, or a KV Connect
 * URL (a self-hosted `denokv`); no path at all is Deno Deploy's managed KV.
 * And opening it, when several processes or workers open one file at once.
 *
 * @module
 */
import { dirname, join } from "node:path";

/** How long {@linkcode openKv} waits out other openers' locks on a file. */
const OPEN_LOCK_WAIT_MS = 5_000;

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
 * `text` with every URL in it shown without its user name and password (a
 * credential, where KV Connect takes `DENO_KV_ACCESS_TOKEN`), query and
 * fragment: for messages that name `KV_PATH`, Deno KV's own among them.
 * Everything up to a URL's last `@` goes, so a password with a `/` in it
 * does too.
 *
 * @example
 * ```ts
 * import { withoutCredentials } from "./kv_path.ts";
 * import { equal } from "node:assert/strict";
 * equal(withoutCredentials("htps://user:p/ss@kv.example.com/db?token=t"), "htps://…@kv.example.com/db?…");
 * equal(withoutCredentials("failed to connect to 'https://u:p@kv.example.com'"), "failed to connect to 'https://…@kv.example.com'");
 * equal(withoutCredentials("data/authorizer.kv.sqlite3"), "data/authorizer.kv.sqlite3");
 * ```
 */
export function withoutCredentials(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)([^\s"'()<>]*)/gi, (_, scheme, rest: string) => {
    const at = rest.lastIndexOf("@");
    const address = at < 0 ? rest : `…@${rest.slice(at + 1)}`;
    const end = address.search(/[?#]/);
    return scheme + (end < 0 ? address : `${address.slice(0, end)}?…`);
  });
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

/**
 * Opens Deno KV at `path` (see {@linkcode kvFileOf}), creating a file's
 * folder first, readable by its owner only.
 *
 * Workers of `deno serve --parallel` open one file at the same moment. On a
 * new file one of them can fail at once with "database is locked" (seen in
 * about 1 of 20 starts of two workers): SQLite answers a second writer of the
 * file's first schema without waiting. Such errors are retried for up to
 * 5 seconds; any other error, and any error of a KV that is not a file, is
 * thrown as it is.
 *
 * @example
 * ```ts
 * import { openKv } from "./kv_path.ts";
 * import { equal } from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * const kv = await openKv(`${dir}/new/kv.sqlite3`);
 * await kv.set(["k"], 1);
 * equal((await kv.get(["k"])).value, 1);
 * kv.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function openKv(path: string | undefined): Promise<Deno.Kv> {
  const file = kvFileOf(path);
  // SQLite says only "unable to open database file" of a folder, which reads like permissions.
  if (file && await isFolder(file)) {
    throw new Error(`${file} is a folder: name the store's file, e.g. ${join(file, "kv.sqlite3")}`);
  }
  // The log holds card and cardholder ids, metadata and amounts: a folder made here is the owner's.
  if (file) await Deno.mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const giveUpAt = performance.now() + OPEN_LOCK_WAIT_MS;
  for (let attempt = 0;; attempt++) {
    try {
      return await Deno.openKv(path);
    } catch (error) {
      if (!file || !isLocked(error) || performance.now() >= giveUpAt) throw error;
      await new Promise((resolve) =>
        setTimeout(resolve, Math.min(100, 2 ** attempt) * Math.random())
      );
    }
  }
}

/** Whether `path` is a folder; `false` when it is missing or may not be read (opening then says why). */
async function isFolder(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

/**
 * Whether `error` is SQLite's busy or locked error (`SQLITE_BUSY`,
 * `SQLITE_LOCKED`): another connection is writing the same file. Matched on
 * SQLite's own messages, as Deno KV throws plain `Error`s; never on a word a
 * path could hold.
 *
 * @example
 * ```ts
 * import { isLocked } from "./kv_path.ts";
 * import { equal } from "node:assert/strict";
 * equal(isLocked(new Error("database is locked")), true);
 * equal(isLocked(new Error("database table is locked")), true);
 * equal(isLocked(new Error("unable to open database file: /srv/busy/kv.sqlite3")), false);
 * equal(isLocked(new TypeError("Key too large for write")), false);
 * ```
 */
export function isLocked(error: unknown): boolean {
  return error instanceof Error && /database (table )?is locked/i.test(error.message);
}

/**
 * Whether a KV error is the store's own condition, not the write's: SQLite's
 * full disk, I/O error, or a file that turned read-only or cannot be opened
 * (`sqlite3_errstr`'s words). Every write fails alike until an operator acts,
 * so what was answered meanwhile is worth retrying, not dropping.
 *
 * @example
 * ```ts
 * import { isStoreFailing } from "./kv_path.ts";
 * import { equal } from "node:assert/strict";
 * equal(isStoreFailing(new TypeError("database or disk is full")), true);
 * equal(isStoreFailing(new Error("attempt to write a readonly database")), true);
 * equal(isStoreFailing(new TypeError("Value too large (max 65536 bytes)")), false);
 * ```
 */
export function isStoreFailing(error: unknown): boolean {
  return error instanceof Error &&
    /database or disk is full|disk I\/O error|readonly database|unable to open database file/i
      .test(error.message);
}

/**
 * Whether a KV error says the store was closed under the operation: the
 * handle gone (`BadResource`), or an operation in flight when it closed
 * (Deno KV's "Database is closed").
 *
 * @example
 * ```ts
 * import { isClosed } from "./kv_path.ts";
 * import { equal } from "node:assert/strict";
 * equal(isClosed(new TypeError("Database is closed.")), true);
 * equal(isClosed(new Deno.errors.BadResource("Bad resource ID")), true);
 * equal(isClosed(new Error("database is locked")), false);
 * ```
 */
export function isClosed(error: unknown): boolean {
  return error instanceof Deno.errors.BadResource ||
    (error instanceof Error && /^database is closed/i.test(error.message));
}
