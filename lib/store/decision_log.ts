/**
 * Reads of the decision log: one authorization with all its requests, pages
 * of requests by time or card, and the whole log for export. Every read is
 * bounded (a page, or one authorization's requests) and uses the indexes, so
 * the dashboard and the admin API never scan on the webhook's KV.
 *
 * @module
 */
import { authorizationKey, type AuthorizationState } from "./authorization_state.ts";
import { getMany, uniqueKeys } from "./commit_engine.ts";
import {
  decisionKey,
  type DecisionRecord,
  recordFromStored,
  type StoredRecord,
  summaryOf,
} from "./decision_record.ts";

/** Records read per round trip by {@linkcode decisionLog}. */
const EXPORT_PAGE = 100;
/** An authorization's requests read at most (Stripe sends a handful of increments at most). */
const MAX_REQUESTS = 100;

/**
 * One authorization as the admin API shows it: its latest request's record,
 * with the authorization's total `reservation`, Stripe's `reconciliation` and
 * every request in `requests`; `null` when unknown.
 *
 * @example
 * ```ts
 * import { authorizationRecord } from "./decision_log.ts";
 * import { equal } from "node:assert/strict";
 * using kv = await Deno.openKv(":memory:");
 * equal(await authorizationRecord(kv, "iauth_unknown"), null);
 * ```
 */
export async function authorizationRecord(
  kv: Deno.Kv,
  authorizationId: string,
): Promise<DecisionRecord | null> {
  const [state, records] = await Promise.all([
    kv.get<AuthorizationState>(authorizationKey(authorizationId)),
    requestRecords(kv, authorizationId),
  ]);
  const latest = records.at(-1);
  if (!latest) return null;
  const entries = state.value?.requests ?? [];
  const reservation = {
    keys: uniqueKeys(entries.flatMap((entry) => entry.reservation.keys)),
    amount: entries.reduce((sum, entry) => sum + entry.reservation.amount, 0),
    count: entries.reduce((sum, entry) => sum + entry.reservation.count, 0),
  };
  return {
    ...latest,
    reservation,
    ...(state.value?.reconciliation ? { reconciliation: state.value.reconciliation } : {}),
    requests: records.map(summaryOf),
  };
}

/**
 * Every logged request of one authorization, in order.
 *
 * @example
 * ```ts
 * import { requestRecords } from "./decision_log.ts";
 * import { equal } from "node:assert/strict";
 * using kv = await Deno.openKv(":memory:");
 * equal((await requestRecords(kv, "iauth_unknown")).length, 0);
 * ```
 */
export async function requestRecords(
  kv: Deno.Kv,
  authorizationId: string,
): Promise<DecisionRecord[]> {
  const records: DecisionRecord[] = [];
  const entries = kv.list<StoredRecord>({ prefix: ["decision", authorizationId] }, {
    limit: MAX_REQUESTS,
  });
  for await (const entry of entries) records.push(recordFromStored(entry.value));
  return records;
}

/** What {@linkcode listRecords} reads. */
export interface ListQuery {
  readonly since?: Date;
  /** Exclusive, for paging. */
  readonly before?: Date;
  readonly limit: number;
  /**
   * Also read each record's authorization for its `reconciliation` (what
   * Stripe did is kept per authorization), in `getMany`s beside the records'.
   */
  readonly reconciliation?: boolean;
}

/**
 * Logged requests newest first, from a time on and up to a time
 * (`before`, exclusive, for paging), at most `limit`.
 *
 * @example
 * ```ts
 * import { listRecords } from "./decision_log.ts";
 * import { equal } from "node:assert/strict";
 * using kv = await Deno.openKv(":memory:");
 * equal((await listRecords(kv, { limit: 10, reconciliation: true })).length, 0);
 * ```
 */
export async function listRecords(kv: Deno.Kv, query: ListQuery): Promise<DecisionRecord[]> {
  const prefix = ["decisions_by_time"];
  // KV takes a prefix with one bound, or both bounds without a prefix.
  const start = query.since && [...prefix, query.since.getTime()];
  const end = query.before && [...prefix, query.before.getTime()];
  const selector: Deno.KvListSelector = start && end
    ? { start, end }
    : start
    ? { prefix, start }
    : end
    ? { prefix, end }
    : { prefix };
  const refs: [string, number][] = [];
  for await (
    const entry of kv.list<[string, number]>(selector, { reverse: true, limit: query.limit })
  ) {
    refs.push(entry.value);
  }
  if (!query.reconciliation) return await recordsOf(kv, refs);
  const ids = [...new Set(refs.map(([id]) => id))];
  const [records, states] = await Promise.all([
    recordsOf(kv, refs),
    getMany<AuthorizationState>(kv, ids.map(authorizationKey)),
  ]);
  const outcomes = new Map(ids.map((id, i) => [id, states[i].value?.reconciliation]));
  return records.map((record) => {
    const reconciliation = outcomes.get(record.authorization_id);
    return reconciliation ? { ...record, reconciliation } : record;
  });
}

/**
 * Every logged request, oldest first: what `deno task export` writes and
 * `deno task replay` re-decides (increments as increments).
 *
 * @example
 * ```ts
 * import { decisionLog } from "./decision_log.ts";
 * import { equal } from "node:assert/strict";
 * using kv = await Deno.openKv(":memory:");
 * let count = 0;
 * for await (const _ of decisionLog(kv)) count++;
 * equal(count, 0);
 * ```
 */
export async function* decisionLog(kv: Deno.Kv): AsyncIterable<DecisionRecord> {
  let refs: [string, number][] = [];
  for await (const entry of kv.list<[string, number]>({ prefix: ["decisions_by_time"] })) {
    refs.push(entry.value);
    if (refs.length === EXPORT_PAGE) {
      yield* await recordsOf(kv, refs);
      refs = [];
    }
  }
  yield* await recordsOf(kv, refs);
}

/** The records of these requests, in order, skipping any that expired. */
async function recordsOf(
  kv: Deno.Kv,
  refs: readonly [string, number][],
): Promise<DecisionRecord[]> {
  const entries = await getMany<StoredRecord>(
    kv,
    refs.map(([id, index]) => decisionKey(id, index)),
  );
  return entries.flatMap((entry) => entry.value ? [recordFromStored(entry.value)] : []);
}
