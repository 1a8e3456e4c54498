/**
 * The aggregates' share of a commit: the `sum` mutations one commit of 28
 * decisions adds (baseline: the same mutations, their counters already
 * known), against counting the decisions into those counters first, as the
 * write path does for every batch (`createAggregateWriter`). The decisions
 * are shaped like the load's: four policies, most declined by the daily limit.
 */
import { createAggregateWriter } from "../lib/store/aggregates.ts";
import type { AggregatedDecision } from "../lib/store/aggregates.ts";

const BATCH = 28;
const start = Date.UTC(2026, 10, 25, 12, 59, 59, 990);
const approve = { outcome: "abstain" } as const;
const decisions: AggregatedDecision[] = Array.from({ length: BATCH }, (_, i) => {
  const declined = i % 7 !== 0;
  return {
    decided_at: new Date(start + i).toISOString(),
    approved: !declined,
    amount: null,
    latency_ms: 3 + (i % 5),
    reasons: declined ? [{ policy: "spendLimit", code: "daily_limit", detail: "card" }] : [],
    trace: [
      { policy: "blockCategories", verdict: approve },
      { policy: "amountCap", verdict: approve },
      { policy: "partialHold", verdict: approve },
      {
        policy: "spendLimit",
        verdict: declined ? { outcome: "decline", code: "daily_limit" } : approve,
      },
    ],
  };
});
using kv = await Deno.openKv(":memory:");
const writer = createAggregateWriter(kv);

// The counters the batch adds to, as the writer's mutations name them.
const sums: [Deno.KvKey, bigint][] = [];
const recording = { sum: (key: Deno.KvKey, n: bigint) => sums.push([key, n]) };
writer.addDecisions(recording as unknown as Deno.AtomicOperation, decisions);

Deno.bench(`aggregates: ${sums.length} sums of a commit, counters known (baseline)`, {
  group: "aggregates",
  baseline: true,
}, () => {
  const operation = kv.atomic();
  for (const [key, n] of sums) operation.sum(key, n);
});

Deno.bench(`aggregates: ${BATCH} decisions counted, then their sums`, {
  group: "aggregates",
}, () => {
  writer.addDecisions(kv.atomic(), decisions);
});
