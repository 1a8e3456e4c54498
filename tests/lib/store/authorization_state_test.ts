import {
  type AuthorizationState,
  heldBefore,
  isFull,
  type StripeSnapshot,
} from "../../../lib/store/authorization_state.ts";
import { assert, assertEquals } from "../../_assert.ts";
import { approvedEntry } from "./_entries.ts";

const approved = (amount: number) => ({ approved: true, amount, reason: "webhook_approved" });
const entry = (position: number, amount: number) =>
  approvedEntry(position, amount, position === 0 ? 1 : 0);
/** We approved 900.00, then Stripe's lifecycle said `stripe` of it. */
const stateAfter = (stripe: Partial<StripeSnapshot>, requests = [entry(0, 90_000)]) =>
  ({
    authorization_id: "iauth_1",
    card_id: "ic_1",
    decided_at: "2026-11-25T12:00:00.000Z",
    requests,
    stripe: {
      status: "pending",
      approved: true,
      amount: 90_000,
      request_history: [{ ...approved(90_000), reason_message: null }],
      transactions: {},
      captured: 0,
      ...stripe,
    },
  }) satisfies AuthorizationState;

Deno.test("heldBefore: after a partial reversal, what Stripe then said it holds, plus the requests since", () => {
  const reversed = stateAfter({ amount: 20_000 });
  assertEquals(heldBefore(reversed, [approved(90_000)], 1).amount, 20_000);
  // An increment of 500.00 approved after the reversal: 200.00 + 500.00.
  const grown = stateAfter({ amount: 20_000 }, [entry(0, 90_000), entry(1, 50_000)]);
  assertEquals(heldBefore(grown, [approved(90_000), approved(50_000)], 2).amount, 70_000);
});

Deno.test("heldBefore: what the authorization captured counts when Stripe's amount is below it", () => {
  const captured = stateAfter({
    amount: 10_000,
    captured: 80_000,
    transactions: { ipi_1: -80_000 },
  });
  assertEquals(heldBefore(captured, [approved(90_000)], 1).amount, 80_000);
});

Deno.test("heldBefore: a snapshot that shows later requests than this one's says nothing of it", () => {
  // Stripe's snapshot already lists this request (our answer was late) and holds less.
  const ahead = stateAfter({
    amount: 20_000,
    request_history: [
      { ...approved(90_000), reason_message: null },
      { ...approved(5_000), reason_message: null },
    ],
  });
  assertEquals(heldBefore(ahead, [approved(90_000)], 1).amount, 90_000);
});

Deno.test("isFull: a state whose Stripe side is large takes no more requests, however few it has", () => {
  // Before, only a state of 16 requests or more was measured: one request beside 1,900 transactions
  // took an increment's entry past KV's value limit, and the increment fell back unrecorded.
  const transactions = Object.fromEntries(
    Array.from({ length: 1_900 }, (_, i) => [`ipi_${String(i).padStart(24, "0")}`, -1]),
  );
  assertEquals(isFull(stateAfter({ transactions })), true);
  assertEquals(isFull(stateAfter({ transactions: { ipi_1: -1 } })), false);
  const early = { ...stateAfter({}), stripe: undefined, early_transactions: transactions };
  assertEquals(isFull(early), true);
  // Measured as KV stores it: two bytes a character of text outside Latin-1, where JSON counts one.
  const message = "取".repeat(1_000);
  const request_history = Array.from(
    { length: 24 },
    () => ({ ...approved(100), reason_message: message }),
  );
  assert(JSON.stringify(stateAfter({ request_history })).length < 40_000);
  assertEquals(isFull(stateAfter({ request_history })), true);
});
