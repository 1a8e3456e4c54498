/**
 * What the store keeps per authorization besides the request records: its
 * requests in brief (to recognise redeliveries and to know what it holds),
 * their reservations, and Stripe's latest view of it.
 *
 * Key: `["authorization", authorizationId]` → {@linkcode AuthorizationState}
 * (expires after the retention).
 *
 * @module
 */
import { serialize } from "node:v8";
import type { AuthorizationRequest, Held } from "../engine/policy.ts";
import { KV_LIMITS } from "./commit_engine.ts";
import type { Reconciliation, Reservation } from "./decision_record.ts";

/** One request of an authorization, as the store needs it again. */
export interface RequestEntry {
  readonly index: number;
  readonly event_id: string | null;
  /** Its position in `request_history`. */
  readonly position: number;
  /** `pending_request`'s amounts and currencies: a redelivery has the same. */
  readonly fingerprint: string;
  readonly approved: boolean;
  /** What we approved (asked Stripe to hold); 0 when declined. */
  readonly amount: number;
  /** What it holds in velocity counters now (reconciliation may change it). */
  readonly reservation: Reservation;
  /** Set for the entry of an authorization that never reached us (made from its lifecycle event). */
  readonly stripe_only?: true;
  /**
   * Its record's time, ms since the epoch (when it was decided; for an
   * authorization that never reached us, when Stripe created it): where the
   * record is (`recordKeyOf`). Absent in entries stored before records were
   * keyed by time.
   */
  readonly at?: number;
}

/** Stripe's view of the authorization, from the most advanced lifecycle event seen. */
export interface StripeSnapshot {
  readonly status: string;
  readonly approved: boolean;
  readonly amount: number;
  readonly request_history: readonly {
    readonly approved: boolean;
    readonly amount: number;
    readonly reason: string;
    readonly reason_message: string | null;
  }[];
  /**
   * Its transactions by id, amounts signed as Stripe signs them (captures
   * negative): from its lifecycle events' `transactions` and from
   * `issuing_transaction.created` events that name it, merged by id. A
   * number in snapshots stored before ids were kept: how many there were
   * (their net is in `captured`).
   */
  readonly transactions: Readonly<Record<string, number>> | number;
  /** Their net spend (captures minus refunds). */
  readonly captured: number;
  /**
   * The most Stripe said it held with the longest `request_history` any of
   * its events listed, whatever order they came in (a partial reversal's
   * `.updated` can arrive before the `.created` that held the whole). Absent
   * in snapshots stored before it was kept: their own length and `amount`.
   */
  readonly held_most?: { readonly history: number; readonly amount: number };
}

/** Everything the store keeps per authorization. */
export interface AuthorizationState {
  readonly authorization_id: string;
  readonly card_id: string;
  /** When its first request was decided (or, never seen, created): its aggregates' bucket. */
  readonly decided_at: string;
  readonly requests: readonly RequestEntry[];
  readonly stripe?: StripeSnapshot;
  /**
   * Transactions naming this authorization that arrived before any of its
   * lifecycle events (by id, Stripe's sign): merged into the first snapshot.
   */
  readonly early_transactions?: Readonly<Record<string, number>>;
  readonly reconciliation?: Reconciliation;
}

/** The key of an authorization's state. */
export function authorizationKey(authorizationId: string): Deno.KvKey {
  return ["authorization", authorizationId];
}

/** Statuses after which an authorization takes no more requests or holds. */
export const FINAL_STATUSES: ReadonlySet<string> = new Set(["closed", "reversed", "expired"]);

/**
 * What identifies a request besides its event id: its position in
 * `request_history` and its `pending_request` amounts and currencies.
 *
 * @example
 * ```ts
 * import { requestFingerprint } from "./authorization_state.ts";
 * import { authorizationEvent, authorizationOf } from "../../fixtures/events.ts";
 * import { equal } from "node:assert/strict";
 * const authorization = authorizationOf(authorizationEvent("online", { pending_request: { amount: 500 } }));
 * equal(requestFingerprint(authorization), "0|500|usd|500|usd|false");
 * ```
 */
export function requestFingerprint(authorization: AuthorizationRequest): string {
  const request = authorization.pending_request;
  return [
    positionOf(authorization) ?? "?",
    request.amount,
    request.currency,
    request.merchant_amount,
    request.merchant_currency,
    request.is_amount_controllable,
  ].join("|");
}

/** The request's position: earlier requests in `request_history`, or `undefined` when it is missing. */
export function positionOf(authorization: AuthorizationRequest): number | undefined {
  const history = (authorization as { request_history?: unknown }).request_history;
  return Array.isArray(history) ? history.length : undefined;
}

/**
 * The logged request this one is a redelivery of: same event id, or same
 * position and `pending_request`.
 *
 * @example
 * ```ts
 * import { findRequest } from "./authorization_state.ts";
 * import { equal } from "node:assert/strict";
 * const entry = { index: 0, event_id: "evt_1", position: 0, fingerprint: "0|500|usd|500|usd|false" };
 * const state = { authorization_id: "iauth_1", card_id: "ic_1", requests: [entry] } as never;
 * equal(findRequest(state, "evt_1", "x"), entry);
 * equal(findRequest(state, "evt_2", "0|500|usd|500|usd|false"), entry);
 * equal(findRequest(state, "evt_2", "1|900|usd|900|usd|false"), undefined);
 * ```
 */
export function findRequest(
  state: AuthorizationState | null,
  eventId: string,
  fingerprint: string,
): RequestEntry | undefined {
  return state?.requests.find((entry) => isSameRequest(entry, eventId, fingerprint));
}

/**
 * Whether a delivery (an entry, or an answer not committed yet) is of the
 * request with `eventId` and `fingerprint`: the same event, or the same
 * position and `pending_request` under another event id.
 *
 * @example
 * ```ts
 * import { isSameRequest } from "./authorization_state.ts";
 * import { equal } from "node:assert/strict";
 * const delivery = { event_id: "evt_1", fingerprint: "0|500|usd|500|usd|false" };
 * equal(isSameRequest(delivery, "evt_2", "0|500|usd|500|usd|false"), true);
 * equal(isSameRequest(delivery, "evt_2", "1|900|usd|900|usd|false"), false);
 * ```
 */
export function isSameRequest(
  delivery: Pick<RequestEntry, "event_id" | "fingerprint">,
  eventId: string,
  fingerprint: string,
): boolean {
  return delivery.event_id === eventId || delivery.fingerprint === fingerprint;
}

/** One earlier request as `request_history` gives it, with what {@linkcode heldBefore} reads. */
export interface PastRequest {
  readonly approved: boolean;
  readonly amount: number;
  readonly reason?: string;
}

/**
 * What the authorization already holds before a request at `position`. For
 * each earlier position, `request_history` says whether Stripe approved it,
 * and that is what holds: Stripe may have approved a request we declined (our
 * answer came late or was unusable, and its timeout setting approved:
 * `webhook_timeout`, `webhook_error`) or declined one we approved. The amount
 * is ours where Stripe applied our answer (`webhook_approved`: a partial
 * approval holds what we approved, where `request_history[].amount` is "the
 * `pending_request.amount` at the time of the request", stripe-node 23.1.0),
 * else Stripe's. A position the history lacks holds what we approved. Where
 * Stripe's last lifecycle event said the authorization holds less (a partial
 * reversal: "the original authorization's authorized_amount and held_amount
 * will be reduced", Stripe's Issuing special scenarios), it holds that, plus
 * what the requests after that event hold.
 *
 * @example
 * ```ts
 * import { heldBefore } from "./authorization_state.ts";
 * import { deepEqual } from "node:assert/strict";
 * // We approved 3,000 of a 5,000 request; Stripe's timeout setting approved the 2,000 we declined.
 * const state = { requests: [
 *   { position: 0, approved: true, amount: 3_000 },
 *   { position: 1, approved: false, amount: 0 },
 * ] } as never;
 * const history = [
 *   { approved: true, amount: 5_000, reason: "webhook_approved" },
 *   { approved: true, amount: 2_000, reason: "webhook_timeout" },
 * ];
 * deepEqual(heldBefore(state, history, 2), { amount: 5_000, requests: 2 });
 * ```
 */
export function heldBefore(
  state: AuthorizationState | null,
  history: readonly PastRequest[],
  position: number,
): Held {
  let amount = 0, requests = 0, sinceSnapshot = 0;
  const snapshot = state?.stripe;
  for (let p = 0; p < position; p++) {
    const ours = state?.requests.find((entry) => entry.position === p && !entry.stripe_only);
    const stripe = history[p] as PastRequest | undefined;
    if (!(stripe ? stripe.approved : ours?.approved)) continue;
    const held = heldBy(ours, stripe);
    amount += held;
    if (snapshot && p >= snapshot.request_history.length) sinceSnapshot += held;
    requests++;
  }
  // A snapshot of later requests than this one's (its answer came late) cannot say what held before
  // it. What it holds is at least what it captured (as the spend counters take it).
  if (snapshot && snapshot.request_history.length <= position) {
    amount = Math.min(amount, Math.max(snapshot.amount, snapshot.captured) + sinceSnapshot);
  }
  return { amount, requests };
}

/**
 * What one request holds: by `request_history`'s entry where there is one
 * (Stripe's amount, or ours where it applied our answer: see
 * {@linkcode heldBefore}), else what we approved.
 *
 * @example
 * ```ts
 * import { heldBy } from "./authorization_state.ts";
 * import { equal } from "node:assert/strict";
 * const ours = { position: 0, approved: false, amount: 0 } as never;
 * equal(heldBy(ours, { approved: true, amount: 3_000, reason: "webhook_timeout" }), 3_000);
 * equal(heldBy(ours, undefined), 0);
 * ```
 */
export function heldBy(ours: RequestEntry | undefined, stripe: PastRequest | undefined): number {
  if (!stripe) return ours?.approved ? ours.amount : 0;
  if (!stripe.approved) return 0;
  // An entry made from a lifecycle event holds no amount of ours.
  const applied = ours?.approved && !ours.stripe_only && stripe.reason === "webhook_approved";
  return applied ? ours.amount : stripe.amount;
}

/**
 * Whether every entry of `request_history` is a request Stripe could have
 * held: `approved` a boolean, `amount` a whole, non-negative number of minor
 * units. Anything else is not Stripe's, and the store declines the request
 * rather than add it to what the authorization holds.
 *
 * @example
 * ```ts
 * import { isRequestHistory } from "./authorization_state.ts";
 * import { equal } from "node:assert/strict";
 * equal(isRequestHistory([{ approved: true, amount: 5_000 }]), true);
 * equal(isRequestHistory([{ approved: true, amount: -10_000_000 }]), false);
 * equal(isRequestHistory([{ approved: "yes", amount: 0.5 }]), false);
 * ```
 */
export function isRequestHistory(history: readonly unknown[]): history is PastRequest[] {
  return history.every((entry) => {
    const { approved, amount } = (entry ?? {}) as Record<string, unknown>;
    return typeof approved === "boolean" && Number.isSafeInteger(amount) && (amount as number) >= 0;
  });
}

/**
 * Requests one authorization may have. Its state (one Deno KV value, at most
 * 64 KiB) keeps an entry per request, with a counter key per velocity policy,
 * and Stripe's snapshot: past this, or past {@linkcode MAX_STATE_BYTES}, a
 * request is declined rather than made impossible to record. Incremental
 * authorizations (hotels, car rentals, fuel) take a handful.
 */
export const MAX_REQUESTS = 100;
/**
 * The state's size (as KV stores it: see {@linkcode fittingState}) past which
 * it takes no more requests: room for a request's entry and for Stripe's
 * snapshot to grow, so a request's own commit never makes it too large.
 */
const MAX_STATE_BYTES = 40_000;
/** A state with fewer requests, and no Stripe side, cannot be near the size: not measured. */
const MEASURED_FROM = 16;

/**
 * Whether the authorization's state takes no more requests: later ones are
 * declined and logged without an entry in it.
 *
 * @example
 * ```ts
 * import { isFull } from "./authorization_state.ts";
 * import { equal } from "node:assert/strict";
 * equal(isFull(null), false);
 * equal(isFull({ requests: Array(100).fill({}) } as never), true);
 * ```
 */
export function isFull(state: AuthorizationState | null): boolean {
  const requests = state?.requests.length ?? 0;
  // Stripe's side can be large with few requests of ours (its lifecycle events bounded only by
  // `fittingState`): measured whenever it is there.
  const measured = requests >= MEASURED_FROM || state?.stripe !== undefined ||
    state?.early_transactions !== undefined;
  return requests >= MAX_REQUESTS ||
    (measured && serialize(state).length > MAX_STATE_BYTES);
}

/**
 * What a lifecycle event cannot be merged into: the authorization's state
 * would be larger than one Deno KV value (its events listing hundreds of
 * requests, or thousands of transactions, which no authorization of Stripe's
 * has). The webhook answers it with a 400: the event is refused as one Stripe
 * could not have sent, not failed as a 5xx.
 *
 * @example
 * ```ts
 * import { StateFullError } from "./authorization_state.ts";
 * import { equal } from "node:assert/strict";
 * equal(new StateFullError("full") instanceof RangeError, true);
 * ```
 */
export class StateFullError extends RangeError {
  override name = "StateFullError";
}

/**
 * `state`, once it is known to fit one Deno KV value as KV stores it (V8's
 * serializer: `node:v8` counts the bytes KV counts), with a kibibyte to
 * spare: else a {@linkcode StateFullError}. What a lifecycle event merges is
 * checked by it; a request's own entry is bounded before, as it takes none
 * past {@linkcode MAX_STATE_BYTES} (see {@linkcode isFull}), and settling
 * reservations later moves amounts only.
 *
 * @example
 * ```ts
 * import { fittingState, StateFullError } from "./authorization_state.ts";
 * import { equal, throws } from "node:assert/strict";
 * const state = { authorization_id: "iauth_1", card_id: "ic_1", decided_at: "", requests: [] };
 * equal(fittingState(state), state);
 * const transactions = Object.fromEntries(Array.from({ length: 3_000 }, (_, i) => [`ipi_${String(i).padStart(24, "0")}`, -1]));
 * throws(() => fittingState({ ...state, early_transactions: transactions }), StateFullError);
 * ```
 */
export function fittingState(state: AuthorizationState): AuthorizationState {
  if (serialize(state).length > KV_LIMITS.valueBytes - 1_024) {
    throw new StateFullError(
      "authorization's events list more requests or transactions than one KV value keeps",
    );
  }
  return state;
}
