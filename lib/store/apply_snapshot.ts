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
import type { Reconciliation } from "./decision_record.ts";
import { reconciliationOf, reservationsFor } from "./reconciliation.ts";

/** What applying Stripe's snapshot gives: the reconciliation, and whether its outcome changed. */
export interface SnapshotApplied {
  readonly reconciliation: Reconciliation;
  readonly changed: boolean;
  /** Set the first time: counted in the aggregates with its batch. */
  readonly firstOutcome?: AggregatedOutcome;
}

/**
 * Applies Stripe's snapshot to an authorization: each request's reservation
 * follows it (the counters move by the difference; only for the requests
 * `movable` names), its reconciliation is recomputed, and the state is set
 * with both, kept `retentionMs`.
 */
export function applySnapshot(
  view: BatchView,
  state: AuthorizationState,
  snapshot: StripeSnapshot,
  now: Date,
  retentionMs: number,
  movable: (entry: RequestEntry) => boolean = () => true,
): SnapshotApplied {
  const targets = reservationsFor(state.requests, snapshot);
  const requests = state.requests.map((entry, i) => {
    if (!movable(entry)) return entry;
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
    ...(before ? {} : {
      firstOutcome: { decidedAt: state.decided_at, outcome: reconciliation.outcome },
    }),
  };
}
