import type { StripeSnapshot } from "../../../lib/store/authorization_state.ts";
import {
  mergeSnapshots,
  reconciliationOf,
  reservationsFor,
  settledAmount,
  withTransactions,
} from "../../../lib/store/reconciliation.ts";
import { assertEquals } from "../../_assert.ts";
import { approvedEntry } from "./_entries.ts";

const history = [{
  approved: true,
  amount: 5_000,
  reason: "webhook_approved",
  reason_message: null,
}];
const created: StripeSnapshot = {
  status: "pending",
  approved: true,
  amount: 5_000,
  request_history: history,
  transactions: {},
  captured: 0,
};

/** Merges in every order given, checking each gives the same snapshot; returns it. */
function mergedInAnyOrder(...snapshots: StripeSnapshot[]): StripeSnapshot {
  const orders = snapshots.length === 2
    ? [snapshots, [...snapshots].reverse()]
    : [snapshots, [...snapshots].reverse(), [snapshots[1], snapshots[0], ...snapshots.slice(2)]];
  const results = orders.map((order) =>
    order.reduce<StripeSnapshot | undefined>((merged, s) => mergeSnapshots(merged, s), undefined)!
  );
  for (const result of results.slice(1)) assertEquals(result, results[0]);
  return results[0];
}

Deno.test("mergeSnapshots: a linked capture and a late partial reversal merge to one result in any order", () => {
  const reversed = { ...created, amount: 3_000 };
  const captured = withTransactions(created, { ipi_1: -1_000 });
  const merged = mergedInAnyOrder(captured, reversed);
  assertEquals([merged.amount, merged.captured, settledAmount(merged)], [3_000, 1_000, 3_000]);
});

Deno.test("mergeSnapshots: what Stripe held before a partial reversal is kept, whichever came first", () => {
  const reversed = { ...created, amount: 3_000 };
  const merged = mergedInAnyOrder(reversed, created);
  assertEquals([merged.amount, merged.held_most], [3_000, { history: 1, amount: 5_000 }]);
  // An increment since: what was held before it is not what is held with it.
  const incremented = {
    ...created,
    amount: 7_000,
    request_history: [...history, { ...history[0], amount: 2_000 }],
  };
  assertEquals(mergedInAnyOrder(reversed, created, incremented).held_most, {
    history: 2,
    amount: 7_000,
  });
});

Deno.test("reconciliationOf: below our amount is a partial reversal once the most Stripe held was ours, not more", () => {
  const ours = [approvedEntry(0, 5_000, 1)];
  const outcome = (most: number) =>
    reconciliationOf(
      ours,
      { ...created, amount: 3_000, held_most: { history: 1, amount: most } },
      new Date(0),
    )
      .outcome;
  assertEquals([outcome(5_000), outcome(6_000), outcome(3_000)], [
    "agreed",
    "mismatch",
    "mismatch",
  ]);
});

Deno.test("mergeSnapshots: transactions are the union by id, whichever snapshot is ahead", () => {
  const a = { ...created, transactions: { ipi_1: -1_000 }, captured: 1_000 };
  const b = { ...created, amount: 4_000, transactions: { ipi_2: -500 }, captured: 500 };
  const closed = {
    ...created,
    status: "closed",
    transactions: { ipi_1: -1_000, ipi_2: -500 },
    captured: 1_500,
  };
  assertEquals(mergedInAnyOrder(a, b).captured, 1_500);
  assertEquals(mergedInAnyOrder(a, b, closed), {
    ...closed,
    held_most: { history: 1, amount: 5_000 },
  });
});

Deno.test("a snapshot stored before transactions were kept by id keeps its net until one lists as many", () => {
  const legacy = { ...created, status: "closed", transactions: 1, captured: 5_000 };
  assertEquals(settledAmount(legacy), 5_000, "closed with transactions holds what was captured");
  // A linked transaction cannot be told from the one it counted: left to the lifecycle events.
  assertEquals(withTransactions(legacy, { ipi_refund: 1_000 }), legacy);
  const listed = {
    ...legacy,
    transactions: { ipi_0: -5_000, ipi_refund: 1_000 },
    captured: 4_000,
  };
  assertEquals(mergedInAnyOrder(legacy, listed).captured, 4_000);
  const fewer = { ...created, transactions: {}, captured: 0 };
  assertEquals(mergedInAnyOrder(legacy, fewer).captured, 5_000);
});

Deno.test("reservationsFor: the approval count stays on the first request that held an amount, not on a 0.00 status check before it", () => {
  const snapshot: StripeSnapshot = {
    status: "pending",
    approved: true,
    amount: 2_500,
    request_history: [{ ...history[0], amount: 0 }, { ...history[0], amount: 2_500 }],
    transactions: {},
    captured: 0,
  };
  const reservations = reservationsFor(
    [approvedEntry(0, 0, 0), approvedEntry(1, 2_500, 1)],
    snapshot,
  );
  assertEquals(reservations.map(({ amount, count }) => [amount, count]), [[0, 0], [2_500, 1]]);
});

Deno.test("reservationsFor: a snapshot that lists no request holds its total, ours in it, not beside it", () => {
  const snapshot: StripeSnapshot = {
    status: "pending",
    approved: true,
    amount: 3_000,
    request_history: [],
    transactions: {},
    captured: 0,
  };
  const reservations = reservationsFor([approvedEntry(0, 3_000, 1)], snapshot);
  assertEquals(reservations.map(({ amount, count }) => [amount, count]), [[3_000, 1]]);
  // Only the first request: an increment it cannot be known to hold is held beside it.
  const unlisted = reservationsFor(
    [approvedEntry(0, 3_000, 1), approvedEntry(1, 1_000, 0)],
    snapshot,
  );
  assertEquals(unlisted.map(({ amount }) => amount), [3_000, 1_000]);
  // An increment the snapshot does not show, on one that lists the first request, is added.
  const listed = { ...snapshot, request_history: [{ ...history[0], amount: 3_000 }] };
  const withIncrement = reservationsFor(
    [approvedEntry(0, 3_000, 1), approvedEntry(1, 1_000, 0)],
    listed,
  );
  assertEquals(withIncrement.map(({ amount }) => amount), [3_000, 1_000]);
});
