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

if (import.meta.main) Deno.exit(await main());
