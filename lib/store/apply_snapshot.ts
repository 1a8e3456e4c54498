/**
 * Stripe's snapshot of an authorization applied to its state in a batch: the
 * reservations follow what Stripe holds, and the reconciliation is computed
 * anew. Used by lifecycle events and by a request whose lifecycle arrived
 * first.
 *
 * @module
 */
import type { AggregatedOutcome } from "./aggregates.ts";
import {
  authorizationKey,
  type AuthorizationState,
  type RequestEntry,
  type StripeSnapshot,
} from "./authorization_state.ts";
import type { BatchView } from "./commit_engine.ts";
import { addToCounters } from "./counters.ts";
import type { Reconciliation, Reservation } from "./decision_record.ts";
import { reconciliationOf, reservationsFor } from "./reconciliation.ts";

/** What applying Stripe's snapshot gives: the reconciliation, and whether its outcome changed. */
export interface SnapshotApplied {
  readonly reconciliation: Reconciliation;
  readonly changed: boolean;
  /** Set the first time: counted in the aggregates with its batch. */
  readonly firstOutcome?: AggregatedOutcome;
  /**
   * Some request's reservation is still to follow the snapshot: its counters
   * were not read (more than one commit checks). A later commit moves it: the
   * lifecycle's `settle`, or, if that fails, the authorization's next
   * lifecycle event.
   */
  readonly unsettled: boolean;
}

/**
 * The requests whose reservation `snapshot` changes: what a job applying it
 * must read the counters of (see `keysOfEntries` in counters.ts).
 *
 * @example
 * ```ts
 * import { offTarget } from "./apply_snapshot.ts";
 * import { equal } from "node:assert/strict";
 * const reservation = { keys: [["usage", "card", "ic_1", "2026-11-26"]], amount: 5_000, count: 1 };
 * const entries = [{ position: 0, approved: true, amount: 5_000, reservation }] as never;
 * const snapshot = (status: string, amount: number) =>
 *   ({ status, approved: true, amount, request_history: [{ approved: true, amount: 5_000, reason: "webhook_approved" }],
 *     transactions: {}, captured: 0 }) as never;
 * equal(offTarget(entries, snapshot("pending", 5_000)).length, 0);
 * equal(offTarget(entries, snapshot("reversed", 0)).length, 1);
 * ```
 */
export function offTarget(
  entries: readonly RequestEntry[],
  snapshot: StripeSnapshot,
): RequestEntry[] {
  const targets = reservationsFor(entries, snapshot);
  return entries.filter((entry, i) => moves(entry, targets[i]));
}

function moves(entry: RequestEntry, target: Reservation): boolean {
  return target.amount !== entry.reservation.amount || target.count !== entry.reservation.count;
}

/**
 * Applies Stripe's snapshot to an authorization: each request's reservation
 * follows it (the counters move by the difference) where the batch read all
 * its counters (the others wait for a later commit: `unsettled`), its
 * reconciliation is recomputed, and the state is set with both, kept
 * `retentionMs`.
 */
export function applySnapshot(
  view: BatchView,
  state: AuthorizationState,
  snapshot: StripeSnapshot,
  now: Date,
  retentionMs: number,
): SnapshotApplied {
  const targets = reservationsFor(state.requests, snapshot);
  let unsettled = false;
  const requests = state.requests.map((entry, i) => {
    if (!moves(entry, targets[i])) return entry;
    if (!entry.reservation.keys.every((key) => view.has(key))) {
      unsettled = true;
      return entry;
    }
    addToCounters(view, targets[i], entry.reservation);
    return { ...entry, reservation: targets[i] };
  });
  const before = state.reconciliation;
  // Stripe once held what we approved: holding less since (with the requests after it, ours) is a
  // partial reversal; from its first report it would not be.
  const agreedBefore = before?.outcome === "agreed";
  const reconciliation = reconciliationOf(requests, snapshot, now, agreedBefore);
  const changed = before?.outcome !== reconciliation.outcome;
  // Early transactions are in the snapshot from now on (see `reconcile` in lifecycle.ts).
  const { early_transactions: _, ...rest } = state;
  view.set(
    authorizationKey(state.authorization_id),
    {
      ...rest,
      requests,
      stripe: snapshot,
      reconciliation: changed || !before ? reconciliation : { ...reconciliation, at: before.at },
    } satisfies AuthorizationState,
    retentionMs,
  );
  return {
    reconciliation,
    changed,
    unsettled,
    ...(before ? {} : {
      firstOutcome: { decidedAt: state.decided_at, outcome: reconciliation.outcome },
    }),
  };
}
