/**
 * Reads of the decision log: one authorization with all its requests, pages
 * of requests by time or card, and the whole log for export. Every read is
 * bounded (a page of the log by time, or one authorization's requests), so
 * the dashboard and the admin API never scan on the webhook's KV.
 *
 * @module
 */
import {
  authorizationKey,
  type AuthorizationState,
  isFull,
  MAX_REQUESTS,
} from "./authorization_state.ts";
import { getMany, uniqueKeys } from "./commit_engine.ts";
import {
  type DecisionRecord,
  isRecordRef,
  recordFromStored,
  recordKeyOf,
  type RecordRef,
  type StoredRecord,
  summaryOf,
} from "./decision_record.ts";

/** Records read per round trip by {@linkcode decisionLog}. */
const EXPORT_PAGE = 100;

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
  const read = await stateWithRecords(kv, authorizationId);
  if (!read) return null;
  const [state, records] = read;
  const latest = records.at(-1);
  if (!latest) return null;
  const entries = state.requests;
  const reservation = {
    keys: uniqueKeys(entries.flatMap((entry) => entry.reservation.keys)),
    amount: entries.reduce((sum, entry) => sum + entry.reservation.amount, 0),
    count: entries.reduce((sum, entry) => sum + entry.reservation.count, 0),
  };
  return {
    ...latest,
    reservation,
    ...(state.reconciliation ? { reconciliation: state.reconciliation } : {}),
    requests: records.map(summaryOf),
  };
}

/**
 * Every logged request of one authorization, in their entries' order; with
 * `reconciliation`, each carrying the authorization's (as {@linkcode ListQuery}
 * says); none when it is unknown; `null` when its state is full, as the
 * requests declined since have no entry to find them by.
 *
 * @example
 * ```ts
 * import { authorizationRequests } from "./decision_log.ts";
 * import { equal } from "node:assert/strict";
 * using kv = await Deno.openKv(":memory:");
 * equal((await authorizationRequests(kv, "iauth_unknown", false))?.length, 0);
 * ```
 */
export async function authorizationRequests(
  kv: Deno.Kv,
  authorizationId: string,
  withReconciliation: boolean,
): Promise<DecisionRecord[] | null> {
  const read = await stateWithRecords(kv, authorizationId);
  if (!read) return [];
  const [state, records] = read;
  if (isFull(state)) return null;
  const { reconciliation } = state;
  return withReconciliation && reconciliation
    ? records.map((record) => ({ ...record, reconciliation }))
    : records;
}

/** Reads of an authorization's records, at most, while its state keeps moving under them. */
const RECORD_READS = 5;

/**
 * An authorization's state and the records its entries name, as of one
 * moment; `null` when it is unknown. The records are read after the state,
 * and a commit landing between the two (a fallback that replaces an answer
 * which landed unreported, rewriting its record and releasing its
 * reservation in one commit) would pair one moment's reservation with
 * another's record: the state is read again after its records, and both
 * again while it moved, up to {@linkcode RECORD_READS} times (past that, the
 * last pair read; a state moving that often is a stuck writer's). A record
 * rewritten alone (its shadow decision, its path) leaves the state as it is.
 */
async function stateWithRecords(
  kv: Deno.Kv,
  authorizationId: string,
): Promise<[AuthorizationState, DecisionRecord[]] | null> {
  const key = authorizationKey(authorizationId);
  let read = await kv.get<AuthorizationState>(key);
  for (let reads = 1; read.value; reads++) {
    const records = await requestRecords(kv, read.value);
    const again = await kv.get<AuthorizationState>(key);
    if (again.versionstamp === read.versionstamp || reads === RECORD_READS) {
      return [read.value, records];
    }
    read = again;
  }
  return null;
}

/**
 * Every logged request of one authorization, in order: its state's entries
 * say where their records are.
 *
 * @example
 * ```ts
 * import { requestRecords } from "./decision_log.ts";
 * import { equal } from "node:assert/strict";
 * using kv = await Deno.openKv(":memory:");
 * const state = { authorization_id: "iauth_1", card_id: "ic_1", decided_at: "", requests: [] };
 * equal((await requestRecords(kv, state)).length, 0);
 * ```
 */
export async function requestRecords(
  kv: Deno.Kv,
  state: AuthorizationState,
): Promise<DecisionRecord[]> {
  const entries = await getMany<StoredRecord>(
    kv,
    state.requests.slice(0, MAX_REQUESTS).map((entry) =>
      recordKeyOf(state.authorization_id, entry.index, entry.at)
    ),
  );
  return entries.flatMap((entry) => entry.value ? [recordFromStored(entry.value)] : []);
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
 * equal((await listRecords(kv, { since: new Date(60_000), before: new Date(0), limit: 10 })).length, 0);
 * ```
 */
export async function listRecords(kv: Deno.Kv, query: ListQuery): Promise<DecisionRecord[]> {
  // A page that ends before its range starts (a cursor followed after the range moved on) is
  // empty: Deno KV refuses a start key after the end key.
  if (query.since && query.before && query.before <= query.since) return [];
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
  const entries: TimeEntry[] = [];
  for await (
    const entry of kv.list<StoredRecord | RecordRef>(selector, {
      reverse: true,
      limit: query.limit,
    })
  ) {
    entries.push(entry);
  }
  const records = await recordsOf(kv, entries);
  if (!query.reconciliation) return records;
  const ids = [...new Set(records.map((record) => record.authorization_id))];
  const states = await getMany<AuthorizationState>(kv, ids.map(authorizationKey));
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
  let page: TimeEntry[] = [];
  const entries = kv.list<StoredRecord | RecordRef>({ prefix: ["decisions_by_time"] }, {
    batchSize: EXPORT_PAGE,
  });
  for await (const entry of entries) {
    page.push(entry);
    if (page.length === EXPORT_PAGE) {
      yield* await recordsOf(kv, page);
      page = [];
    }
  }
  yield* await recordsOf(kv, page);
}

/** An entry under the time key: a record, or a reference stored before records were keyed by time. */
type TimeEntry = Deno.KvEntry<StoredRecord | RecordRef>;

/**
 * Entries under the time key as records, in order: records as they are,
 * references read where they point, skipping any that expired and any the
 * record's time does not match (a record of that layout rewritten later,
 * when a fallback superseded it, was referenced again at its new time).
 */
async function recordsOf(kv: Deno.Kv, entries: readonly TimeEntry[]): Promise<DecisionRecord[]> {
  const refs = entries.filter((entry) => isRecordRef(entry.value));
  const referenced = await getMany<StoredRecord>(
    kv,
    refs.map(({ value }) => {
      const [id, index] = value as RecordRef;
      return recordKeyOf(id, index, undefined);
    }),
  );
  const byRef = new Map(refs.map((entry, i) => [entry, referenced[i].value]));
  return entries.flatMap((entry) => {
    if (!isRecordRef(entry.value)) return [recordFromStored(entry.value)];
    const stored = byRef.get(entry);
    const record = stored && recordFromStored(stored);
    return record && Date.parse(record.decided_at) === entry.key[1] ? [record] : [];
  });
}
