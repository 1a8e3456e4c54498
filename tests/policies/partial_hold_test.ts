import type { MerchantCategoryOrMcc } from "../../lib/engine/merchant_categories.ts";
import { partialHold } from "../../policies/partial_hold.ts";
import { assertEquals, assertThrows } from "../_assert.ts";
import { verdictOf } from "./_decide_one.ts";

Deno.test("partialHold()", async (t) => {
  const policy = partialHold({ categories: ["5542"], maxAmount: { usd: 10_000 } });
  await t.step("limits an amount-controllable request over the hold in the category", () => {
    assertEquals(verdictOf(policy, "fuel", { pending_request: { amount: 25_000 } }), {
      outcome: "limit",
      amount: 10_000,
      code: "partial_hold",
      detail: "automated_fuel_dispensers",
    });
  });
  await t.step(
    "bounds the authorization's total: an increment gets what is left of the hold",
    () => {
      const topUp = { pending_request: { amount: 5_000 } };
      assertEquals(
        verdictOf(policy, "fuel", topUp, undefined, { held: { amount: 7_500, requests: 1 } }),
        {
          outcome: "limit",
          amount: 2_500,
          code: "partial_hold",
          detail: "automated_fuel_dispensers",
        },
      );
      assertEquals(
        verdictOf(policy, "fuel", topUp, undefined, { held: { amount: 10_000, requests: 1 } })
          .outcome,
        "limit",
        "nothing left: a limit to 0, which the engine declines as limit_not_positive",
      );
      assertEquals(
        verdictOf(policy, "fuel", topUp, undefined, { held: { amount: 5_000, requests: 1 } }),
        { outcome: "abstain" },
      );
    },
  );
  await t.step("abstains at or under the hold", () => {
    assertEquals(verdictOf(policy, "fuel", { pending_request: { amount: 10_000 } }), {
      outcome: "abstain",
    });
  });
  await t.step("abstains for requests that are not amount-controllable", () => {
    assertEquals(
      verdictOf(policy, "fuel", {
        pending_request: { amount: 25_000, is_amount_controllable: false },
      }),
      { outcome: "abstain" },
    );
  });
  await t.step("abstains in other categories and currencies", () => {
    assertEquals(
      verdictOf(policy, "online", {
        pending_request: { amount: 25_000, is_amount_controllable: true },
      }),
      { outcome: "abstain" },
    );
    assertEquals(
      verdictOf(policy, "fuel", { pending_request: { amount: 25_000, currency: "eur" } }),
      {
        outcome: "abstain",
      },
    );
  });
  await t.step("refuses bad configuration at start-up", () => {
    assertThrows(
      () => partialHold({ categories: ["5542"], maxAmount: { usd: 0 } }),
      RangeError,
      "positive integer",
    );
    // @ts-expect-error: a typo is a type error too
    const typo: MerchantCategoryOrMcc[] = ["gas"];
    assertThrows(
      () => partialHold({ categories: typo, maxAmount: { usd: 1 } }),
      RangeError,
      "partialHold",
    );
  });
});
