/**
 * What the dashboard counts, computed from decision-log records.
 *
 * @module
 */
import { formatReason, outcomeOf } from "../engine/decide.ts";
import type { DecisionRecord } from "../store/decision_store.ts";

/** Counts over a window. */
export interface DecisionCounts {
  readonly approved: number;
  readonly declined: number;
  readonly limited: number;
  readonly fallbacks: number;
  readonly shadow_disagreements: number;
  readonly reasons: Readonly<Record<string, number>>;
}

/**
 * Counts the records decided at or after `since`.
 *
 * @example
 * ```ts
 * import { countDecisions } from "./decision_stats.ts";
 * // countDecisions(records, new Date(Date.now() - 3_600_000)) → { approved: 12, declined: 3, … }
 * ```
 */
export function countDecisions(records: readonly DecisionRecord[], since: Date): DecisionCounts {
  const counts = { approved: 0, declined: 0, limited: 0, fallbacks: 0, shadow_disagreements: 0 };
  const reasons: Record<string, number> = {};
  const from = since.toISOString();
  for (const record of records) {
    if (record.decided_at < from || record.path === "stripe_only") continue;
    counts[outcomeOf(record)]++;
    if (record.fallback) counts.fallbacks++;
    if (record.shadow?.disagrees) counts.shadow_disagreements++;
    for (const reason of record.reasons) {
      const key = formatReason(reason);
      reasons[key] = (reasons[key] ?? 0) + 1;
    }
  }
  return { ...counts, reasons };
}

/** One time bucket of the charts. */
export interface SeriesPoint {
  /** Bucket start, ISO. */
  readonly at: string;
  readonly approved: number;
  readonly declined: number;
  readonly limited: number;
  /** Decision latency percentiles in ms, `null` for an empty bucket. */
  readonly p50_ms: number | null;
  readonly p99_ms: number | null;
}

/**
 * Decisions per bucket (stacked by outcome) and latency p50/p99, from
 * `now - hours` to `now`, in buckets of `bucketMinutes`.
 *
 * @example
 * ```ts
 * import { decisionSeries } from "./decision_stats.ts";
 * // decisionSeries(records, new Date(), 3, 1) → 180 one-minute points
 * ```
 */
export function decisionSeries(
  records: readonly DecisionRecord[],
  now: Date,
  hours: number,
  bucketMinutes: number,
): SeriesPoint[] {
  const bucketMs = bucketMinutes * 60_000;
  const end = Math.floor(now.getTime() / bucketMs) * bucketMs + bucketMs;
  const count = Math.round((hours * 60) / bucketMinutes);
  const start = end - count * bucketMs;
  const buckets = Array.from(
    { length: count },
    () => ({ approved: 0, declined: 0, limited: 0, latencies: [] as number[] }),
  );
  for (const record of records) {
    if (record.path === "stripe_only") continue;
    const at = Date.parse(record.decided_at);
    if (at < start || at >= end) continue;
    const bucket = buckets[Math.floor((at - start) / bucketMs)];
    bucket[outcomeOf(record)]++;
    bucket.latencies.push(record.latency_ms);
  }
  return buckets.map(({ latencies, ...outcomes }, i) => {
    latencies.sort((a, b) => a - b);
    return {
      at: new Date(start + i * bucketMs).toISOString(),
      ...outcomes,
      p50_ms: percentile(latencies, 0.5),
      p99_ms: percentile(latencies, 0.99),
    };
  });
}

function percentile(sorted: readonly number[], q: number): number | null {
  return sorted.length === 0
    ? null
    : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}
