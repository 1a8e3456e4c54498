/**
 * The questions people ask of the decision log, answered for the admin API
 * and the dashboard alike.
 *
 * @module
 */
import { type DecisionOutcome, formatReason, outcomeOf } from "../engine/decide.ts";
import {
  countDecisions,
  type DecisionCounts,
  decisionSeries,
  type SeriesPoint,
} from "./decision_stats.ts";
import type { DecisionRecord, DecisionStore } from "../store/decision_store.ts";
import { RequestError } from "../http/request_error.ts";

/** How many recent decisions the dashboard scans for its counts and filters. */
export const SCAN_LIMIT = 5_000;
const HOUR_MS = 3_600_000;

/** Filters of the decision list; every one optional. */
export interface DecisionFilter {
  readonly card?: string;
  readonly authorization?: string;
  readonly outcome?: DecisionOutcome;
  /** A reason code (`mcc_blocked`) or code with detail (`mcc_blocked:betting_casino_gambling`). */
  readonly reason?: string;
  readonly limit: number;
  readonly offset: number;
}

/** A page of decisions, newest first. */
export interface DecisionPage {
  readonly data: readonly DecisionRecord[];
  readonly has_more: boolean;
}

/**
 * Decisions matching `filter`, newest first, among the most recent
 * {@linkcode SCAN_LIMIT} (of the card, with a card filter).
 *
 * @example
 * ```ts
 * import { findDecisions } from "./decision_queries.ts";
 * // await findDecisions(store, { card: "ic_123", outcome: "declined", limit: 50, offset: 0 })
 * ```
 */
export async function findDecisions(
  store: DecisionStore,
  filter: DecisionFilter,
): Promise<DecisionPage> {
  if (filter.authorization) {
    const record = await store.get(filter.authorization);
    const data = record && matches(record, filter) ? [record] : [];
    return { data, has_more: false };
  }
  const scanned = await store.list({ card: filter.card, limit: SCAN_LIMIT });
  const matching = scanned.filter((record) => matches(record, filter));
  return {
    data: matching.slice(filter.offset, filter.offset + filter.limit),
    has_more: matching.length > filter.offset + filter.limit,
  };
}

/** Counts for the last hour and day, and the per-minute series of the last hours. */
export interface DecisionOverview {
  readonly now: string;
  readonly last_hour: DecisionCounts;
  readonly last_day: DecisionCounts;
  readonly series: readonly SeriesPoint[];
  /** True when the last day had more decisions than were scanned. */
  readonly truncated: boolean;
}

/**
 * The dashboard's summary, from the most recent {@linkcode SCAN_LIMIT}
 * decisions of the last day: counts for the last hour and day, and
 * per-minute decisions and latency for the last `hours`.
 *
 * @example
 * ```ts
 * import { decisionOverview } from "./decision_queries.ts";
 * // (await decisionOverview(store, new Date(), 3)).last_hour.declined
 * ```
 */
export async function decisionOverview(
  store: DecisionStore,
  now: Date,
  hours = 3,
): Promise<DecisionOverview> {
  const records = await store.list({
    since: new Date(now.getTime() - 24 * HOUR_MS),
    limit: SCAN_LIMIT,
  });
  return {
    now: now.toISOString(),
    last_hour: countDecisions(records, new Date(now.getTime() - HOUR_MS)),
    last_day: countDecisions(records, new Date(now.getTime() - 24 * HOUR_MS)),
    series: decisionSeries(records, now, hours, 1),
    truncated: records.length === SCAN_LIMIT,
  };
}

/**
 * Reads a filter from URL search parameters (`card`, `authorization`,
 * `outcome`, `reason`, `limit`, `page`), or throws a 400 {@linkcode RequestError}
 * saying which is wrong.
 *
 * @example
 * ```ts
 * import { filterFromSearch } from "./decision_queries.ts";
 * filterFromSearch(new URLSearchParams("outcome=declined&page=2"), 50);
 * // → { outcome: "declined", limit: 50, offset: 50 }
 * ```
 */
export function filterFromSearch(search: URLSearchParams, defaultLimit: number): DecisionFilter {
  const limit = Number(search.get("limit") ?? defaultLimit);
  const page = Number(search.get("page") ?? 1);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
    throw new RequestError(400, "limit must be an integer from 1 to 500");
  }
  if (!Number.isInteger(page) || page < 1) {
    throw new RequestError(400, "page must be a positive integer");
  }
  const outcome = search.get("outcome") || undefined;
  if (
    outcome !== undefined && outcome !== "approved" && outcome !== "declined" &&
    outcome !== "limited"
  ) {
    throw new RequestError(400, "outcome must be approved, declined or limited");
  }
  return {
    card: search.get("card") || undefined,
    authorization: search.get("authorization") || undefined,
    outcome,
    reason: search.get("reason") || undefined,
    limit,
    offset: (page - 1) * limit,
  };
}

function matches(record: DecisionRecord, filter: DecisionFilter): boolean {
  if (filter.card && record.card_id !== filter.card) return false;
  if (filter.outcome && outcomeOf(record) !== filter.outcome) return false;
  if (filter.reason) {
    const wanted = filter.reason;
    return record.reasons.some((reason) =>
      reason.code === wanted || formatReason(reason) === wanted
    );
  }
  return true;
}
