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
import type { AuthorizationRequest, Held } from "../engine/policy.ts";
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
  return state?.requests.find((entry) =>
    entry.event_id === eventId || entry.fingerprint === fingerprint
  );
}

/**
 * What the authorization already holds before a request at `position`: for
 * each earlier position, what we approved if we decided it, else what
 * `request_history` says Stripe approved (a request decided without us).
 *
 * @example
 * ```ts
 * import { heldBefore } from "./authorization_state.ts";
 * import { deepEqual } from "node:assert/strict";
 * const state = { requests: [{ position: 0, approved: true, amount: 5_000 }] } as never;
 * const history = [{ approved: true, amount: 5_000 }, { approved: true, amount: 2_000 }];
 * deepEqual(heldBefore(state, history, 2), { amount: 7_000, requests: 2 });
 * ```
 */
export function heldBefore(
  state: AuthorizationState | null,
  history: readonly { readonly approved: boolean; readonly amount: number }[],
  position: number,
): Held {
  let amount = 0, requests = 0;
  for (let p = 0; p < position; p++) {
    // An entry made from a lifecycle event holds no amount of ours: Stripe's history says what it holds.
    const ours = state?.requests.find((entry) => entry.position === p && !entry.stripe_only);
    const approved = ours ? ours.approved : history[p]?.approved === true;
    if (!approved) continue;
    amount += ours ? ours.amount : history[p].amount;
    requests++;
  }
  return { amount, requests };
}
