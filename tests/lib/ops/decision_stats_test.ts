import type { AggregateBucket } from "../../../lib/store/aggregates.ts";
import { emptyBucket, LATENCY_BOUNDS_MS } from "../../../lib/store/aggregates.ts";
import { summarizeBuckets, topKeys } from "../../../lib/ops/decision_stats.ts";
import { assertEquals } from "../../_assert.ts";

function bucket(at: string, changes: Partial<AggregateBucket> = {}): AggregateBucket {
  return { ...emptyBucket(Date.parse(at)), at, ...changes };
}

Deno.test("summarizeBuckets() totals the range and keeps empty buckets as gaps", () => {
  const latency = LATENCY_BOUNDS_MS.map(() => 0);
  latency[4] = 99; // (3, 5] ms
  latency[10] = 1; // (50, 80] ms
  const { totals, series } = summarizeBuckets([
    bucket("2026-11-25T12:00:00.000Z", {
      outcomes: { approved: 6, declined: 2, limited: 2 },
      decline_reasons: { "mcc_blocked:betting_casino_gambling": 2 },
      policy_hits: { blockCategories: { declined: 2, limited: 0 } },
      fallbacks: { timeout: 1 },
      latency_histogram: latency,
      reconciliations: { agreed: 9, mismatch: 1 },
    }),
    bucket("2026-11-25T12:01:00.000Z"),
    bucket("2026-11-25T12:02:00.000Z", {
      outcomes: { approved: 0, declined: 3, limited: 0 },
      policy_hits: {
        blockCategories: { declined: 1, limited: 0 },
        partialHold: { declined: 0, limited: 2 },
      },
      fallbacks: { error: 2 },
      shadow_disagreements: 1,
    }),
  ]);
  assertEquals([totals.approved, totals.declined, totals.limited], [6, 5, 2]);
  assertEquals(totals.approval_rate, 8 / 13);
  assertEquals(totals.fallbacks, 3);
  assertEquals(totals.fallback_kinds, { timeout: 1, error: 2 });
  assertEquals(totals.policy_hits, {
    blockCategories: { declined: 3, limited: 0 },
    partialHold: { declined: 0, limited: 2 },
  });
  assertEquals(totals.reconciliations, { agreed: 9, mismatch: 1 });
  assertEquals(totals.p50_ms, 3 + 2 * (50 / 99));
  assertEquals(series.map((point) => point.approval_rate), [0.8, null, 0]);
  assertEquals(series.map((point) => point.p50_ms), [3 + 2 * (50 / 99), null, null]);
  assertEquals(series[2].policy_hits, { blockCategories: 1, partialHold: 2 });
});

Deno.test("topKeys() orders by count, then by name, and keeps n", () => {
  assertEquals(topKeys({ b: 2, a: 2, c: 5, d: 1 }, 3), ["c", "a", "b"]);
  assertEquals(topKeys({}, 3), []);
});
