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
const SQLITE_HEADER = "SQLite format 3\0";
/** Deno KV's own table, as its schema (SQLite keeps it as text) declares it. */
const KV_TABLE = "CREATE TABLE kv (";
/** Where a schema is found: the first pages of the file, or of its write-ahead log before a checkpoint. */
const SCHEMA_BYTES = 65_536;

/**
 * Refuses a `KV_PATH` that names something other than a Deno KV store: a
 * file that is not SQLite (`data/dev_webhook_secret`), another program's
 * SQLite database, or a store SQLite can no longer read, which is the
 * operator's to delete. An empty file is what SQLite starts from. Reset
 * deletes stores, nothing else.
 */
async function assertKvStore(path: string): Promise<void> {
  const head = await schemaText(path);
  if (head === undefined || head === "") return; // Nothing there, or empty: the removal says which.
  if (head.startsWith(SQLITE_HEADER) && head.includes(KV_TABLE)) return;
  if (head.startsWith(SQLITE_HEADER) && (await schemaText(`${path}-wal`))?.includes(KV_TABLE)) {
    return;
  }
  throw new UsageError(
    `${path} is not a Deno KV store; reset deletes only that (delete it yourself if it is one SQLite can no longer read)`,
  );
}

/** The first bytes of `path` as Latin-1 text; `undefined` when it cannot be read. */
async function schemaText(path: string): Promise<string | undefined> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path);
  } catch (error) {
    // Nothing there, or outside the task's permissions: the removal below says which.
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotCapable) {
      return undefined;
    }
    throw error;
  }
  using _ = file;
  const bytes = new Uint8Array(SCHEMA_BYTES);
  let length = 0;
  for (let read; length < bytes.length && (read = await file.read(bytes.subarray(length)));) {
    length += read;
  }
  return new TextDecoder("latin1").decode(bytes.subarray(0, length));
}

if (import.meta.main) Deno.exit(await main());
