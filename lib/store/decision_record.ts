/**
 * One logged request: what the decision log stores for each
 * `issuing_authorization.request` (a first request or an increment), and how
 * it is built, trimmed to fit Deno KV, and keyed.
 *
 * Key (expires after the retention): `["decisions_by_time", decidedAtMs,
 * authorizationId, index]` → {@linkcode StoredRecord}, `index` 0, 1, … per
 * request we logged. By time first: Stripe's ids do not sort by creation, so
 * keyed by authorization a batch's records would land all over the key space,
 * each on its own SQLite page (up to about twice the commit time for the same
 * records: `deno task bench`, "key order"); by time they land side by side, and the log lists
 * by time without an index (queries filter by card, merchant and the rest
 * while they scan it, within a bound). An authorization finds its records
 * through its state's entries (`at`).
 *
 * Records written before this layout are at `["decision", authorizationId,
 * index]`, with `[authorizationId, index]` under the time key: both are read
 * ({@linkcode recordKeyOf}, {@linkcode isRecordRef}) until they expire.
 *
 * @module
 */
import {
  type AuthorizationResponseBody,
  authorizationResponseBody,
} from "../engine/authorization_response.ts";
import type { Decision, Reason, TraceEntry } from "../engine/decide.ts";
import type { AuthorizationRequest } from "../engine/policy.ts";
import { KV_LIMITS } from "./commit_engine.ts";

/** How a decision reached Stripe. */
export type DecisionPath = "respond" | "api" | "respond_after_api_failure";

/**
 * What Stripe did with an authorization, from its lifecycle events. See
 * {@linkcode ReconciliationOutcome} for the outcomes.
 */
export interface Reconciliation {
  readonly outcome: ReconciliationOutcome;
  /** Stripe's `approved` and `amount` (the total it holds or held, card currency). */
  readonly stripe_approved: boolean;
  readonly stripe_amount: number;
  /** The last `request_history[].reason`, e.g. `webhook_approved`. */
  readonly stripe_reason: string | null;
  /** `request_history[].reason_message` of a `webhook_error`: why Stripe could not use our answer. */
  readonly stripe_reason_message?: string | null;
  readonly status: string;
  /** Net captured (captures minus refunds, minor units) of the authorization's transactions. */
  readonly captured: number;
  /** Per request of `request_history`, in order: its reason and outcome. */
  readonly requests: readonly {
    readonly reason: string;
    readonly outcome: ReconciliationOutcome;
  }[];
  readonly at: string;
}

/**
 * What Stripe did compared with what we answered, per request of
 * `request_history` (the authorization's outcome is its most serious one):
 * - `agreed`: Stripe applied our answer (`webhook_approved`/`webhook_declined`), approval and amount equal;
 * - `mismatch`: Stripe's approval or approved amount differs from our answer (an amount below
 *   ours after Stripe held ours is a partial reversal: `agreed`);
 * - `webhook_timeout`: our answer did not arrive in time; Stripe applied the timeout setting (or Autopilot);
 * - `webhook_error`: Stripe could not use our answer (invalid; see `stripe_reason_message`) or, from API
 *   version 2024-12-18, the network declined while Stripe was unreachable;
 * - `network_decided`: decided by the network without Stripe or us (`network_fallback`, Autopilot's
 *   `network_stip`; `card_active`: network-approved while Stripe was down, API 2024-12-18+);
 * - `stripe_declined`: Stripe's own checks declined it without asking us (`spending_controls`,
 *   `insufficient_funds`, `card_inactive`, `suspected_fraud`, … every other documented reason);
 * - `stripe_error`: `stripe_internal_error`;
 * - `stripe_only`: a request that never reached us (no log entry for it);
 * - `unknown_reason`: a reason newer than the pinned stripe-node (23.1.0).
 */
export type ReconciliationOutcome =
  | "agreed"
  | "mismatch"
  | "webhook_timeout"
  | "webhook_error"
  | "network_decided"
  | "stripe_declined"
  | "stripe_error"
  | "stripe_only"
  | "unknown_reason";

/** What the shadow pipeline would have decided (never enforced). */
export interface ShadowDecision {
  readonly approved: boolean;
  readonly amount: number | null;
  readonly reasons: readonly Reason[];
  readonly trace: readonly TraceEntry[];
  /** Whether it differs from the live decision (approval or amount). */
  readonly disagrees: boolean;
}

/** Amount and count held in velocity counters: by one request, or (read through `get`) by its authorization. */
export interface Reservation {
  readonly keys: readonly Deno.KvKey[];
  readonly amount: number;
  readonly count: number;
  /** How long each of `keys` lives after a write, in ms (`null`: an all-time counter, never). */
  readonly expireInMs?: readonly (number | null)[];
}

/** One logged request, as stored and as the decision queries return it. */
export interface DecisionRecord {
  readonly authorization_id: string;
  /** 0 for the first request we logged on the authorization, then 1, 2, … (increments). */
  readonly request_index: number;
  /** Its position in Stripe's `request_history` (earlier requests on the authorization). */
  readonly position: number;
  readonly event_id: string | null;
  readonly card_id: string;
  readonly cardholder_id: string | null;
  /** `pending_request.amount`: for an increment, the additional amount. */
  readonly requested_amount: number;
  /** The card's currency (`pending_request.currency`); the merchant's is in `request`. */
  readonly currency: string;
  readonly merchant_category: string;
  readonly merchant_country: string | null;
  readonly merchant_name: string | null;
  readonly approved: boolean;
  /** The amount held when a policy limited an amount-controllable request. */
  readonly amount: number | null;
  /** What the authorization held from earlier approved requests when this one was decided. */
  readonly held: { readonly amount: number; readonly requests: number };
  readonly reasons: readonly Reason[];
  /**
   * Set when the fallback decision was answered: `error`, `timeout`; or, when
   * the store could not commit in time, `store_error`, `store_timeout` (the
   * fallback, or the policies' decision if it was no more permissive).
   */
  readonly fallback?: string;
  readonly trace: readonly TraceEntry[];
  readonly policy_version: string;
  readonly decided_at: string;
  readonly latency_ms: number;
  readonly path: DecisionPath | "stripe_only";
  /** The webhook answer, replayed as is on redelivery. */
  readonly response: AuthorizationResponseBody;
  /** What this request reserved; `get()` shows the authorization's total instead. */
  readonly reservation: Reservation;
  /** Attached by `get()`, and by lists filtered by it: what Stripe did with the authorization. */
  readonly reconciliation?: Reconciliation;
  /** Attached by `get()`: every request of the authorization, in order. */
  readonly requests?: readonly RequestSummary[];
  readonly shadow?: ShadowDecision;
  /**
   * Set when the decision first committed differs from the fallback that was
   * answered (the store timed out while it committed): the log was corrected
   * to the answer; this is what had been committed.
   */
  readonly superseded?: { readonly approved: boolean; readonly amount: number | null };
  /** Fields of `request` dropped to keep the record under Deno KV's 64 KiB value limit. */
  readonly trimmed?: readonly string[];
  /**
   * The authorization as received, for audits and replays, with the expanded
   * cardholder reduced to id, type, status and metadata and no shipping
   * address: the log keeps no name, email, phone, address or date of birth.
   */
  readonly request: AuthorizationRequest;
}

/** One request of an authorization in `get()`'s `requests`. */
export interface RequestSummary {
  readonly request_index: number;
  readonly position: number;
  readonly event_id: string | null;
  readonly requested_amount: number;
  readonly approved: boolean;
  readonly amount: number | null;
  readonly fallback?: string;
  readonly decided_at: string;
}

/** Records whose stored size is larger than this are trimmed: KV's value limit with room to spare. */
const RECORD_BYTES = KV_LIMITS.valueBytes - 8 * 1024;

/**
 * The key of one logged request decided at `at` (ms); without `at` (an entry
 * stored before records were keyed by time), where such a record is.
 *
 * @example
 * ```ts
 * import { recordKeyOf } from "./decision_record.ts";
 * import { deepEqual } from "node:assert/strict";
 * deepEqual(recordKeyOf("iauth_1", 0, 60_000), ["decisions_by_time", 60_000, "iauth_1", 0]);
 * deepEqual(recordKeyOf("iauth_1", 0, undefined), ["decision", "iauth_1", 0]);
 * ```
 */
export function recordKeyOf(
  authorizationId: string,
  index: number,
  at: number | undefined,
): Deno.KvKey {
  return at === undefined
    ? ["decision", authorizationId, index]
    : ["decisions_by_time", at, authorizationId, index];
}

/** Where a record is: under its decision time. */
export function keyOfRecord(record: DecisionRecord): Deno.KvKey {
  return recordKeyOf(record.authorization_id, record.request_index, Date.parse(record.decided_at));
}

/** A value under the time key written before records were keyed by time: `[authorizationId, index]`. */
export type RecordRef = readonly [string, number];

/** Whether a value under the time key is a {@linkcode RecordRef} rather than a record. */
export function isRecordRef(value: StoredRecord | RecordRef): value is RecordRef {
  return Array.isArray(value);
}

/** What a logged request is built from besides the authorization and decision. */
export interface RecordMeta {
  readonly eventId: string | null;
  readonly index: number;
  readonly position: number;
  readonly decidedAt: Date;
  readonly latencyMs: number;
  readonly path: DecisionRecord["path"];
  readonly held: { readonly amount: number; readonly requests: number };
  readonly reservation: Reservation;
}

/**
 * Builds the record of one request, whole: {@linkcode recordWrite} trims one
 * too large to store.
 *
 * @example
 * ```ts
 * import { toRecord } from "./decision_record.ts";
 * import { authorizationEvent, authorizationOf } from "../../fixtures/events.ts";
 * import { equal } from "node:assert/strict";
 * const authorization = authorizationOf(authorizationEvent("online", { pending_request: { amount: 500 } }));
 * const record = toRecord(authorization, { approved: true, reasons: [], trace: [], policyVersion: "dev" }, {
 *   eventId: "evt_1", index: 0, position: 0, decidedAt: new Date(0), latencyMs: 1, path: "respond",
 *   held: { amount: 0, requests: 0 }, reservation: { keys: [], amount: 500, count: 1 },
 * });
 * equal(record.requested_amount, 500);
 * equal(record.request.card.cardholder?.email, undefined);
 * ```
 */
export function toRecord(
  authorization: AuthorizationRequest,
  decision: Decision,
  meta: RecordMeta,
): DecisionRecord {
  const request = authorization.pending_request;
  const response = request
    ? authorizationResponseBody(decision, request)
    : { approved: decision.approved } satisfies AuthorizationResponseBody;
  return {
    request: withoutCardholderDetails(authorization),
    authorization_id: authorization.id,
    request_index: meta.index,
    position: meta.position,
    event_id: meta.eventId,
    card_id: authorization.card.id,
    cardholder_id: authorization.card.cardholder?.id ?? null,
    requested_amount: request?.amount ?? authorization.amount,
    currency: request?.currency ?? authorization.currency,
    merchant_category: authorization.merchant_data.category,
    merchant_country: authorization.merchant_data.country,
    merchant_name: authorization.merchant_data.name,
    approved: decision.approved,
    amount: decision.amount ?? null,
    held: meta.held,
    reasons: decision.reasons,
    ...(decision.fallback ? { fallback: decision.fallback } : {}),
    trace: decision.trace,
    policy_version: decision.policyVersion,
    decided_at: meta.decidedAt.toISOString(),
    latency_ms: Math.round(meta.latencyMs * 1_000) / 1_000,
    path: meta.path,
    response,
    reservation: meta.reservation,
  };
}

/**
 * The record as stored: its bytes and, when those would not fit one KV value
 * (Stripe allows 50 metadata keys of 500 characters on the card, cardholder
 * and authorization, and a merchant's name is copied beside the request),
 * the record without those metadata, then without `request_history` and the
 * expanded card, then with its text cut, then without the request's largest
 * fields, one at a time: the decision, amounts and ids are always kept.
 * `trimmed` names what was dropped. Measured on the bytes serialized anyway,
 * so whatever a record holds (a policy's verdict too) it fits, and only one
 * that does not costs more.
 */
function fitted(record: DecisionRecord): { record: DecisionRecord; bytes: Uint8Array } {
  const bytes = storedRecord(record);
  if (bytes.length <= RECORD_BYTES) return { record, bytes };
  const inRequest =
    (drop: (request: AuthorizationRequest) => AuthorizationRequest) =>
    (current: DecisionRecord): DecisionRecord => ({ ...current, request: drop(current.request) });
  const steps: [string, (current: DecisionRecord) => DecisionRecord][] = [
    ["request.metadata", inRequest((r) => ({ ...r, metadata: {} }))],
    ["request.card.metadata", inRequest((r) => ({ ...r, card: { ...r.card, metadata: {} } }))],
    [
      "request.card.cardholder.metadata",
      inRequest((r) =>
        r.card.cardholder
          ? { ...r, card: { ...r.card, cardholder: { ...r.card.cardholder, metadata: {} } } }
          : r
      ),
    ],
    ["request.request_history", inRequest((r) => ({ ...r, request_history: [] }))],
    ["request.card", inRequest((r) => ({ ...r, card: { id: r.card.id } as typeof r.card }))],
    [
      "trace",
      // A verdict's detail is the policy's own text, uncut (a merchant list names the merchant).
      (current) => ({
        ...current,
        trace: [],
        ...(current.shadow ? { shadow: { ...current.shadow, trace: [] } } : {}),
      }),
    ],
    ["long text", withShortText],
  ];
  const dropped: string[] = [];
  let current = record;
  for (const [name, drop] of steps) {
    dropped.push(name);
    current = drop(current);
    const fits = { ...current, trimmed: dropped };
    const fitsBytes = storedRecord(fits);
    if (fitsBytes.length <= RECORD_BYTES) return { record: fits, bytes: fitsBytes };
  }
  // Past them, what is left too large is a field no text or list above bounds (thousands of
  // transactions listed, or fields no Stripe version has): the request's other fields go, the
  // largest first, then those of its pending request and merchant data, each named. What a replay
  // checks stays (`KEPT_FIELDS`). Each field is measured once, so a request of thousands of fields
  // costs one pass, not one per field (the commit job runs on the thread every answer waits for).
  let over = storedRecord({ ...current, trimmed: dropped }).length - RECORD_BYTES;
  const request: Record<string, unknown> = { ...current.request };
  for (const [path, kept] of KEPT_FIELDS) {
    const value = path === "" ? request : request[path];
    if (typeof value !== "object" || value === null || Array.isArray(value)) continue;
    const holder: Record<string, unknown> = path === "" ? request : { ...value };
    if (path !== "") request[path] = holder;
    const prefix = `request.${path === "" ? "" : `${path}.`}`;
    const sizes = Object.keys(holder).filter((key) => !kept.includes(key))
      .map((key) => [key, encoder.encode(JSON.stringify(holder[key]) ?? "").length] as const)
      .sort((a, b) => b[1] - a[1]);
    // Named one by one up to `NAMED_FIELDS`, then counted: thousands of names would not fit either.
    let unnamed = 0;
    const trimmed = () => unnamed > 0 ? [...dropped, `${prefix}… (${unnamed} more)`] : dropped;
    for (let next = 0; next < sizes.length;) {
      for (; over > 0 && next < sizes.length; next++) {
        const [key, size] = sizes[next];
        delete holder[key];
        // The field's key, quotes, colon and comma go with it; a name in `trimmed` may come instead.
        over -= size + key.length + 4;
        if (next < NAMED_FIELDS) {
          dropped.push(prefix + key);
          over += prefix.length + key.length + 3;
        } else unnamed++;
      }
      // No longer whole, as the card reduced to its id above: `trimmed` says what it lacks.
      const fits = {
        ...current,
        request: request as unknown as AuthorizationRequest,
        trimmed: trimmed(),
      };
      const fitsBytes = storedRecord(fits);
      if (fitsBytes.length <= RECORD_BYTES) return { record: fits, bytes: fitsBytes };
      over = fitsBytes.length - RECORD_BYTES;
    }
    if (unnamed > 0) dropped.push(`${prefix}… (${unnamed} more)`);
  }
  // Only what a replay checks is left, and it is still too large (junk inside an amount's
  // details): this record fails its request alone.
  throw new RangeError("a record did not fit one KV value after every trim");
}

/** How many fields of one object the last trim names in `trimmed`; the rest it counts. */
const NAMED_FIELDS = 16;

/**
 * What the last trim keeps of the request and of its objects, whatever their
 * size: what a replay checks (`authorizationRequestOf`) and the engine
 * decides on. The card is its id by then.
 */
const KEPT_FIELDS: readonly (readonly [string, readonly string[]])[] = [
  ["", [
    "id",
    "object",
    "amount",
    "currency",
    "created",
    "status",
    "approved",
    "card",
    "merchant_data",
    "pending_request",
  ]],
  ["pending_request", [
    "amount",
    "currency",
    "is_amount_controllable",
    "merchant_amount",
    "merchant_currency",
    "amount_details",
  ]],
  ["merchant_data", ["category", "name", "country", "network_id"]],
];

/** The longest text a record keeps once nothing else made it fit (a merchant name of 70 KB). */
const MAX_TEXT = 1_000;

/**
 * The record with every string of the authorization, and of its own fields
 * copied from it, cut to {@linkcode MAX_TEXT} characters: what is left after
 * the steps above is the authorization's own fields, and no event Stripe
 * sends has text that long, so the record, and with it the answer, is always
 * logged and reserved.
 */
function withShortText(record: DecisionRecord): DecisionRecord {
  const cut = (_: string, value: unknown) =>
    typeof value === "string" && value.length > MAX_TEXT ? value.slice(0, MAX_TEXT) : value;
  const own = Object.entries(record).map(([key, value]) => [key, cut(key, value)]);
  return {
    ...Object.fromEntries(own),
    request: JSON.parse(JSON.stringify(record.request, cut)),
  } as DecisionRecord;
}

/** The authorization without personal data: the cardholder reduced to ids, no shipping address. */
function withoutCardholderDetails(authorization: AuthorizationRequest): AuthorizationRequest {
  const { card } = authorization;
  if (!card?.cardholder) return authorization;
  const { id, object, type, status, metadata } = card.cardholder;
  return {
    ...authorization,
    card: {
      ...card,
      cardholder: { id, object, type, status, metadata } as typeof card.cardholder,
      shipping: null,
    },
  };
}

/**
 * A record as Deno KV holds it: its JSON as UTF-8 bytes, which KV keeps as
 * they are, so the size checked against KV's value limit is the size stored
 * (`fitted`). Against V8's serializer, which KV uses for any other value,
 * the `record` benchmark measures less time (0.35x and 0.62x in two runs),
 * but the service's profile shows no saving (BENCHMARKS.md). Records written before are
 * objects, with `request` as its JSON text or, earlier, as an object:
 * {@linkcode recordFromStored} reads all three.
 */
export type StoredRecord =
  | Uint8Array
  | (Omit<DecisionRecord, "request"> & { readonly request: string | AuthorizationRequest });

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A record as stored, back as a {@linkcode DecisionRecord}.
 *
 * @example
 * ```ts
 * import { recordFromStored, type StoredRecord } from "./decision_record.ts";
 * import { equal } from "node:assert/strict";
 * const bytes = new TextEncoder().encode('{"authorization_id":"iauth_1","request":{"id":"iauth_1"}}');
 * equal(recordFromStored(bytes).request.id, "iauth_1");
 * const text = { authorization_id: "iauth_1", request: '{"id":"iauth_1"}' } as StoredRecord;
 * equal(recordFromStored(text).request.id, "iauth_1");
 * ```
 */
export function recordFromStored(stored: StoredRecord): DecisionRecord {
  if (stored instanceof Uint8Array) return JSON.parse(decoder.decode(stored));
  return typeof stored.request === "string"
    ? { ...stored, request: JSON.parse(stored.request) }
    : stored as DecisionRecord;
}

/**
 * The stored form of a record. Throws on a cycle (a policy's verdict holding one).
 *
 * @example
 * ```ts
 * import { recordFromStored, storedRecord } from "./decision_record.ts";
 * import { deepEqual } from "node:assert/strict";
 * const keys = [["usage", "card", "ic_1", 7n]];
 * const record = { authorization_id: "iauth_1", reservation: { keys, amount: 0, count: 0 } } as never;
 * deepEqual(recordFromStored(storedRecord(record)).reservation.keys, [["usage", "card", "ic_1", "7"]]);
 * ```
 */
export function storedRecord(record: DecisionRecord): Uint8Array {
  let json: string;
  try {
    json = JSON.stringify(record);
  } catch {
    // A counter key may hold a bigint part (Deno.KvKey allows it), which JSON cannot: as text.
    json = JSON.stringify(record, (_, value) => typeof value === "bigint" ? `${value}` : value);
  }
  return encoder.encode(json);
}

/** Mutations {@linkcode recordWrite}'s writes make. */
export const RECORD_MUTATIONS = 1;

/**
 * The write of one record, under its decision time, serialized now (a record
 * that cannot be serialized fails here, in the job that made it, not in the
 * batch's commit), and the record as written: trimmed, if it had to be, to
 * fit one KV value (see {@linkcode fitted}).
 *
 * @example
 * ```ts
 * import { keyOfRecord, recordFromStored, recordWrite, type StoredRecord, toRecord } from "./decision_record.ts";
 * import { authorizationEvent, authorizationOf } from "../../fixtures/events.ts";
 * import { deepEqual, equal } from "node:assert/strict";
 * using kv = await Deno.openKv(":memory:");
 * const authorization = authorizationOf(authorizationEvent("online", { id: "iauth_1" }));
 * const record = toRecord(authorization, { approved: true, reasons: [], trace: [], policyVersion: "dev" }, {
 *   eventId: "evt_1", index: 0, position: 0, decidedAt: new Date(60_000), latencyMs: 1, path: "respond",
 *   held: { amount: 0, requests: 0 }, reservation: { keys: [], amount: 0, count: 0 },
 * });
 * const operation = kv.atomic();
 * recordWrite(record, 90 * 86_400_000).write(operation);
 * await operation.commit();
 * const stored = await kv.get<StoredRecord>(keyOfRecord(record));
 * equal(recordFromStored(stored.value!).request.id, "iauth_1");
 * deepEqual(keyOfRecord(record), ["decisions_by_time", 60_000, "iauth_1", 0]);
 * ```
 */
export function recordWrite(
  record: DecisionRecord,
  retentionMs: number,
): { record: DecisionRecord; write: (operation: Deno.AtomicOperation) => void } {
  const key = keyOfRecord(record);
  const stored = fitted(record);
  return {
    record: stored.record,
    write: (operation) => operation.set(key, stored.bytes, { expireIn: retentionMs }),
  };
}

/**
 * A record's stored form, trimmed to fit one KV value if it must be (see
 * {@linkcode recordWrite}).
 *
 * @example
 * ```ts
 * import { fittedRecord, recordFromStored } from "./decision_record.ts";
 * import { equal } from "node:assert/strict";
 * const record = { authorization_id: "iauth_1", merchant_name: "N".repeat(70_000), request: {} } as never;
 * const stored = recordFromStored(fittedRecord(record));
 * equal(stored.merchant_name?.length, 1_000);
 * ```
 */
export function fittedRecord(record: DecisionRecord): Uint8Array {
  return fitted(record).bytes;
}

/**
 * A request's summary, for `get()`'s `requests`.
 *
 * @example
 * ```ts
 * import { summaryOf, toRecord } from "./decision_record.ts";
 * import { authorizationEvent, authorizationOf } from "../../fixtures/events.ts";
 * import { deepEqual } from "node:assert/strict";
 * const authorization = authorizationOf(authorizationEvent("online", { pending_request: { amount: 90_000 } }));
 * const declined = { approved: false, reasons: [], trace: [], policyVersion: "dev" };
 * const record = toRecord(authorization, declined, {
 *   eventId: "evt_2", index: 1, position: 1, decidedAt: new Date(0), latencyMs: 1, path: "respond",
 *   held: { amount: 5_000, requests: 1 }, reservation: { keys: [], amount: 0, count: 0 },
 * });
 * deepEqual(summaryOf(record), {
 *   request_index: 1, position: 1, event_id: "evt_2", requested_amount: 90_000,
 *   approved: false, amount: null, decided_at: "1970-01-01T00:00:00.000Z",
 * });
 * ```
 */
export function summaryOf(record: DecisionRecord): RequestSummary {
  return {
    request_index: record.request_index,
    position: record.position,
    event_id: record.event_id,
    requested_amount: record.requested_amount,
    approved: record.approved,
    amount: record.amount,
    ...(record.fallback ? { fallback: record.fallback } : {}),
    decided_at: record.decided_at,
  };
}
