/**
 * `deno task export > decisions.jsonl`: writes the decision log (`KV_PATH`,
 * or the default file) as JSON lines, oldest first, for `deno task replay`,
 * audits or a warehouse.
 *
 * @module
 */
import { DEFAULT_KV_PATH } from "../lib/service/config.ts";
import { decisionLog } from "../lib/store/decision_store.ts";

const kv = await Deno.openKv(Deno.env.get("KV_PATH") || DEFAULT_KV_PATH);
const encoder = new TextEncoder();
const writer = Deno.stdout.writable.getWriter();
let count = 0;
for await (const record of decisionLog(kv)) {
  await writer.write(encoder.encode(`${JSON.stringify(record)}\n`));
  count++;
}
await writer.close();
kv.close();
console.error(`exported ${count} decisions`);
