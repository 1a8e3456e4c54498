import type { CounterRef, Usage } from "../../lib/engine/velocity.ts";
import { spendLimit } from "../../policies/spend_limit.ts";
import { assertEquals, assertThrows } from "../_assert.ts";
import { authorizationEvent, authorizationOf } from "../../fixtures/events.ts";
import { NOW, verdictOf } from "./_decide_one.ts";

const used = (amount: number) => (_counter: CounterRef): Usage => ({ amount, count: 1 });

Deno.test("spendLimit()", async (t) => {
  const policy = spendLimit({ window: "daily", maxAmount: { usd: 10_000 } });

  await t.step("abstains while the request fits in what is left", () => {
    assertEquals(verdictOf(policy, "online", { pending_request: { amount: 4_000 } }, used(6_000)), {
      outcome: "abstain",
    });
  });
  await t.step("declines a request that would pass the limit", () => {
    assertEquals(verdictOf(policy, "online", { pending_request: { amount: 4_001 } }, used(6_000)), {
      outcome: "decline",
      code: "spend_limit_exceeded",
      detail: "daily:usd",
    });
  });
  await t.step(
    "lets a 0.00 status check through once spend is past the limit (a force capture)",
    () => {
      assertEquals(verdictOf(policy, "online", { pending_request: { amount: 0 } }, used(13_000)), {
        outcome: "abstain",
      });
      assertEquals(verdictOf(policy, "online", { pending_request: { amount: 1 } }, used(13_000)), {
        outcome: "decline",
        code: "spend_limit_exceeded",
        detail: "daily:usd",
      });
    },
  );
  await t.step("limits an amount-controllable request to what is left", () => {
    assertEquals(verdictOf(policy, "fuel", { pending_request: { amount: 9_000 } }, used(6_000)), {
      outcome: "limit",
      amount: 4_000,
      code: "spend_limit_exceeded",
      detail: "daily:usd",
    });
  });
  await t.step("declines an amount-controllable request once nothing is left", () => {
    assertEquals(
      verdictOf(policy, "fuel", { pending_request: { amount: 100 } }, used(10_000)).outcome,
      "decline",
    );
  });
  await t.step(
    "counts per card by default, per cardholder when asked, and names the window",
    () => {
      const authorization = authorizationOf(authorizationEvent("online"));
      const [card] = policy.counters(authorization, NOW);
      assertEquals(card.current, [
        "usage",
        "card",
        authorization.card.id,
        "daily",
        "*",
        "usd",
        "2026-11-25",
      ]);
      const perHolder = spendLimit({
        per: "cardholder",
        window: { rollingMinutes: 10 },
        maxAmount: { usd: 1 },
      });
      const [holder] = perHolder.counters(authorization, NOW);
      assertEquals(holder.current.slice(0, 6), [
        "usage",
        "cardholder",
        authorization.card.cardholder.id,
        "rolling_10m",
        "*",
        "usd",
      ]);
    },
  );
  await t.step("ignores other currencies and, with a category filter, other merchants", () => {
    const authorization = authorizationOf(
      authorizationEvent("online", { pending_request: { currency: "eur" } }),
    );
    assertEquals(policy.counters(authorization, NOW), []);
    const fuelOnly = spendLimit({ window: "daily", maxAmount: { usd: 1 }, categories: ["5542"] });
    assertEquals(fuelOnly.counters(authorizationOf(authorizationEvent("online")), NOW), []);
    assertEquals(fuelOnly.counters(authorizationOf(authorizationEvent("fuel")), NOW).length, 1);
  });
  await t.step("refuses bad configuration at start-up", () => {
    assertThrows(
      () => spendLimit({ window: "daily", maxAmount: { usd: 0 } }),
      RangeError,
      "positive integer",
    );
    assertThrows(
      () => spendLimit({ window: "fortnightly" as never, maxAmount: { usd: 1 } }),
      RangeError,
      "window",
    );
    assertThrows(
      () => spendLimit({ per: "merchant" as never, window: "daily", maxAmount: { usd: 1 } }),
      RangeError,
      '"per" must be "card" or "cardholder"',
    );
  });
});
