import { cashLimits } from "../../policies/cash_limits.ts";
import { assertEquals, assertThrows } from "../_assert.ts";
import { verdictOf } from "./_decide_one.ts";

const ATM = {
  category: "automated_cash_disburse",
  category_code: "6011",
  name: "BANK OF THE WEST ATM",
} as const;

Deno.test("cashLimits()", async (t) => {
  const policy = cashLimits({
    maxCashback: { usd: 10_000 },
    maxAtmFee: { usd: 500 },
    maxAtmWithdrawal: { usd: 40_000 },
  });
  await t.step("declines cash back over the limit (it cannot be partially approved)", () => {
    assertEquals(
      verdictOf(policy, "fuel", {
        merchant_data: { category: "grocery_stores_supermarkets", category_code: "5411" },
        pending_request: {
          amount: 16_250,
          is_amount_controllable: false,
          amount_details: { cashback_amount: 12_000, atm_fee: null },
        },
      }),
      { outcome: "decline", code: "cashback_over_limit", detail: "usd" },
    );
  });
  await t.step("declines an ATM fee over the limit", () => {
    assertEquals(
      verdictOf(policy, "fuel", {
        merchant_data: ATM,
        pending_request: {
          amount: 20_650,
          amount_details: { atm_fee: 650, cashback_amount: null },
        },
      }),
      { outcome: "decline", code: "atm_fee_over_limit", detail: "usd" },
    );
  });
  await t.step("limits or declines an ATM withdrawal over the limit, and only at ATMs", () => {
    const withdrawal = (is_amount_controllable: boolean) => ({
      merchant_data: ATM,
      pending_request: { amount: 60_000, is_amount_controllable },
    });
    assertEquals(verdictOf(policy, "fuel", withdrawal(false)).outcome, "decline");
    assertEquals(verdictOf(policy, "fuel", withdrawal(true)), {
      outcome: "limit",
      amount: 40_000,
      code: "atm_withdrawal_over_limit",
      detail: "usd",
    });
    assertEquals(
      verdictOf(policy, "online", { pending_request: { amount: 60_000 } }).outcome,
      "abstain",
    );
  });
  await t.step("refuses an empty configuration at start-up", () => {
    assertThrows(() => cashLimits({}), RangeError, "maxCashback");
  });
});
