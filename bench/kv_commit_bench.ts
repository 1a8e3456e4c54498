/**
 * What one Deno KV commit of 32 decisions costs by the writes it carries: the
 * minimal durable handler's shape (one value per decision: the event text)
 * against this service's (per decision: the record, its time index, the
 * authorization's state and a velocity counter, plus the batch's aggregate
 * `sum`s), both on a KV file. The baseline, like that handler, sets no
 * expiry; the service's values expire after the retention. The writes, not
 * the bytes, set the cost: it is why the durable log stays below the minimal
 * durable handler (BENCHMARKS.md).
 */
import { authorizationEvent, authorizationOf } from "../fixtures/events.ts";

const DECISIONS = 32;
/** Aggregate sums per commit in `deno task load` (about 21 for 18 decisions). */
const SUMS = 36;
const dir = await Deno.makeTempDir();
const kv = await Deno.openKv(`${dir}/bench.sqlite3`);
const authorization = authorizationOf(authorizationEvent());
const eventText = JSON.stringify({ data: { object: authorization } });
const retention = { expireIn: 86_400_000 };
let n = 0;

Deno.bench(
  `${DECISIONS} decisions, 1 write each: the event text (minimal durable handler, baseline)`,
  { group: "commit", baseline: true },
  async () => {
    const operation = kv.atomic();
    for (let i = 0; i < DECISIONS; i++) {
      operation.set(["decision", `iauth_${n++}`], { approved: true, event: eventText });
    }
    await operation.commit();
  },
);

Deno.bench(
  `${DECISIONS} decisions, 4 writes each + ${SUMS} sums (this service's decision log)`,
  { group: "commit" },
  async () => {
    const operation = kv.atomic();
    const at = Date.now();
    for (let i = 0; i < DECISIONS; i++) {
      const id = `iauth_${n++}`;
      const ref = [id, 0];
      operation
        .set(["decision", id, 0], { approved: true, request: eventText }, retention)
        .set(["decisions_by_time", at, id, 0], ref, retention)
        .set(["authorization", id], { requests: [{ index: 0, approved: true }] }, retention)
        .set(["usage", "card", `ic_${i}`, "daily", at], { amount: 500, count: 1 }, retention);
    }
    for (let i = 0; i < SUMS; i++) {
      operation.sum(["aggregates", "minute", at, "series", i], 1n);
    }
    await operation.commit();
  },
);

globalThis.addEventListener("unload", () => {
  kv.close();
  Deno.removeSync(dir, { recursive: true });
});
