/**
 * The decision-log write path: 100 concurrent decisions per iteration on 100
 * cards, through the store (group commit) on a KV file, against the same
 * decisions without a store (baseline: the durable log off).
 */
import { createDecide } from "../lib/engine/decide.ts";
import { Deadline } from "../lib/engine/deadline.ts";
import { createDecisionStore } from "../lib/store/decision_store.ts";
import { stripeLikeId } from "./load/events.mjs";
import { defaultPipeline } from "../policies/mod.ts";
import { authorizationEvent, authorizationOf } from "../fixtures/events.ts";

const BATCH = 100;
const decide = createDecide(defaultPipeline, { policyVersion: "bench" });
const dir = await Deno.makeTempDir();
const kv = await Deno.openKv(`${dir}/bench.sqlite3`);
const store = createDecisionStore({
  kv,
  decide,
  log: () => {},
  retentionMs: 86_400_000,
});
let n = 0;
const nextBatch = () =>
  Array.from(
    { length: BATCH },
    (_, i) =>
      authorizationOf(
        authorizationEvent("online", {
          id: stripeLikeId("iauth", n++),
          card: { id: `ic_bench_${i}` },
        }),
      ),
  );

Deno.bench(
  `decision log off: ${BATCH} decisions (baseline)`,
  { group: "log", baseline: true },
  () => {
    for (const authorization of nextBatch()) decide(authorization);
  },
);

Deno.bench(`decision log on (KV file, group commit): ${BATCH} concurrent decisions`, {
  group: "log",
}, async () => {
  const receivedAt = Date.now();
  const deadline = Deadline.after(5_000);
  await Promise.all(
    nextBatch().map((authorization) =>
      store.decideAndRecord(authorization, {
        eventId: `evt_${authorization.id}`,
        receivedAt,
        deadline,
        path: "respond",
        eventBytes: 4_000,
      })
    ),
  );
});

globalThis.addEventListener("unload", () => {
  kv.close();
  Deno.removeSync(dir, { recursive: true });
});
