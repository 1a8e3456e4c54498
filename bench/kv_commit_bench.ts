/**
 * What one Deno KV commit of 32 decisions costs by the writes it carries: the
 * minimal durable handler's shape (one value per decision: the event text,
 * keyed by authorization) against this service's (per decision: the record,
 * keyed by its decision time, the authorization's state, the velocity counter
 * checked and, when the decision reserves, written, plus the batch's
 * aggregate `sum`s), both on a KV file, with Stripe-like authorization ids
 * (they do not sort by creation). The
 * baseline, like that handler, sets no expiry; the service's values expire
 * after the retention. And the same records keyed by a Stripe-like id or by
 * their decision time: which SQLite pages a commit touches is much of its
 * cost. And the JS thread's share of each commit: building it (`set()`
 * serializes each value) and the `commit()` call (which converts every check
 * and mutation for the writer before it returns).
 */
import { authorizationEvent, authorizationOf } from "../fixtures/events.ts";
import { stripeLikeId } from "./load/events.mjs";

const DECISIONS = 32;
/**
 * As counted in `deno task load`'s events (BENCHMARKS.md, ad-hoc runs): 0.74
 * aggregate sums per decision, and a counter written for one decision in 16
 * (most of the load's requests are declined once a card's daily limit is spent).
 */
const SUMS = 24;
const WRITES_COUNTER_EVERY = 16;
/** Cards in `deno task load`: their counters are rewritten, not added. */
const CARDS = 50;
const dir = await Deno.makeTempDir();
const kv = await Deno.openKv(`${dir}/bench.sqlite3`);
const authorization = authorizationOf(authorizationEvent());
const eventText = JSON.stringify({ data: { object: authorization } });
const recordBytes = new TextEncoder().encode(
  JSON.stringify({ approved: true, request: authorization }),
);
const retention = { expireIn: 86_400_000 };
let nextId = 0;
const newId = () => stripeLikeId("iauth", nextId++);
const newIds = () => Array.from({ length: DECISIONS }, newId);
let card = 0;
/** Each counter's versionstamp as last committed: the service checks what it read. */
const counterVersions = new Map<string, string>();

/** A decision log's commit of one batch; `landed` learns the versionstamp of one that committed. */
interface Batch {
  readonly operation: Deno.AtomicOperation;
  readonly landed?: (versionstamp: string) => void;
}

/** The minimal durable handler's commit: one value per decision, the event text by authorization id. */
function minimalBatch(ids: readonly string[]): Batch {
  const operation = kv.atomic();
  for (const id of ids) operation.set(["decision", id], { approved: true, event: eventText });
  return { operation };
}

/**
 * This service's commit: per decision the record (its JSON bytes, by time), the authorization's
 * state, each of the two read keys checked, the counter written when the decision reserves,
 * plus the batch's sums.
 */
function serviceBatch(ids: readonly string[]): Batch {
  const operation = kv.atomic();
  const at = Date.now();
  const day = Math.floor(at / 86_400_000);
  const written: Deno.KvKey[] = [];
  for (const id of ids) {
    const counter = ["usage", "card", `ic_${card++ % CARDS}`, "daily", day];
    operation
      .check({ key: ["authorization", id], versionstamp: null })
      .check({ key: counter, versionstamp: counterVersions.get(String(counter)) ?? null })
      .set(["decisions_by_time", at, id, 0], recordBytes, retention)
      .set(["authorization", id], { requests: [{ index: 0, approved: true, at }] }, retention);
    if (card % WRITES_COUNTER_EVERY === 0) {
      operation.set(counter, { amount: 500, count: 1 }, retention);
      written.push(counter);
    }
  }
  for (let i = 0; i < SUMS; i++) {
    operation.sum(["aggregates", "minute", at, "series", i], 1n);
  }
  return {
    operation,
    landed: (versionstamp) => {
      for (const counter of written) counterVersions.set(String(counter), versionstamp);
    },
  };
}

/** Waits for the commit; one that fails its checks would measure a commit that wrote nothing. */
async function landed(
  { landed }: Batch,
  committing: Promise<Deno.KvCommitResult | Deno.KvCommitError>,
) {
  const result = await committing;
  if (!result.ok) throw new Error("a benchmark commit failed its checks: it measured nothing");
  landed?.(result.versionstamp);
}

const SHAPES = [
  [`${DECISIONS} decisions, 1 write each: the event text (minimal durable handler)`, minimalBatch],
  [
    `${DECISIONS} decisions, 2 checks and 2 writes each, a counter in ${WRITES_COUNTER_EVERY}, + ${SUMS} sums (this service's log)`,
    serviceBatch,
  ],
] as const;

for (const [i, [name, batchOf]] of SHAPES.entries()) {
  Deno.bench(
    `${name}${i === 0 ? ", baseline" : ""}`,
    { group: "commit", baseline: i === 0 },
    async () => {
      const batch = batchOf(newIds());
      await landed(batch, batch.operation.commit());
    },
  );
}

// The JS thread's share of a commit: building the operation (set() serializes each value) and the
// commit() call (which converts every check and mutation for the writer before it returns).
for (const [i, [name, batchOf]] of SHAPES.entries()) {
  Deno.bench(
    `${name}: building it and the commit() call${i === 0 ? ", baseline" : ""}`,
    { group: "commit call", baseline: i === 0 },
    async (b) => {
      const ids = newIds();
      b.start();
      const batch = batchOf(ids);
      const committing = batch.operation.commit();
      b.end();
      await landed(batch, committing);
    },
  );
}

let order = 0;
for (
  const [name, keyOf] of [
    ["by a Stripe-like authorization id (baseline)", (id: string) => ["decision", id, 0]],
    ["by decision time, then id", (id: string) => ["decisions_by_time", Date.now(), id, 0]],
  ] as const
) {
  Deno.bench(`${DECISIONS} records keyed ${name}`, {
    group: "key order",
    baseline: order++ === 0,
  }, async () => {
    const operation = kv.atomic();
    for (let i = 0; i < DECISIONS; i++) {
      operation.set(keyOf(newId()), { approved: true, request: eventText }, retention);
    }
    await operation.commit();
  });
}

globalThis.addEventListener("unload", () => {
  kv.close();
  Deno.removeSync(dir, { recursive: true });
});
