import { amountCap } from "../../policies/amount_cap.ts";
import { assertEquals, assertThrows } from "../_assert.ts";
import { verdictOf } from "./_decide_one.ts";

Deno.test("amountCap()", async (t) => {
  const policy = amountCap({ usd: 100_000, eur: 50_000 });

  await t.step("abstains at or under the cap", () => {
    assertEquals(verdictOf(policy, "online", { pending_request: { amount: 100_000 } }), {
      outcome: "abstain",
    });
  });
  await t.step("declines a request over the cap that is not amount-controllable", () => {
    assertEquals(verdictOf(policy, "online", { pending_request: { amount: 100_001 } }), {
      outcome: "decline",
      code: "amount_over_cap",
      detail: "usd",
    });
  });
  await t.step("limits an amount-controllable request to the cap", () => {
    assertEquals(
      verdictOf(policy, "fuel", { pending_request: { amount: 60_000, currency: "eur" } }),
      {
        outcome: "limit",
        amount: 50_000,
        code: "amount_over_cap",
        detail: "eur",
      },
    );
  });
  await t.step("declines a currency with no cap", () => {
    assertEquals(verdictOf(policy, "online", { pending_request: { currency: "jpy" } }), {
      outcome: "decline",
      code: "currency_not_allowed",
      detail: "jpy",
    });
  });
  await t.step("refuses bad configuration at start-up", () => {
    assertThrows(
      () => amountCap({ usd: -5 }),
      RangeError,
      '"usd" must be a positive integer in minor units, got -5',
    );
    assertThrows(() => amountCap({ usd: 10.5 }), RangeError, "positive integer");
    assertThrows(() => amountCap({ USD: 100 }), RangeError, "lowercase ISO 4217");
    assertThrows(() => amountCap({}), RangeError, "expected amounts by currency");
  });
});
