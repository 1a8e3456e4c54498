/**
 * What the dashboard and `GET /stats` show, computed from the write path's
 * aggregates (never from records): totals for a range and one point per
 * bucket for the charts.
 *
 * @module
 */
import type { DecisionOutcome } from "../engine/decide.ts";
import {
  type AggregateBucket,
  LATENCY_BOUNDS_MS,
  latencyPercentile,
  type PolicyHits,
} from "../store/aggregates.ts";

/** Counts over a range. */
export interface DecisionCounts {
  readonly approved: number;
  readonly declined: number;
  readonly limited: number;
  readonly fallbacks: number;
  readonly shadow_disagreements: number;
  /** Approved and limited over all decisions; `null` with no decisions. */
  readonly approval_rate: number | null;
  readonly p50_ms: number | null;
  readonly p99_ms: number | null;
  readonly reasons: Readonly<Record<string, number>>;
  readonly decline_reasons: Readonly<Record<string, number>>;
  readonly fallback_kinds: Readonly<Record<string, number>>;
  /** Reconciliation outcomes (`agreed`, `mismatch`, …) of the range's decisions. */
  readonly reconciliations: Readonly<Record<string, number>>;
  readonly policy_hits: Readonly<Record<string, PolicyHits>>;
  readonly shadow_policy_hits: Readonly<Record<string, PolicyHits>>;
}

/** One bucket of the charts. */
export interface SeriesPoint {
  /** Bucket start, ISO. */
  readonly at: string;
  readonly approved: number;
  readonly declined: number;
  readonly limited: number;
  readonly approval_rate: number | null;
  /** Decision latency percentiles in ms, `null` for an empty bucket. */
  readonly p50_ms: number | null;
  readonly p99_ms: number | null;
  readonly shadow_disagreements: number;
  readonly decline_reasons: Readonly<Record<string, number>>;
  /** Declines and limits each live policy gave. */
  readonly policy_hits: Readonly<Record<string, number>>;
}

/**
 * Totals over the buckets, and one {@linkcode SeriesPoint} per bucket.
 *
 * @example
 * ```ts
 * import { summarizeBuckets } from "./decision_stats.ts";
 * import { equal } from "node:assert/strict";
 * const bucket = {
 *   at: "2026-11-25T12:00:00.000Z", outcomes: { approved: 3, declined: 1, limited: 0 },
 *   reasons: { "mcc_blocked:betting_casino_gambling": 1 }, decline_reasons: { "mcc_blocked:betting_casino_gambling": 1 },
 *   policy_hits: { blockCategories: { declined: 1, limited: 0 } }, shadow_policy_hits: {},
 *   fallbacks: {}, shadow_disagreements: 0, latency_histogram: [0, 0, 0, 0, 4, 0], reconciliations: {},
 * };
 * const { totals, series } = summarizeBuckets([bucket]);
 * equal(totals.approval_rate, 0.75);
 * equal(series[0].policy_hits.blockCategories, 1);
 * equal(series[0].p50_ms, 4);
 * ```
 */
export function summarizeBuckets(
  buckets: readonly AggregateBucket[],
): { totals: DecisionCounts; series: SeriesPoint[] } {
  const outcomes: Record<DecisionOutcome, number> = { approved: 0, declined: 0, limited: 0 };
  const histogram = LATENCY_BOUNDS_MS.map(() => 0);
  const totals = {
    reasons: {} as Record<string, number>,
    decline_reasons: {} as Record<string, number>,
    fallback_kinds: {} as Record<string, number>,
    reconciliations: {} as Record<string, number>,
    policy_hits: {} as Record<string, { declined: number; limited: number }>,
    shadow_policy_hits: {} as Record<string, { declined: number; limited: number }>,
    shadow_disagreements: 0,
  };
  const series = buckets.map((bucket): SeriesPoint => {
    for (const key of ["approved", "declined", "limited"] as const) {
      outcomes[key] += bucket.outcomes[key];
    }
    bucket.latency_histogram.forEach((n, i) => histogram[i] += n);
    addCounts(totals.reasons, bucket.reasons);
    addCounts(totals.decline_reasons, bucket.decline_reasons);
    addCounts(totals.fallback_kinds, bucket.fallbacks);
    addCounts(totals.reconciliations, bucket.reconciliations);
    addHits(totals.policy_hits, bucket.policy_hits);
    addHits(totals.shadow_policy_hits, bucket.shadow_policy_hits);
    totals.shadow_disagreements += bucket.shadow_disagreements;
    return {
      at: bucket.at,
      ...bucket.outcomes,
      approval_rate: approvalRate(bucket.outcomes),
      p50_ms: latencyPercentile(bucket.latency_histogram, 0.5),
      p99_ms: latencyPercentile(bucket.latency_histogram, 0.99),
      shadow_disagreements: bucket.shadow_disagreements,
      decline_reasons: bucket.decline_reasons,
      policy_hits: Object.fromEntries(
        Object.entries(bucket.policy_hits).map(([policy, hits]) => [
          policy,
          hits.declined + hits.limited,
        ]),
      ),
    };
  });
  return {
    totals: {
      ...outcomes,
      ...totals,
      fallbacks: Object.values(totals.fallback_kinds).reduce((sum, n) => sum + n, 0),
      approval_rate: approvalRate(outcomes),
      p50_ms: latencyPercentile(histogram, 0.5),
      p99_ms: latencyPercentile(histogram, 0.99),
    },
    series,
  };
}

/**
 * The `n` keys with the largest counts, largest first.
 *
 * @example
 * ```ts
 * import { topKeys } from "./decision_stats.ts";
 * import { deepEqual } from "node:assert/strict";
 * deepEqual(topKeys({ a: 1, b: 5, c: 3 }, 2), ["b", "c"]);
 * ```
 */
export function topKeys(counts: Readonly<Record<string, number>>, n: number): string[] {
  return Object.entries(counts).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, n).map(([key]) => key);
}

function approvalRate(outcomes: Readonly<Record<DecisionOutcome, number>>): number | null {
  const total = outcomes.approved + outcomes.declined + outcomes.limited;
  return total === 0 ? null : (outcomes.approved + outcomes.limited) / total;
}

function addCounts(into: Record<string, number>, from: Readonly<Record<string, number>>): void {
  for (const [key, n] of Object.entries(from)) into[key] = (into[key] ?? 0) + n;
}

function addHits(
  into: Record<string, { declined: number; limited: number }>,
  from: Readonly<Record<string, PolicyHits>>,
): void {
  for (const [policy, hits] of Object.entries(from)) {
    const total = into[policy] ??= { declined: 0, limited: 0 };
    total.declined += hits.declined;
    total.limited += hits.limited;
  }
}
