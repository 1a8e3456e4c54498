/**
 * The questions people ask of the decision log, answered for the admin API
 * and the dashboard alike, each at a bounded cost: the overview reads only
 * the write path's aggregates (cached briefly and shared by concurrent
 * viewers), lists page through the log by time reading at most
 * {@linkcode SCAN_BUDGET} records a page, exports at most
 * {@linkcode EXPORT_MAX_ROWS} rows.
 *
 * @module
 */
import { type DecisionOutcome, formatReason, outcomeOf } from "../engine/decide.ts";
import { type AggregateBucketSize, BUCKET_MS, readAggregates } from "../store/aggregates.ts";
import type { DecisionRecord, DecisionStore } from "../store/decision_store.ts";
import type { ReconciliationOutcome } from "../store/decision_record.ts";
import { RequestError } from "../http/request_error.ts";
import { type DecisionCounts, type SeriesPoint, summarizeBuckets } from "./decision_stats.ts";
import type { Pacer } from "./pacer.ts";

/** The time ranges people pick, with the bucket each is charted in. */
export const TIME_RANGES = {
  "1h": { ms: 3_600_000, bucket: "minute", label: "Last hour" },
  "24h": { ms: 86_400_000, bucket: "hour", label: "Last 24 hours" },
  "7d": { ms: 7 * 86_400_000, bucket: "hour", label: "Last 7 days" },
} as const satisfies Record<string, { ms: number; bucket: AggregateBucketSize; label: string }>;

/** A key of {@linkcode TIME_RANGES}. */
export type TimeRangeName = keyof typeof TIME_RANGES;

/**
 * The `range` parameter of a query, or `fallback` without one; a 400 for
 * anything but a range's own name (`toString` or `__proto__` included).
 *
 * @example
 * ```ts
 * import { rangeFrom } from "./decision_queries.ts";
 * import { equal, throws } from "node:assert/strict";
 * equal(rangeFrom(new URLSearchParams("range=7d"), "1h"), "7d");
 * equal(rangeFrom(new URLSearchParams(""), "1h"), "1h");
 * throws(() => rangeFrom(new URLSearchParams("range=toString"), "1h"), { status: 400 });
 * ```
 */
export function rangeFrom(search: URLSearchParams, fallback: TimeRangeName): TimeRangeName {
  onlyParameters(search, ["range"]);
  return rangeOf(search, fallback);
}

function rangeOf(search: URLSearchParams, fallback: TimeRangeName): TimeRangeName {
  const range = search.get("range") || fallback;
  if (!Object.hasOwn(TIME_RANGES, range)) {
    throw new RequestError(400, "range must be 1h, 24h or 7d");
  }
  return range as TimeRangeName;
}

/** Records one page reads at most, whatever the filters: the cost bound of a list. */
const SCAN_BUDGET = 1_000;
/** Rows one export writes at most. */
const EXPORT_MAX_ROWS = 10_000;
/** Records one export reads at most. */
const EXPORT_SCAN_BUDGET = 100_000;
/** The most records one list call reads (decisions sharing one millisecond). */
const MAX_CHUNK = 5_000;
/** Records read looking for examples of shadow disagreements. */
const EXAMPLES_BUDGET = 500;
/** Records read per round trip while scanning. */
const SCAN_CHUNK = 200;
/** Longest accepted filter text. */
const MAX_FILTER_LENGTH = 200;
/** Every reconciliation outcome, in the order the dashboard lists them. */
export const RECONCILIATION_OUTCOMES = [
  "agreed",
  "mismatch",
  "webhook_timeout",
  "webhook_error",
  "network_decided",
  "stripe_declined",
  "stripe_error",
  "stripe_only",
  "unknown_reason",
] as const satisfies readonly ReconciliationOutcome[];

/** Filters of the decision list; every one optional. Text filters match case-insensitive substrings (so prefixes too). */
export interface DecisionFilter {
  readonly card?: string;
  readonly authorization?: string;
  /** Merchant name or category. */
  readonly merchant?: string;
  /** A reason (`code:detail`) or the policy that gave it. */
  readonly reason?: string;
  readonly outcome?: DecisionOutcome;
  /** What Stripe did: one of {@linkcode RECONCILIATION_OUTCOMES}. */
  readonly reconciliation?: (typeof RECONCILIATION_OUTCOMES)[number];
  /** Only decisions the shadow pipeline disagreed with. */
  readonly disagreement?: boolean;
  readonly range: TimeRangeName;
  readonly limit: number;
  /** Where the previous page ended (its `next`). */
  readonly cursor?: string;
}

/** A page of decisions, newest first. */
export interface DecisionPage {
  readonly data: readonly DecisionRecord[];
  /** The `cursor` of the next (older) page; `null` at the end of the range. */
  readonly next: string | null;
  /** Set when the page stopped at its read budget before filling: how far back it looked. */
  readonly searched_to: string | null;
}

/**
 * Reads a filter from URL search parameters (`card`, `authorization`,
 * `merchant`, `reason`, `outcome`, `reconciliation`, `disagreement=1`,
 * `range`, `limit`, `cursor`), or throws a 400 {@linkcode RequestError}
 * saying which is wrong.
 *
 * @example
 * ```ts
 * import { filterFromSearch } from "./decision_queries.ts";
 * import { deepEqual, throws } from "node:assert/strict";
 * deepEqual(filterFromSearch(new URLSearchParams("outcome=declined&merchant=casino"), 50),
 *   { merchant: "casino", outcome: "declined", range: "24h", limit: 50 });
 * throws(() => filterFromSearch(new URLSearchParams("range=2y"), 50), /range must be 1h, 24h or 7d/);
 * throws(() => filterFromSearch(new URLSearchParams("reasons=spend_limit"), 50), /unknown query parameter "reasons"/);
 * ```
 */
export function filterFromSearch(search: URLSearchParams, defaultLimit: number): DecisionFilter {
  onlyParameters(search, FILTER_PARAMETERS);
  const limit = Number(search.get("limit") || defaultLimit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
    throw new RequestError(400, "limit must be an integer from 1 to 500");
  }
  const range = rangeOf(search, "24h");
  const disagreement = search.get("disagreement") || undefined;
  if (disagreement !== undefined && disagreement !== "1") {
    throw new RequestError(400, "disagreement must be 1 (or left out)");
  }
  const outcome = search.get("outcome") || undefined;
  if (outcome !== undefined && !["approved", "declined", "limited"].includes(outcome)) {
    throw new RequestError(400, "outcome must be approved, declined or limited");
  }
  const reconciliation = search.get("reconciliation") || undefined;
  if (
    reconciliation !== undefined &&
    !(RECONCILIATION_OUTCOMES as readonly string[]).includes(reconciliation)
  ) {
    throw new RequestError(
      400,
      `reconciliation must be one of ${RECONCILIATION_OUTCOMES.join(", ")}`,
    );
  }
  const cursor = search.get("cursor") || undefined;
  if (cursor !== undefined && !parseCursor(cursor)) {
    throw new RequestError(400, "cursor must be a `next` value from a previous page");
  }
  const text = (name: string) => {
    const value = search.get(name)?.trim() || undefined;
    if (value && value.length > MAX_FILTER_LENGTH) {
      throw new RequestError(400, `${name} must be at most ${MAX_FILTER_LENGTH} characters`);
    }
    return value;
  };
  const filter: Record<string, unknown> = {
    card: text("card"),
    authorization: text("authorization"),
    merchant: text("merchant"),
    reason: text("reason"),
    outcome,
    reconciliation,
    disagreement: disagreement ? true : undefined,
    range,
    limit,
    cursor,
  };
  for (const key of Object.keys(filter)) if (filter[key] === undefined) delete filter[key];
  return filter as unknown as DecisionFilter;
}

/** What {@linkcode filterFromSearch} reads, in the order {@linkcode searchOf} writes them. */
const FILTER_PARAMETERS = [
  "card",
  "authorization",
  "merchant",
  "reason",
  "outcome",
  "reconciliation",
  "disagreement",
  "range",
  "limit",
  "cursor",
] as const;

/**
 * A 400 for a parameter the query does not read: a misspelt filter
 * (`reasons=`) would otherwise return everything, unfiltered, as if it had
 * matched.
 */
function onlyParameters(search: URLSearchParams, known: readonly string[]): void {
  for (const name of search.keys()) {
    if (!known.includes(name)) {
      throw new RequestError(
        400,
        `unknown query parameter ${JSON.stringify(name.slice(0, 40))}: use ${known.join(", ")}`,
      );
    }
  }
}

/**
 * The filter as URL search parameters, optionally changed: what links and
 * exports carry.
 *
 * @example
 * ```ts
 * import { searchOf } from "./decision_queries.ts";
 * import { equal } from "node:assert/strict";
 * equal(searchOf({ card: "ic_1", range: "1h", limit: 50 }, { range: "7d" }).toString(), "card=ic_1&range=7d");
 * ```
 */
export function searchOf(
  filter: DecisionFilter,
  changes: Partial<Record<keyof DecisionFilter, string | undefined>> = {},
): URLSearchParams {
  const params = new URLSearchParams();
  // Links keep each page's default size.
  for (const key of FILTER_PARAMETERS) {
    if (key === "limit") continue;
    const value = key in changes ? changes[key] : filter[key];
    if (value === undefined || value === false) continue;
    params.set(key, value === true ? "1" : String(value));
  }
  return params;
}

/**
 * Decisions matching `filter`, newest first, within its time range before
 * `now`: one page, reading at most `budget` records ({@linkcode SCAN_BUDGET}).
 *
 * @example
 * ```ts
 * import { findDecisions } from "./decision_queries.ts";
 * import { deepEqual } from "node:assert/strict";
 * const store = { list: () => Promise.resolve([]), requests: () => Promise.resolve([]) };
 * // deno-lint-ignore no-explicit-any
 * deepEqual(await findDecisions(store as any, { range: "1h", limit: 50 }, new Date()),
 *   { data: [], next: null, searched_to: null });
 * ```
 */
export async function findDecisions(
  store: DecisionStore,
  filter: DecisionFilter,
  now: Date,
  budget: number = SCAN_BUDGET,
): Promise<DecisionPage> {
  // A whole authorization id is read directly, each of its requests a row, instead of scanned for:
  // the same rows in the same order (newest first; in one millisecond, the later request first).
  if (filter.authorization?.startsWith("iauth_") && !filter.cursor) {
    const requests = await store.requests(
      filter.authorization,
      filter.reconciliation !== undefined,
    );
    if (requests && requests.length > 0) {
      const since = now.getTime() - TIME_RANGES[filter.range].ms;
      const data = requests
        .filter((record) => {
          const at = Date.parse(record.decided_at);
          return at >= since && at <= now.getTime() && matches(record, filter);
        })
        .sort((a, b) =>
          Date.parse(b.decided_at) - Date.parse(a.decided_at) || b.request_index - a.request_index
        );
      // Any further page is scanned for from the cursor, as every other page.
      return data.length > filter.limit
        ? {
          data: data.slice(0, filter.limit),
          next: cursorOf(data[filter.limit - 1]),
          searched_to: null,
        }
        : { data, next: null, searched_to: null };
    }
  }
  const data: DecisionRecord[] = [];
  let last: DecisionRecord | undefined;
  // Unfiltered, a page needs only its own rows (and one to know there are more).
  const chunk = narrows(filter) ? SCAN_CHUNK : Math.min(SCAN_CHUNK, filter.limit + 1);
  for await (const record of scan(store, filter, now, reconciling(filter, budget), chunk)) {
    if (record === null) {
      return { data, next: last ? cursorOf(last) : null, searched_to: last?.decided_at ?? null };
    }
    if (!matches(record, filter)) {
      last = record;
      continue;
    }
    if (data.length === filter.limit) return { data, next: cursorOf(last!), searched_to: null };
    data.push(record);
    last = record;
  }
  return { data, next: null, searched_to: null };
}

/**
 * Where an export stopped before the end of its range: at its rows, or at
 * the records it may read (having read back to `searched_to`).
 */
export interface ExportCut {
  readonly cut: "rows" | "reads";
  readonly searched_to?: string;
}

/**
 * Every decision matching `filter` in its range, newest first, for export:
 * at most {@linkcode EXPORT_MAX_ROWS}, reading at most
 * {@linkcode EXPORT_SCAN_BUDGET} records (`limits` for tests), each chunk in
 * its turn of `pacer` when given (an export is many short reads, not one long
 * one), counted among its exports while it runs. `filter.limit` is ignored.
 * Stopped by either bound, it ends with an {@linkcode ExportCut}, so the file
 * says it is not the whole range.
 *
 * @example
 * ```ts
 * import { exportDecisions } from "./decision_queries.ts";
 * import { equal } from "node:assert/strict";
 * const store = { list: () => Promise.resolve([]), requests: () => Promise.resolve([]) };
 * let rows = 0;
 * // deno-lint-ignore no-explicit-any
 * for await (const _ of exportDecisions(store as any, { range: "7d", limit: 1 }, new Date())) rows++;
 * equal(rows, 0);
 * ```
 */
export async function* exportDecisions(
  store: DecisionStore,
  filter: DecisionFilter,
  now: Date,
  pacer?: Pacer,
  limits = { rows: EXPORT_MAX_ROWS, reads: EXPORT_SCAN_BUDGET },
): AsyncIterable<DecisionRecord | ExportCut> {
  using _running = pacer?.exporting();
  let rows = 0;
  let last: DecisionRecord | undefined;
  const budget = reconciling(filter, limits.reads);
  for await (const record of scan(store, filter, now, budget, SCAN_CHUNK, pacer)) {
    if (record === null) {
      yield { cut: "reads", ...(last ? { searched_to: last.decided_at } : {}) };
      return;
    }
    last = record;
    if (!matches(record, filter)) continue;
    if (rows === limits.rows) {
      // One match more than it may write: the file is cut, not complete.
      yield { cut: "rows" };
      return;
    }
    yield record;
    rows++;
  }
}

/**
 * Records of the range newest first, from the filter's cursor on, in
 * chunks, each read in its turn of `pacer` when given; `null` once `budget`
 * records were read.
 */
async function* scan(
  store: DecisionStore,
  filter: DecisionFilter,
  now: Date,
  budget: number,
  chunkSize: number,
  pacer?: Pacer,
): AsyncIterable<DecisionRecord | null> {
  const since = new Date(now.getTime() - TIME_RANGES[filter.range].ms);
  let after = filter.cursor ? parseCursor(filter.cursor)! : undefined;
  let read = 0, size = chunkSize;
  while (true) {
    const before = after ? new Date(after.at + 1) : new Date(now.getTime() + 1);
    const list = () =>
      store.list({
        since,
        before,
        limit: size,
        reconciliation: filter.reconciliation !== undefined,
      });
    const chunk = await (pacer ? pacer.run(list) : list());
    let fresh = 0;
    for (const record of chunk) {
      const at = Date.parse(record.decided_at);
      // The chunk ends just after the cursor's millisecond: skip what the cursor already passed.
      // Within a millisecond records come by authorization, then request, both descending: an
      // increment decided in its first request's millisecond is a record of its own.
      if (after && at === after.at && isPassed(record, after)) continue;
      if (read === budget) {
        yield null;
        return;
      }
      read++;
      fresh++;
      after = { at, id: record.authorization_id, index: record.request_index };
      yield record;
    }
    if (chunk.length < size) return;
    // A whole chunk in the cursor's millisecond, all seen: the list pages by time only, so read more of it.
    if (fresh === 0) {
      if (size >= MAX_CHUNK) return;
      size = Math.min(size * 4, MAX_CHUNK);
    } else size = chunkSize;
  }
}

/** Whether the filter can leave out records of its range. */
function narrows(filter: DecisionFilter): boolean {
  return [
    filter.card,
    filter.authorization,
    filter.merchant,
    filter.reason,
    filter.outcome,
    filter.reconciliation,
    filter.disagreement,
  ].some((value) => value !== undefined);
}

/**
 * What Stripe did is kept per authorization, not on each request's record:
 * filtering by it also reads each record's authorization, so such a scan
 * reads half as many records.
 */
function reconciling(filter: DecisionFilter, budget: number): number {
  return filter.reconciliation ? Math.ceil(budget / 2) : budget;
}

/** Where a page ended: a record's time, authorization and request. */
interface Cursor {
  readonly at: number;
  readonly id: string;
  readonly index: number;
}

function cursorOf(record: DecisionRecord): string {
  return `${Date.parse(record.decided_at)}.${record.authorization_id}.${record.request_index}`;
}

/** A cursor; one from before it named the request (`at.id`) passes all of its authorization's. */
function parseCursor(cursor: string): Cursor | undefined {
  // Any id the webhook takes (up to 255 characters of any kind: `isId` in webhook.ts).
  const match = /^(\d{1,15})\.([^]{1,255}?)(?:\.(\d{1,6}))?$/.exec(cursor);
  return match ? { at: Number(match[1]), id: match[2], index: Number(match[3] ?? 0) } : undefined;
}

/** Whether a record of the cursor's millisecond comes before it (or is it), newest first. */
function isPassed(record: DecisionRecord, after: Cursor): boolean {
  return record.authorization_id > after.id ||
    (record.authorization_id === after.id && record.request_index >= after.index);
}

/**
 * Whether `value` holds `wanted`, in any case. A field that is not text (in a
 * record logged before the webhook checked it) counts as empty.
 */
function includes(value: unknown, wanted: string | undefined): boolean {
  return wanted === undefined ||
    (typeof value === "string" ? value : "").toLowerCase().includes(wanted.toLowerCase());
}

/**
 * Whether a record passes the filter's content filters (not its range). A
 * record carries its `reconciliation` (the authorization's) only when listed
 * with it, as {@linkcode findDecisions} lists when filtering by it.
 *
 * @example
 * ```ts
 * import { matches } from "./decision_queries.ts";
 * import { equal } from "node:assert/strict";
 * const record = { card_id: "ic_1", authorization_id: "iauth_1", merchant_name: "LUCKY CASINO",
 *   merchant_category: "betting_casino_gambling", approved: false, amount: null,
 *   reasons: [{ policy: "blockCategories", code: "mcc_blocked", detail: "betting_casino_gambling" }] };
 * // deno-lint-ignore no-explicit-any
 * equal(matches(record as any, { reason: "MCC_block", merchant: "casino", range: "1h", limit: 1 }), true);
 * // deno-lint-ignore no-explicit-any
 * equal(matches(record as any, { outcome: "approved", range: "1h", limit: 1 }), false);
 * ```
 */
export function matches(record: DecisionRecord, filter: DecisionFilter): boolean {
  if (!includes(record.card_id, filter.card)) return false;
  if (!includes(record.authorization_id, filter.authorization)) return false;
  if (
    filter.merchant !== undefined && !includes(record.merchant_name, filter.merchant) &&
    !includes(record.merchant_category, filter.merchant)
  ) return false;
  if (
    filter.reason !== undefined &&
    !record.reasons.some((reason) =>
      includes(formatReason(reason), filter.reason) || includes(reason.policy, filter.reason)
    )
  ) return false;
  if (filter.outcome && outcomeOf(record) !== filter.outcome) return false;
  if (filter.reconciliation && record.reconciliation?.outcome !== filter.reconciliation) {
    return false;
  }
  if (filter.disagreement && !record.shadow?.disagrees) return false;
  return true;
}

/** What the overview shows for a time range. */
export interface DecisionOverview {
  readonly now: string;
  readonly range: TimeRangeName;
  /** Bucket length of `series`, in ms. */
  readonly bucket_ms: number;
  readonly totals: DecisionCounts;
  readonly series: readonly SeriesPoint[];
  /** Recent decisions the shadow pipeline disagreed with (a bounded scan). */
  readonly shadow_examples: readonly DecisionRecord[];
}

/** Reads overviews; see {@linkcode createOverviewReader}. */
export type OverviewReader = (range: TimeRangeName, now: Date) => Promise<DecisionOverview>;

/**
 * The overview of a range from the aggregates: totals and one point per
 * bucket, plus a few recent shadow disagreements. Results are kept `ttlMs`
 * per range and a read in flight is shared, so any number of viewers costs
 * the store at most one read per range per `ttlMs`.
 *
 * @example
 * ```ts
 * import { createOverviewReader } from "./decision_queries.ts";
 * import { equal } from "node:assert/strict";
 * const kv = await Deno.openKv(":memory:");
 * const store = { list: () => Promise.resolve([]), requests: () => Promise.resolve([]) };
 * // deno-lint-ignore no-explicit-any
 * const overview = createOverviewReader({ kv, store: store as any });
 * const { series, totals } = await overview("1h", new Date());
 * equal(series.length, 60);
 * equal(totals.approval_rate, null);
 * kv.close();
 * ```
 */
export function createOverviewReader(
  options: { readonly kv: Deno.Kv; readonly store: DecisionStore; readonly ttlMs?: number },
): OverviewReader {
  const { kv, store, ttlMs = 5_000 } = options;
  if (!(ttlMs >= 0)) throw new RangeError(`ttlMs must be at least 0, got ${ttlMs}`);
  const cache = new Map<TimeRangeName, { at: number; overview: Promise<DecisionOverview> }>();
  return (range, now) => {
    const cached = cache.get(range);
    if (cached && now.getTime() - cached.at < ttlMs) return cached.overview;
    const overview = readOverview(kv, store, range, now);
    cache.set(range, { at: now.getTime(), overview });
    overview.catch(() => cache.delete(range));
    return overview;
  };
}

async function readOverview(
  kv: Deno.Kv,
  store: DecisionStore,
  range: TimeRangeName,
  now: Date,
): Promise<DecisionOverview> {
  const { ms, bucket } = TIME_RANGES[range];
  const bucketMs = BUCKET_MS[bucket];
  // Whole buckets, the last one the current (partial) bucket.
  const end = Math.floor(now.getTime() / bucketMs) * bucketMs + bucketMs;
  const buckets = await readAggregates(kv, { from: new Date(end - ms), to: new Date(end), bucket });
  const summary = summarizeBuckets(buckets);
  // Scanned for only when the counters say there is something to find.
  const examples = summary.totals.shadow_disagreements === 0
    ? []
    : (await findDecisions(store, { range, disagreement: true, limit: 5 }, now, EXAMPLES_BUDGET))
      .data;
  return {
    now: now.toISOString(),
    range,
    bucket_ms: bucketMs,
    ...summary,
    shadow_examples: examples,
  };
}
