/**
 * `deno task export > decisions.jsonl`: writes the decision log (`KV_PATH`,
 * or the default file) as JSON lines, oldest first, for `deno task replay`,
 * audits or a warehouse. `*.jsonl` files are git-ignored.
 *
 * @module
 */
import { decisionLog } from "../lib/store/decision_store.ts";
import { localKvPath, parseNoArgs, runTask } from "./_cli.ts";
import denoJson from "../deno.json" with { type: "json" };
import { commandForKvFile } from "../lib/service/config.ts";
import { kvFileOf } from "../lib/store/kv_path.ts";

const USAGE = `usage: deno task export > decisions.jsonl

Writes every decision in the log (KV_PATH, default data/authorizer.kv.sqlite3)
as one JSON line each, oldest first, to stdout; the count goes to stderr.`;

/** Runs the export; returns the exit code. */
export function main(args: string[] = Deno.args): Promise<number> {
  return runTask(async () => {
    if (!parseNoArgs(args, USAGE)) return;
    const path = localKvPath();
    if (kvFileOf(path) !== undefined) {
      try {
        await Deno.stat(path);
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) {
          throw new Error(
            `no decision log at ${path} yet: start the server (deno task start) and send it a request (deno task simulate) first`,
          );
        }
        if (error instanceof Deno.errors.NotCapable) {
          throw new Error(
            `${path} is outside ./data; run: ${commandForKvFile(denoJson.tasks.export, path)}`,
          );
        }
        throw error;
      }
    }
    const kv = await Deno.openKv(path);
    const encoder = new TextEncoder();
    const writer = Deno.stdout.writable.getWriter();
    let count = 0;
    try {
      for await (const record of decisionLog(kv)) {
        await writer.write(encoder.encode(`${JSON.stringify(record)}\n`));
        count++;
      }
    } finally {
      await writer.close();
      kv.close();
    }
    console.error(`exported ${count} decisions`);
  });
}

if (import.meta.main) Deno.exit(await main());
