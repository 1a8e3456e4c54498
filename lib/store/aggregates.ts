/**
 * Per-minute and per-hour aggregates of the decision log, kept by the write
 * path: the dashboard's overview and `GET /stats` read these counters instead
 * of scanning records, so their cost depends on the time range, never on
 * traffic, and any number of viewers leaves the webhook path unchanged.
 *
 * Each counter is a `Deno.KvU64` under
 * `["aggregate", "minute" | "hour", bucketStartMs, ...series]` and grows by
 * `sum` mutations added to the very atomic operation that commits the
 * decisions (or the reconciliation) it counts. A `sum` has no check, so two
 * batches (or processes) adding to one counter never conflict and never
 * retry because of it, and a batch that retries rebuilds its operation, so
 * nothing is counted twice. A batch is aggregated before it is written: one
 * mutation per distinct counter and bucket, not per decision.
 *
 * Series (the key's tail):
 * - `["outcome", "approved" | "declined" | "limited"]`
 * - `["reason", "mcc_blocked:betting_casino_gambling", outcome]`
 * - `["policy", policyName, "decline" | "limit"]`, `["shadow_policy", …]`: verdicts that objected
 * - `["fallback", kind]`, `["shadow_disagreement"]`
 * - `["latency", i]`: decisions with latency at most {@linkcode LATENCY_BOUNDS_MS}`[i]`
 * - `["reconciliation", outcome]`: counted once per authorization, in its decision's bucket
 *
 * Expiry: Deno KV's `sum` takes no `expireIn` and clears one a key had, so
 * counters past their retention are deleted by {@linkcode sweepAggregates},
 * which the writer runs in the background at most once a minute.
 *
 * @module
 */
import { type DecisionOutcome, formatReason, outcomeOf, type Reason } from "../engine/decide.ts";
import type { Verdict } from "../engine/policy.ts";

/** Bucket sizes the aggregates are kept at. */
export type AggregateBucketSize = "minute" | "hour";

/** Length of a bucket, in ms. */
export const BUCKET_MS: Readonly<Record<AggregateBucketSize, number>> = {
  minute: 60_000,
  hour: 3_600_000,
};
/** How long counters are kept, in ms: 2 days by the minute, 31 days by the hour. */
const AGGREGATE_RETENTION_MS: Readonly<Record<AggregateBucketSize, number>> = {
  minute: 2 * 86_400_000,
  hour: 31 * 86_400_000,
};
/** The most buckets one read returns: 6 hours by the minute, 31 days by the hour. */
const MAX_BUCKETS_PER_READ: Readonly<Record<AggregateBucketSize, number>> = {
  minute: 360,
  hour: 744,
};
/**
 * Upper bounds of the latency histogram, in ms: fine where decisions are
 * (a few ms), coarse up to Stripe's 2 s; the last bucket is everything above.
 */
export const LATENCY_BOUNDS_MS = [
  0.5,
  1,
  2,
  3,
  5,
  8,
  13,
  20,
  30,
  50,
  80,
  130,
  200,
  300,
  500,
  800,
  1_300,
  2_000,
  Infinity,
] as const;

const ROOT = "aggregate";
/** Keys deleted per atomic operation by the sweeper (KV allows 1,000 mutations). */
const SWEEP_CHUNK = 500;
const SWEEP_EVERY_MS = 60_000;

/** The fields of a logged decision the aggregates count (a `DecisionRecord` has them all). */
export interface AggregatedDecision {
  readonly decided_at: string;
  readonly approved: boolean;
  readonly amount: number | null;
  readonly reasons: readonly Reason[];
  readonly trace: readonly { readonly policy: string; readonly verdict: Verdict }[];
  readonly fallback?: string;
  readonly latency_ms: number;
  readonly shadow?: AggregatedShadow;
}

/** What a job adds to its batch's per-minute aggregates (one `sum` per key for the batch). */
export interface AggregateShare {
  /** A newly committed decision: not a redelivery, nor a fallback superseding one. */
  readonly decided?: AggregatedDecision;
  /** An authorization's first reconciliation outcome, counted in its decision's bucket. */
  readonly firstOutcome?: AggregatedOutcome;
}

/** An authorization's first reconciliation outcome, and when its decision was made. */
export interface AggregatedOutcome {
  readonly decidedAt: string;
  readonly outcome: string;
}

/** The fields of a shadow decision the aggregates count. */
export interface AggregatedShadow {
  readonly disagrees: boolean;
  readonly trace: readonly { readonly policy: string; readonly verdict: Verdict }[];
}

/** Adds to the aggregates inside open atomic operations; see {@linkcode createAggregateWriter}. */
export interface AggregateWriter {
  /**
   * Adds the counts of newly committed decisions (not redeliveries) to the
   * operation that commits them; returns the number of mutations added.
   */
  addDecisions(operation: Deno.AtomicOperation, decisions: readonly AggregatedDecision[]): number;
  /** Adds an async shadow decision that settled after its live decision was committed. */
  addShadow(operation: Deno.AtomicOperation, decidedAt: string, shadow: AggregatedShadow): number;
  /** Adds authorizations' first reconciliation outcomes, each in its decision's bucket. */
  addReconciliations(
    operation: Deno.AtomicOperation,
    outcomes: readonly AggregatedOutcome[],
  ): number;
}

/**
 * The write path's side of the aggregates, over the store's `Deno.Kv`. Every
 * add counts in both the minute and the hour bucket. About once a minute it
 * also starts {@linkcode sweepAggregates} in the background (never awaited by
 * a commit); its failure only leaves old counters for the next sweep.
 *
 * @example
 * ```ts
 * import { createAggregateWriter, readAggregates } from "./aggregates.ts";
 * import { equal } from "node:assert/strict";
 * const kv = await Deno.openKv(":memory:");
 * const writer = createAggregateWriter(kv);
 * const decided = { decided_at: "2026-11-25T12:00:30Z", approved: false, amount: null, latency_ms: 4,
 *   reasons: [{ policy: "blockCategories", code: "mcc_blocked", detail: "betting_casino_gambling" }],
 *   trace: [{ policy: "blockCategories", verdict: { outcome: "decline" as const, code: "mcc_blocked" } }] };
 * const operation = kv.atomic();
 * writer.addDecisions(operation, [decided, decided]);
 * await operation.commit();
 * const [bucket] = await readAggregates(kv, {
 *   from: new Date("2026-11-25T12:00:00Z"), to: new Date("2026-11-25T12:01:00Z"), bucket: "minute" });
 * equal(bucket.outcomes.declined, 2);
 * equal(bucket.policy_hits.blockCategories.declined, 2);
 * kv.close();
 * ```
 */
export function createAggregateWriter(kv: Deno.Kv): AggregateWriter {
  let lastSweep = Date.now();

  function write(operation: Deno.AtomicOperation, tally: Tally): number {
    const sums = tally.sums();
    for (const { key, n } of sums) operation.sum(key, BigInt(n));
    if (Date.now() - lastSweep >= SWEEP_EVERY_MS) {
      lastSweep = Date.now();
      // Deletes need no check and read nothing a decision reads: they never conflict with commits.
      sweepAggregates(kv, new Date(lastSweep)).catch(() => {});
    }
    return sums.length;
  }

  return {
    addDecisions(operation, decisions) {
      const tally = new Tally();
      for (const decision of decisions) {
        const minute = minuteOf(decision.decided_at);
        const outcome = outcomeOf(decision);
        tally.add(minute, ["outcome", outcome]);
        for (const reason of decision.reasons) {
          tally.add(minute, ["reason", formatReason(reason), outcome]);
        }
        countObjections(tally, minute, "policy", decision.trace);
        if (decision.fallback) tally.add(minute, ["fallback", decision.fallback]);
        tally.add(minute, ["latency", latencyBucket(decision.latency_ms)]);
        if (decision.shadow) countShadow(tally, minute, decision.shadow);
      }
      return write(operation, tally);
    },
    addShadow(operation, decidedAt, shadow) {
      const tally = new Tally();
      countShadow(tally, minuteOf(decidedAt), shadow);
      return write(operation, tally);
    },
    addReconciliations(operation, outcomes) {
      const tally = new Tally();
      for (const { decidedAt, outcome } of outcomes) {
        tally.add(minuteOf(decidedAt), ["reconciliation", outcome]);
      }
      return write(operation, tally);
    },
  };
}

/**
 * One operation's counts, by minute and series. Each decision is counted
 * once, in its minute; the hours' counts are summed from the minutes' when
 * the operation is written (an hour holds whole minutes), which halves the
 * counting a decision costs on the commit path.
 */
class Tally {
  readonly #byMinute = new Map<
    string,
    { minute: number; series: Deno.KvKey; seriesId: string; n: number }
  >();

  add(minute: number, series: Deno.KvKey): void {
    const seriesId = JSON.stringify(series);
    const id = `${minute}:${seriesId}`;
    const counted = this.#byMinute.get(id);
    if (counted) counted.n++;
    else this.#byMinute.set(id, { minute, series, seriesId, n: 1 });
  }

  /** One sum per counter: each minute's, then each hour's. */
  sums(): { key: Deno.KvKey; n: number }[] {
    const sums: { key: Deno.KvKey; n: number }[] = [];
    const hours = new Map<string, { key: Deno.KvKey; n: number }>();
    for (const { minute, series, seriesId, n } of this.#byMinute.values()) {
      sums.push({ key: [ROOT, "minute", minute, ...series], n });
      const hour = bucketStart(minute, "hour");
      const hourId = `${hour}:${seriesId}`;
      const counted = hours.get(hourId);
      if (counted) counted.n += n;
      else hours.set(hourId, { key: [ROOT, "hour", hour, ...series], n });
    }
    for (const counted of hours.values()) sums.push(counted);
    return sums;
  }
}

/** The start of the minute an ISO time falls in, in ms. */
function minuteOf(at: string): number {
  return bucketStart(Date.parse(at), "minute");
}

function countShadow(tally: Tally, minute: number, shadow: AggregatedShadow): void {
  if (shadow.disagrees) tally.add(minute, ["shadow_disagreement"]);
  countObjections(tally, minute, "shadow_policy", shadow.trace);
}

/** Counts `[kind, policy, "decline" | "limit"]` for each verdict that objected. */
function countObjections(
  tally: Tally,
  minute: number,
  kind: "policy" | "shadow_policy",
  trace: AggregatedDecision["trace"],
): void {
  for (const { policy, verdict } of trace) {
    if (verdict.outcome === "decline" || verdict.outcome === "limit") {
      tally.add(minute, [kind, policy, verdict.outcome]);
    }
  }
}

function bucketStart(at: number, size: AggregateBucketSize): number {
  return Math.floor(at / BUCKET_MS[size]) * BUCKET_MS[size];
}

/**
 * The histogram bucket of a latency: the first bound at or above it.
 *
 * @example
 * ```ts
 * import { latencyBucket, LATENCY_BOUNDS_MS } from "./aggregates.ts";
 * import { equal } from "node:assert/strict";
 * equal(LATENCY_BOUNDS_MS[latencyBucket(4.2)], 5);
 * equal(LATENCY_BOUNDS_MS[latencyBucket(9_000)], Infinity);
 * ```
 */
export function latencyBucket(latencyMs: number): number {
  return LATENCY_BOUNDS_MS.findIndex((bound) => latencyMs <= bound);
}

/** Policy hits in one bucket. */
export interface PolicyHits {
  readonly declined: number;
  readonly limited: number;
}

/** The counts of one bucket; zero everywhere when nothing happened in it. */
export interface AggregateBucket {
  /** Bucket start, ISO. */
  readonly at: string;
  readonly outcomes: Readonly<Record<DecisionOutcome, number>>;
  /** Decisions by reason (`code:detail`), whatever their outcome. */
  readonly reasons: Readonly<Record<string, number>>;
  /** Declined decisions by reason. */
  readonly decline_reasons: Readonly<Record<string, number>>;
  readonly policy_hits: Readonly<Record<string, PolicyHits>>;
  readonly shadow_policy_hits: Readonly<Record<string, PolicyHits>>;
  readonly fallbacks: Readonly<Record<string, number>>;
  readonly shadow_disagreements: number;
  /** Decisions per {@linkcode LATENCY_BOUNDS_MS} bucket. */
  readonly latency_histogram: readonly number[];
  readonly reconciliations: Readonly<Record<string, number>>;
}

/** A time range of buckets to read. */
export interface AggregateRange {
  /** Start; the bucket containing it is the first. */
  readonly from: Date;
  /** End, exclusive. */
  readonly to: Date;
  readonly bucket: AggregateBucketSize;
}

/**
 * Every bucket from the one holding `from` up to `to` (exclusive), oldest
 * first, empty ones included (so a chart can show gaps). Reads only the
 * counters of the range: at most {@linkcode MAX_BUCKETS_PER_READ} buckets,
 * else a `RangeError`.
 *
 * @example
 * ```ts
 * import { readAggregates } from "./aggregates.ts";
 * import { deepEqual, throws } from "node:assert/strict";
 * const kv = await Deno.openKv(":memory:");
 * const from = new Date("2026-11-25T12:00:00Z");
 * const buckets = await readAggregates(kv, { from, to: new Date("2026-11-25T15:00:00Z"), bucket: "hour" });
 * deepEqual(buckets.map((bucket) => bucket.at.slice(11, 13)), ["12", "13", "14"]);
 * deepEqual(buckets[0].outcomes, { approved: 0, declined: 0, limited: 0 });
 * await readAggregates(kv, { from, to: new Date("2026-11-26T12:00:00Z"), bucket: "minute" })
 *   .then(() => { throw new Error("expected a RangeError"); }, (error) => { if (!(error instanceof RangeError)) throw error; });
 * kv.close();
 * ```
 */
export async function readAggregates(
  kv: Deno.Kv,
  range: AggregateRange,
): Promise<AggregateBucket[]> {
  const size = range.bucket;
  if (!(size in BUCKET_MS)) {
    throw new RangeError(`bucket must be "minute" or "hour", got ${JSON.stringify(size)}`);
  }
  const bucketMs = BUCKET_MS[size];
  const start = bucketStart(range.from.getTime(), size);
  const end = range.to.getTime();
  if (!Number.isFinite(start) || !Number.isFinite(end) || end <= start) {
    throw new RangeError("the range must end after it starts");
  }
  const count = Math.ceil((end - start) / bucketMs);
  if (count > MAX_BUCKETS_PER_READ[size]) {
    throw new RangeError(
      `a read spans at most ${MAX_BUCKETS_PER_READ[size]} ${size} buckets, got ${count}`,
    );
  }
  const buckets = Array.from({ length: count }, (_, i) => emptyBucket(start + i * bucketMs));
  const selector = { start: [ROOT, size, start], end: [ROOT, size, end] };
  for await (const entry of kv.list<Deno.KvU64>(selector, { batchSize: 1_000 })) {
    const [, , at, series, ...labels] = entry.key as [string, string, number, string, ...string[]];
    const bucket = buckets[Math.floor((at - start) / bucketMs)];
    if (bucket) addTo(bucket, series, labels, Number(entry.value.value));
  }
  return buckets;
}

type MutableBucket = {
  -readonly [K in keyof AggregateBucket]: AggregateBucket[K] extends readonly number[] ? number[]
    : AggregateBucket[K] extends object ? Record<string, unknown>
    : AggregateBucket[K];
};

/**
 * A bucket with nothing counted, starting at `at` (ms): what a range's
 * empty minutes read as.
 *
 * @example
 * ```ts
 * import { emptyBucket } from "./aggregates.ts";
 * import { equal } from "node:assert/strict";
 * const bucket = emptyBucket(0);
 * equal(bucket.at, "1970-01-01T00:00:00.000Z");
 * equal(bucket.outcomes.approved + bucket.outcomes.declined + bucket.outcomes.limited, 0);
 * ```
 */
export function emptyBucket(at: number): AggregateBucket {
  return {
    at: new Date(at).toISOString(),
    outcomes: { approved: 0, declined: 0, limited: 0 },
    reasons: {},
    decline_reasons: {},
    policy_hits: {},
    shadow_policy_hits: {},
    fallbacks: {},
    shadow_disagreements: 0,
    latency_histogram: LATENCY_BOUNDS_MS.map(() => 0),
    reconciliations: {},
  };
}

function addTo(bucket: AggregateBucket, series: string, labels: unknown[], n: number): void {
  const target = bucket as unknown as MutableBucket;
  // The second label is a policy's verdict, or the outcome a reason came with.
  const [label, verdict] = labels as [string | number, string | undefined];
  switch (series) {
    case "reason":
      target.reasons[label] = ((target.reasons[label] as number | undefined) ?? 0) + n;
      if (verdict === "declined") {
        target.decline_reasons[label] =
          ((target.decline_reasons[label] as number | undefined) ?? 0) +
          n;
      }
      return;
    case "outcome":
    case "fallback":
    case "reconciliation": {
      const field = series === "outcome"
        ? target.outcomes
        : series === "fallback"
        ? target.fallbacks
        : target.reconciliations;
      field[label] = ((field[label] as number | undefined) ?? 0) + n;
      return;
    }
    case "policy":
    case "shadow_policy": {
      const field = series === "policy" ? target.policy_hits : target.shadow_policy_hits;
      const hits = (field[label] ?? { declined: 0, limited: 0 }) as {
        declined: number;
        limited: number;
      };
      hits[verdict === "limit" ? "limited" : "declined"] += n;
      field[label] = hits;
      return;
    }
    case "shadow_disagreement":
      target.shadow_disagreements += n;
      return;
    case "latency":
      target.latency_histogram[label as number] += n;
  }
}

/**
 * Deletes counters older than their retention ({@linkcode AGGREGATE_RETENTION_MS}),
 * at most `maxKeys` a call; returns how many it deleted.
 *
 * @example
 * ```ts
 * import { sweepAggregates } from "./aggregates.ts";
 * import { equal } from "node:assert/strict";
 * const kv = await Deno.openKv(":memory:");
 * await kv.atomic().sum(["aggregate", "minute", 0, "outcome", "approved"], 1n).commit();
 * equal(await sweepAggregates(kv, new Date()), 1);
 * kv.close();
 * ```
 */
export async function sweepAggregates(kv: Deno.Kv, now: Date, maxKeys = 5_000): Promise<number> {
  let deleted = 0;
  for (const size of ["minute", "hour"] as const) {
    const end = [ROOT, size, now.getTime() - AGGREGATE_RETENTION_MS[size]];
    let keys: Deno.KvKey[] = [];
    const flush = async () => {
      const operation = kv.atomic();
      for (const key of keys) operation.delete(key);
      await operation.commit();
      deleted += keys.length;
      keys = [];
    };
    const selector = { start: [ROOT, size], end };
    for await (const entry of kv.list(selector, { limit: maxKeys - deleted, batchSize: 1_000 })) {
      keys.push(entry.key);
      if (keys.length === SWEEP_CHUNK) await flush();
    }
    if (keys.length > 0) await flush();
    if (deleted >= maxKeys) break;
  }
  return deleted;
}

/**
 * A latency percentile estimated from a histogram, interpolated linearly
 * within its bucket (as Prometheus' `histogram_quantile`); `null` when empty.
 * `q` is from 0 to 1.
 *
 * @example
 * ```ts
 * import { latencyPercentile, LATENCY_BOUNDS_MS } from "./aggregates.ts";
 * import { equal } from "node:assert/strict";
 * const histogram = LATENCY_BOUNDS_MS.map(() => 0);
 * histogram[4] = 10; // ten decisions in (3, 5] ms
 * equal(latencyPercentile(histogram, 0.5), 4);
 * equal(latencyPercentile(LATENCY_BOUNDS_MS.map(() => 0), 0.99), null);
 * ```
 */
export function latencyPercentile(histogram: readonly number[], q: number): number | null {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`q must be from 0 to 1, got ${q}`);
  const total = histogram.reduce((sum, n) => sum + n, 0);
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    if (histogram[i] === 0 || seen + histogram[i] < rank) {
      seen += histogram[i];
      continue;
    }
    const lower = i === 0 ? 0 : LATENCY_BOUNDS_MS[i - 1];
    const upper = LATENCY_BOUNDS_MS[i];
    if (upper === Infinity) return lower;
    return lower + (upper - lower) * ((rank - seen) / histogram[i]);
  }
  return LATENCY_BOUNDS_MS.at(-2)!;
}
