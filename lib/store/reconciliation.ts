/**
 * Reconciliation with what Stripe did: lifecycle events
 * (`issuing_authorization.created`/`.updated`) merged into one snapshot per
 * authorization whatever their order or duplication, the reservations that
 * follow from it, and the outcome of each request.
 *
 * @module
 */
import type Stripe from "stripe";
import type { AuthorizationRequest } from "../engine/policy.ts";
import type { AuthorizationState, RequestEntry, StripeSnapshot } from "./authorization_state.ts";
import { FINAL_STATUSES, heldBy } from "./authorization_state.ts";
import type { Reconciliation, ReconciliationOutcome, Reservation } from "./decision_record.ts";

/**
 * Stripe's view of an authorization as a snapshot. Transactions are signed as
 * Stripe signs them (Transactions.d.ts: `amount` "reflected in your balance":
 * captures negative, refunds positive), so net spend is minus their sum.
 *
 * @example
 * ```ts
 * import { snapshotOf } from "./reconciliation.ts";
 * import { equal } from "node:assert/strict";
 * const snapshot = snapshotOf({
 *   status: "closed", approved: true, amount: 5_000, request_history: [],
 *   transactions: [{ id: "ipi_1", amount: -5_000 }, { id: "ipi_2", amount: 1_500 }],
 * } as never);
 * equal(snapshot.captured, 3_500);
 * ```
 */
export function snapshotOf(authorization: Stripe.Issuing.Authorization): StripeSnapshot {
  const listed = Array.isArray(authorization.transactions) ? authorization.transactions : [];
  const history = Array.isArray(authorization.request_history) ? authorization.request_history : [];
  const transactions: Record<string, number> = {};
  listed.forEach((transaction, i) => {
    transactions[typeof transaction.id === "string" ? transaction.id : `#${i}`] =
      Number.isSafeInteger(transaction.amount) ? transaction.amount : 0;
  });
  return {
    status: authorization.status,
    approved: authorization.approved === true,
    amount: Number.isSafeInteger(authorization.amount) ? authorization.amount : 0,
    request_history: history.map((request, i) => ({
      approved: request.approved === true,
      amount: Number.isSafeInteger(request.amount) ? request.amount : 0,
      reason: String(request.reason),
      // Only the last request's message is reported (`stripe_reason_message`); a message on
      // each of a long history (up to 1,000 characters each) would not fit the state's one value.
      reason_message: i === history.length - 1 ? request.reason_message ?? null : null,
    })),
    transactions,
    captured: netSpend(transactions),
    held_most: {
      history: history.length,
      amount: Number.isSafeInteger(authorization.amount) ? authorization.amount : 0,
    },
  };
}

/** Captures minus refunds, from amounts in Stripe's sign. */
function netSpend(transactions: Readonly<Record<string, number>>): number {
  return -Object.values(transactions).reduce((sum, amount) => sum + amount, 0);
}

/** How many transactions the snapshot knows of. */
function transactionCount(snapshot: StripeSnapshot): number {
  return typeof snapshot.transactions === "number"
    ? snapshot.transactions
    : Object.keys(snapshot.transactions).length;
}

function hasTransactions(snapshot: StripeSnapshot): boolean {
  return transactionCount(snapshot) > 0;
}

/**
 * The snapshot with these transactions (by id, Stripe's sign: from
 * `issuing_transaction.created` events naming this authorization), merged by
 * id: transactions already listed as they are change nothing (the same
 * snapshot back), and neither does anything for a snapshot stored before ids
 * were kept (it cannot tell; its lifecycle events list the transactions).
 *
 * @example
 * ```ts
 * import { withTransactions } from "./reconciliation.ts";
 * import { equal } from "node:assert/strict";
 * const expired = { status: "expired", approved: true, amount: 0, request_history: [{}], transactions: {}, captured: 0 } as never;
 * const captured = withTransactions(expired, { ipi_1: -4_000 });
 * equal(captured.captured, 4_000);
 * equal(withTransactions(captured, { ipi_1: -4_000 }), captured);
 * ```
 */
export function withTransactions(
  snapshot: StripeSnapshot,
  added: Readonly<Record<string, number>>,
): StripeSnapshot {
  const listed = snapshot.transactions;
  if (typeof listed === "number") return snapshot;
  const changes = Object.entries(added).filter(([id, amount]) => listed[id] !== amount);
  if (changes.length === 0) return snapshot;
  const transactions = { ...listed, ...Object.fromEntries(changes) };
  return { ...snapshot, transactions, captured: netSpend(transactions) };
}

/**
 * The more advanced of two snapshots, so events merge in any order and any
 * number of times to the same result. Stripe's lifecycle only moves forward:
 * from pending to a final status (closed, reversed, expired: never back),
 * `request_history` only grows, and at equal history a pending
 * authorization's `amount` only falls (partial reversals): the more advanced
 * snapshot by those gives status, amounts and history (ties keep the first
 * seen). Transactions are the union of both, by id, whichever was advanced:
 * one may have come from an `issuing_transaction.created` that no lifecycle
 * event listed yet, so they cannot rank the snapshots. A snapshot stored
 * before ids were kept gives way to one listing at least as many. `held_most`
 * is the greater of both, by history length, then amount: what Stripe held
 * before a partial reversal counts even when its event came after.
 *
 * @example
 * ```ts
 * import { mergeSnapshots } from "./reconciliation.ts";
 * import { equal } from "node:assert/strict";
 * const created = { status: "pending", approved: true, amount: 2_000, request_history: [{}], transactions: {}, captured: 0 } as never;
 * const reversed = { status: "reversed", approved: true, amount: 0, request_history: [{}], transactions: {}, captured: 0 } as never;
 * equal(mergeSnapshots(reversed, created).status, "reversed");
 * equal(mergeSnapshots(created, reversed).status, "reversed");
 * // Stripe held 2,000 at some point, whichever event came first.
 * equal(mergeSnapshots(reversed, created).held_most?.amount, 2_000);
 * ```
 */
export function mergeSnapshots(
  current: StripeSnapshot | undefined,
  incoming: StripeSnapshot,
): StripeSnapshot {
  if (!current) return incoming;
  const rank = (s: StripeSnapshot) => [
    FINAL_STATUSES.has(s.status) ? 1 : 0,
    s.request_history.length,
    -s.amount,
  ];
  const [a, b] = [rank(current), rank(incoming)];
  let advanced = current;
  for (let i = 0; i < a.length; i++) {
    if (b[i] !== a[i]) {
      advanced = b[i] > a[i] ? incoming : current;
      break;
    }
  }
  const other = advanced === current ? incoming : current;
  // The greater by history, then amount: the same whatever the order of merging.
  const [mine, theirs] = [heldMost(advanced), heldMost(other)];
  const held_most = mine.history > theirs.history ||
      (mine.history === theirs.history && mine.amount >= theirs.amount)
    ? mine
    : theirs;
  if (typeof advanced.transactions === "number" || typeof other.transactions === "number") {
    const fuller = transactionCount(other) > transactionCount(advanced) ? other : advanced;
    return { ...advanced, transactions: fuller.transactions, captured: fuller.captured, held_most };
  }
  const listed = advanced.transactions;
  return withTransactions(
    { ...advanced, held_most },
    Object.fromEntries(Object.entries(other.transactions).filter(([id]) => !(id in listed))),
  );
}

function heldMost(snapshot: StripeSnapshot): NonNullable<StripeSnapshot["held_most"]> {
  return snapshot.held_most ??
    { history: snapshot.request_history.length, amount: snapshot.amount };
}

/**
 * What an authorization should hold in the spend counters by Stripe's
 * snapshot: the net captured amount once closed, reversed or expired
 * (nothing if nothing was captured, unless closed without transactions: then
 * its amount); while pending, its approved amount or what was already
 * captured, whichever is larger; nothing when declined and never captured.
 *
 * @example
 * ```ts
 * import { settledAmount } from "./reconciliation.ts";
 * import { equal } from "node:assert/strict";
 * equal(settledAmount({ status: "reversed", approved: true, amount: 0, request_history: [], transactions: {}, captured: 0 }), 0);
 * equal(settledAmount({ status: "pending", approved: true, amount: 9_000, request_history: [], transactions: {}, captured: 0 }), 9_000);
 * ```
 */
export function settledAmount(snapshot: StripeSnapshot): number {
  const captured = Math.max(0, snapshot.captured);
  if (snapshot.status === "closed") {
    return hasTransactions(snapshot) ? captured : snapshot.approved ? snapshot.amount : 0;
  }
  if (FINAL_STATUSES.has(snapshot.status)) return captured;
  return snapshot.approved ? Math.max(snapshot.amount, captured) : captured;
}

/**
 * Each logged request's reservation once Stripe's snapshot is applied: the
 * authorization's total (Stripe's settled amount, plus what we approved on
 * requests its snapshot does not show yet) spread over the requests from the
 * newest, each up to what it holds ({@linkcode heldBy}: Stripe's say, which
 * counts what its timeout setting approved after we declined), anything more
 * (a capture above the hold) on the newest; the approval count (1), while
 * anything is held, on the first request that held an amount (as it was
 * counted when decided: a 0.00 status check before it counts none), else on
 * the first that holds one now. From the newest: Stripe gives only the total,
 * so a reduction (a partial reversal, a capture below the hold) is taken from
 * the oldest requests, and a newer request (an increment the next day) keeps
 * its amount in its own windows instead of filling an older request's.
 *
 * @example
 * ```ts
 * import { reservationsFor } from "./reconciliation.ts";
 * import { deepEqual } from "node:assert/strict";
 * const reservation = { keys: [], amount: 0, count: 0 };
 * const entries = [
 *   { position: 0, approved: true, amount: 5_000, reservation },
 *   { position: 1, approved: true, amount: 3_000, reservation },
 * ] as never;
 * const ours = { approved: true, reason: "webhook_approved" };
 * const history = [{ ...ours, amount: 5_000 }, { ...ours, amount: 3_000 }];
 * const snapshot = (status: string, amount: number) =>
 *   ({ status, approved: true, amount, request_history: history, transactions: {}, captured: 0 }) as never;
 * deepEqual(reservationsFor(entries, snapshot("reversed", 0)).map((r) => [r.amount, r.count]), [[0, 0], [0, 0]]);
 * // The first request partially reversed to 2,000, then the 3,000 increment: Stripe holds 5,000.
 * deepEqual(reservationsFor(entries, snapshot("pending", 5_000)).map((r) => r.amount), [2_000, 3_000]);
 * ```
 */
export function reservationsFor(
  entries: readonly RequestEntry[],
  snapshot: StripeSnapshot,
): Reservation[] {
  const final = FINAL_STATUSES.has(snapshot.status);
  const history = snapshot.request_history;
  // A snapshot lists every request Stripe decided; one that lists none gives only its total,
  // which then already holds our first request (a snapshot is never older than it); not later
  // ones, which would then be held too little.
  const shown = Math.max(history.length, 1);
  // A request the snapshot does not show yet holds what we approved, unless Stripe is done with it.
  const holds = entries.map((entry) =>
    entry.position < shown ? heldBy(entry, history[entry.position]) : final ? 0 : entry.amount
  );
  let total = settledAmount(snapshot);
  entries.forEach((entry, i) => {
    if (entry.position >= shown) total += holds[i];
  });
  // A request held for Stripe alone (it had not reached us) holds nothing once ours for the same
  // position is logged (late): ours holds it, in its own windows.
  const ours = new Set(entries.flatMap((entry) => entry.stripe_only ? [] : [entry.position]));
  // Newest by position (a request held for Stripe alone is stored after ours that came later).
  const byPosition = entries.map((_, i) => i).sort((a, b) =>
    entries[a].position - entries[b].position || a - b
  );
  // A request the snapshot lists with no entry (past the bounds of `reconcile`) is held with the
  // newest, as its own share, so a reduction still comes off the oldest first.
  const withEntry = new Set(entries.map((entry) => entry.position));
  if (entries.length > 0) {
    holds[byPosition.at(-1)!] += history.reduce(
      (sum, request, position) => withEntry.has(position) ? sum : sum + heldBy(undefined, request),
      0,
    );
  }
  let left = total;
  const amounts: number[] = [];
  for (const i of byPosition.toReversed()) {
    const superseded = entries[i].stripe_only && ours.has(entries[i].position);
    amounts[i] = superseded ? 0 : Math.min(holds[i], left);
    left -= amounts[i];
  }
  if (entries.length > 0) amounts[byPosition.at(-1)!] += left;
  const firstHeld = holds.findIndex((held) => held > 0);
  const counted = firstHeld >= 0 ? firstHeld : amounts.findIndex((amount) => amount > 0);
  return entries.map((entry, i) => ({
    ...entry.reservation,
    amount: amounts[i],
    count: i === counted && total > 0 ? 1 : 0,
  }));
}

const STRIPE_DECLINES: ReadonlySet<string> = new Set([
  "account_disabled",
  "card_canceled",
  "card_expired",
  "card_inactive",
  "cardholder_blocked",
  "cardholder_inactive",
  "cardholder_verification_required",
  "insecure_authorization_method",
  "insufficient_funds",
  "not_allowed",
  "pin_blocked",
  "spending_controls",
  "suspected_fraud",
  "verification_failed",
]);

/** Most serious first: an authorization's outcome is the first any of its requests has. */
const SERIOUSNESS: readonly ReconciliationOutcome[] = [
  "mismatch",
  "webhook_error",
  "webhook_timeout",
  "network_decided",
  "stripe_error",
  "stripe_declined",
  "unknown_reason",
  "stripe_only",
  "agreed",
];

/**
 * The outcome of one request of `request_history`, given what we answered
 * (`undefined`: it never reached us). Every `request_history.reason` of
 * stripe-node 23.1.0 (Authorizations.d.ts `RequestHistory.Reason`) maps to
 * one; `network_stip` is the Autopilot reason Stripe's docs name.
 *
 * @example
 * ```ts
 * import { requestOutcome } from "./reconciliation.ts";
 * import { equal } from "node:assert/strict";
 * equal(requestOutcome("webhook_approved", true, { approved: true }), "agreed");
 * equal(requestOutcome("webhook_declined", false, { approved: true }), "mismatch");
 * equal(requestOutcome("card_active", true, undefined), "network_decided");
 * equal(requestOutcome("spending_controls", false, undefined), "stripe_declined");
 * ```
 */
export function requestOutcome(
  reason: string,
  stripeApproved: boolean,
  ours: { readonly approved: boolean } | undefined,
): ReconciliationOutcome {
  switch (reason) {
    case "webhook_approved":
    case "webhook_declined":
      return !ours ? "stripe_only" : ours.approved === stripeApproved ? "agreed" : "mismatch";
    case "webhook_timeout":
      return "webhook_timeout";
    case "webhook_error":
      return "webhook_error";
    case "network_fallback":
    case "network_stip":
    case "card_active":
      return "network_decided";
    case "stripe_internal_error":
      return "stripe_error";
    default:
      return STRIPE_DECLINES.has(reason) ? "stripe_declined" : "unknown_reason";
  }
}

/**
 * The reconciliation of an authorization's logged requests with Stripe's
 * snapshot: each request's outcome, and approved amounts compared (while
 * pending and uncaptured, Stripe's `amount` must equal what we approved in
 * total, else `mismatch`; below it, once the most Stripe held was exactly
 * that (`held_most`, whatever order its events came in, or an earlier outcome
 * `agreedBefore`), is a partial reversal, which Stripe reports by lowering
 * `amount` in `issuing_authorization.updated`).
 *
 * @example
 * ```ts
 * import { reconciliationOf } from "./reconciliation.ts";
 * import { equal } from "node:assert/strict";
 * const entries = [{ position: 0, approved: true, amount: 10_000 }] as never;
 * const snapshot = { status: "pending", approved: true, amount: 25_000, transactions: {}, captured: 0,
 *   request_history: [{ approved: true, amount: 25_000, reason: "webhook_approved", reason_message: null }] };
 * equal(reconciliationOf(entries, snapshot, new Date(0)).outcome, "mismatch");
 * ```
 */
export function reconciliationOf(
  entries: readonly RequestEntry[],
  snapshot: StripeSnapshot,
  now: Date,
  agreedBefore = false,
): Reconciliation {
  const logged = entries.filter((entry) => !entry.stripe_only);
  const requests = snapshot.request_history.map((request, position) => ({
    reason: request.reason,
    outcome: requestOutcome(
      request.reason,
      request.approved,
      logged.find((entry) => entry.position === position),
    ),
  }));
  let outcome: ReconciliationOutcome;
  if (logged.length === 0) {
    outcome = "stripe_only";
  } else if (requests.length === 0) {
    outcome = snapshot.approved === logged.at(-1)!.approved ? "agreed" : "mismatch";
  } else {
    outcome = SERIOUSNESS.find((o) => requests.some((r) => r.outcome === o)) ?? "agreed";
  }
  const approvedByUs = logged.reduce((sum, entry) => sum + entry.amount, 0);
  const held = heldMost(snapshot);
  const heldAll = agreedBefore ||
    (held.history === snapshot.request_history.length && held.amount === approvedByUs);
  if (
    outcome === "agreed" && snapshot.status === "pending" && !hasTransactions(snapshot) &&
    snapshot.approved && snapshot.request_history.length === logged.length &&
    (snapshot.amount > approvedByUs ||
      (snapshot.amount < approvedByUs && !heldAll))
  ) outcome = "mismatch";
  const last = snapshot.request_history.at(-1);
  return {
    outcome,
    stripe_approved: snapshot.approved,
    stripe_amount: snapshot.amount,
    stripe_reason: last?.reason ?? null,
    ...(last?.reason === "webhook_error" ? { stripe_reason_message: last.reason_message } : {}),
    status: snapshot.status,
    captured: snapshot.captured,
    requests,
    at: now.toISOString(),
  };
}

/**
 * An authorization from a lifecycle event seen as the request it was, so
 * velocity policies can name its counters.
 *
 * @example
 * ```ts
 * import { asAuthorizationRequest } from "./reconciliation.ts";
 * import { lifecycleEvent, requestEvent } from "../../fixtures/lifecycle.ts";
 * import { equal } from "node:assert/strict";
 * import type Stripe from "stripe";
 * const created = lifecycleEvent(requestEvent({ id: "iauth_1" }), "issuing_authorization.created", {
 *   status: "pending", approved: true, amount: 4_200, requests: [{ amount: 4_200, reason: "webhook_approved" }],
 * });
 * const request = asAuthorizationRequest(created.data.object as Stripe.Issuing.Authorization);
 * equal(request.pending_request.amount, 4_200);
 * equal(request.pending_request.is_amount_controllable, false);
 * ```
 */
export function asAuthorizationRequest(
  authorization: Stripe.Issuing.Authorization,
): AuthorizationRequest {
  return {
    ...authorization,
    pending_request: authorization.pending_request ?? {
      amount: authorization.amount,
      amount_details: authorization.amount_details,
      currency: authorization.currency,
      is_amount_controllable: false,
      merchant_amount: authorization.merchant_amount,
      merchant_currency: authorization.merchant_currency,
      network_risk_score: null,
    },
  };
}

/**
 * A transaction without an authorization (a force capture, or a refund not
 * linked to one) seen as a request on its card and merchant, so velocity
 * policies name the counters its spend belongs to.
 *
 * @example
 * ```ts
 * import { transactionAsRequest } from "./reconciliation.ts";
 * import { requestEvent, transactionEvent } from "../../fixtures/lifecycle.ts";
 * import { equal } from "node:assert/strict";
 * import type Stripe from "stripe";
 * const forceCapture = transactionEvent(requestEvent({ id: "iauth_1" }), {
 *   id: "ipi_1", amount: -2_500, linked: false,
 * });
 * const request = transactionAsRequest(forceCapture.data.object as Stripe.Issuing.Transaction);
 * equal(request.pending_request.amount, 2_500);
 * ```
 */
export function transactionAsRequest(
  transaction: Stripe.Issuing.Transaction,
): AuthorizationRequest {
  const card = typeof transaction.card === "string"
    ? { id: transaction.card } as Stripe.Issuing.Card
    : transaction.card;
  const cardholder = typeof transaction.cardholder === "string"
    ? { id: transaction.cardholder } as Stripe.Issuing.Cardholder
    : transaction.cardholder;
  return {
    id: transaction.id,
    object: "issuing.authorization",
    amount: Math.abs(transaction.amount),
    currency: transaction.currency,
    card: { ...card, cardholder: card.cardholder ?? cardholder },
    merchant_data: transaction.merchant_data,
    request_history: [],
    pending_request: {
      amount: Math.abs(transaction.amount),
      amount_details: null,
      currency: transaction.currency,
      is_amount_controllable: false,
      merchant_amount: Math.abs(transaction.merchant_amount),
      merchant_currency: transaction.merchant_currency,
      network_risk_score: null,
    },
  } as unknown as AuthorizationRequest;
}

/** Whether the state shows a final Stripe status: no request may return it to pending. */
export function isFinal(state: AuthorizationState | null): boolean {
  return state?.stripe !== undefined && FINAL_STATUSES.has(state.stripe.status);
}
