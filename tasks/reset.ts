/**
 * `deno task reset`: deletes the local development store (the decision log
 * and every velocity counter in `KV_PATH`, default
 * `data/authorizer.kv.sqlite3`), so simulated requests start from zero. The
 * development webhook secret is kept. Refuses `:memory:` and remote stores.
 *
 * @module
 */
import { localKvPath, parseNoArgs, runTask, UsageError } from "./_cli.ts";
import denoJson from "../deno.json" with { type: "json" };
import { commandForKvFile } from "../lib/service/config.ts";
import { kvFileOf } from "../lib/store/kv_path.ts";

const USAGE = `usage: deno task reset

Deletes the local development store (KV_PATH, default data/authorizer.kv.sqlite3):
the decision log and every velocity counter. Stop the server first.
The development webhook secret (data/dev_webhook_secret) is kept.`;

/** SQLite keeps a write-ahead log and shared memory beside the database. */
const SIDE_FILES = ["", "-wal", "-shm", "-journal"];

/** Runs the reset; returns the exit code. */
export function main(args: string[] = Deno.args): Promise<number> {
  return runTask(async () => {
    if (!parseNoArgs(args, USAGE)) return;
    const path = localKvPath();
    if (kvFileOf(path) === undefined) {
      throw new UsageError(
        `KV_PATH=${path} is not a local file; reset only deletes the local development store`,
      );
    }
    await assertKvStore(path);
    let removed = 0;
    for (const suffix of SIDE_FILES) {
      try {
        await Deno.remove(`${path}${suffix}`);
        removed++;
      } catch (error) {
        if (error instanceof Deno.errors.NotCapable) {
          throw new Error(
            `${path} is outside ./data; run: ${commandForKvFile(denoJson.tasks.reset, path)}`,
          );
        }
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
    }
    console.log(
      removed > 0
        ? `removed ${path}: decisions and counters start from zero`
        : `nothing to reset at ${path}`,
    );
  });
}

/** Every SQLite database starts with these 16 bytes ("Database File Format", sqlite.org). */
const SQLITE_HEADER = new TextEncoder().encode("SQLite format 3\0");

/**
 * Refuses a `KV_PATH` that names something other than a Deno KV (SQLite)
 * file, such as `data/dev_webhook_secret`: reset deletes stores, nothing else.
 */
async function assertKvStore(path: string): Promise<void> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path);
  } catch (error) {
    // Nothing there, or outside the task's permissions: the removal below says which.
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotCapable) return;
    throw error;
  }
  using _ = file;
  const head = new Uint8Array(SQLITE_HEADER.length);
  const read = await file.read(head);
  // An empty file is what SQLite starts from, and a store SQLite cannot read any more is one to
  // reset: named as the stores are, it is taken for one.
  if (read === null || /\.sqlite3?$/.test(path)) return;
  if (read !== head.length || !head.every((byte, i) => byte === SQLITE_HEADER[i])) {
    throw new UsageError(`${path} is not a Deno KV store; reset deletes only that`);
  }
}

if (import.meta.main) Deno.exit(await main());
