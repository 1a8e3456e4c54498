/**
 * What one Deno KV commit of 32 decisions costs by the writes it carries: the
 * minimal durable handler's shape (one value per decision: the event text,
 * keyed by authorization) against this service's (per decision: the record,
 * keyed by its decision time, the authorization's state and a velocity
 * counter, plus the batch's aggregate `sum`s), both on a KV file, with
 * Stripe-like authorization ids (random: they do not sort by creation). The
 * baseline, like that handler, sets no expiry; the service's values expire
 * after the retention.
 */
import { authorizationEvent, authorizationOf } from "../fixtures/events.ts";

const DECISIONS = 32;
/** Aggregate sums per commit in `deno task load` (about 21 for 18 decisions). */
const SUMS = 36;
/** Cards in `deno task load`: their counters are rewritten, not added. */
const CARDS = 50;
const dir = await Deno.makeTempDir();
const kv = await Deno.openKv(`${dir}/bench.sqlite3`);
const authorization = authorizationOf(authorizationEvent());
const eventText = JSON.stringify({ data: { object: authorization } });
const retention = { expireIn: 86_400_000 };
const stripeLikeId = () => `iauth_1${crypto.randomUUID().replaceAll("-", "").slice(0, 23)}`;
let card = 0;

Deno.bench(
  `${DECISIONS} decisions, 1 write each: the event text (minimal durable handler, baseline)`,
  { group: "commit", baseline: true },
  async () => {
    const operation = kv.atomic();
    for (let i = 0; i < DECISIONS; i++) {
      operation.set(["decision", stripeLikeId()], { approved: true, event: eventText });
    }
    await operation.commit();
  },
);

Deno.bench(
  `${DECISIONS} decisions, 3 writes each + ${SUMS} sums (this service's decision log)`,
  { group: "commit" },
  async () => {
    const operation = kv.atomic();
    const at = Date.now();
    const day = Math.floor(at / 86_400_000);
    for (let i = 0; i < DECISIONS; i++) {
      const id = stripeLikeId();
      operation
        .set(["decisions_by_time", at, id, 0], { approved: true, request: eventText }, retention)
        .set(["authorization", id], { requests: [{ index: 0, approved: true, at }] }, retention)
        .set(
          ["usage", "card", `ic_${card++ % CARDS}`, "daily", day],
          { amount: 500, count: 1 },
          retention,
        );
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
