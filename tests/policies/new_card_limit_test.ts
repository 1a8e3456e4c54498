import { newCardLimit } from "../../policies/new_card_limit.ts";
import { assertEquals, assertThrows } from "../_assert.ts";
import { NOW, verdictOf } from "./_decide_one.ts";

const DAY_S = 86_400;
const nowS = NOW.getTime() / 1000;

Deno.test("newCardLimit()", async (t) => {
  await t.step("in its first days a card is held to the smaller amount", () => {
    const policy = newCardLimit({ days: 7, maxAmount: { usd: 20_000 } });
    // Authorizations created now, at the test's clock.
    const young = {
      created: nowS,
      card: { created: nowS - 2 * DAY_S },
      pending_request: { amount: 45_000 },
    };
    assertEquals(verdictOf(policy, "online", young), {
      outcome: "decline",
      code: "new_card_limit",
      detail: "usd",
    });
    assertEquals(
      verdictOf(policy, "fuel", {
        created: nowS,
        card: { created: nowS - DAY_S },
        pending_request: { amount: 25_000 },
      }),
      { outcome: "limit", amount: 20_000, code: "new_card_limit", detail: "usd" },
    );
    const old = {
      created: nowS,
      card: { created: nowS - 30 * DAY_S },
      pending_request: { amount: 45_000 },
    };
    assertEquals(verdictOf(policy, "online", old), { outcome: "abstain" });
  });
  await t.step(
    "increments count with what the authorization holds: 200.00 is 200.00 in all",
    () => {
      const policy = newCardLimit({ days: 7, maxAmount: { usd: 20_000 } });
      const increment = (amount: number, is_amount_controllable: boolean) => ({
        created: nowS,
        card: { created: nowS - 2 * DAY_S },
        pending_request: { amount, is_amount_controllable },
      });
      const held = { amount: 20_000, requests: 1 };
      const heldPart = { amount: 15_000, requests: 1 };
      assertEquals(verdictOf(policy, "online", increment(20_000, false), undefined, { held }), {
        outcome: "decline",
        code: "new_card_limit",
        detail: "usd",
      });
      assertEquals(
        verdictOf(policy, "fuel", increment(20_000, true), undefined, { held: heldPart }),
        { outcome: "limit", amount: 5_000, code: "new_card_limit", detail: "usd" },
      );
      assertEquals(
        verdictOf(policy, "fuel", increment(5_000, true), undefined, { held: heldPart }),
        { outcome: "abstain" },
      );
      assertEquals(
        verdictOf(policy, "fuel", increment(100, true), undefined, { held }).outcome,
        "decline",
      );
    },
  );
  await t.step("until its first approvals, counted all time, whatever its age", () => {
    const policy = newCardLimit({ firstApprovals: 1, maxAmount: { usd: 20_000 } });
    const request = {
      created: nowS,
      card: { created: nowS - 300 * DAY_S },
      pending_request: { amount: 45_000 },
    };
    assertEquals(verdictOf(policy, "online", request).outcome, "decline");
    const used = () => ({ amount: 5_000, count: 1 });
    assertEquals(verdictOf(policy, "online", request, used).outcome, "abstain");
    assertEquals(
      policy.counters(
        { card: { id: "ic_1" }, merchant_data: {} } as never,
        NOW,
      )[0].current,
      ["usage", "card", "ic_1", "all_time", "*", "*", "all"],
    );
  });
  await t.step(
    "an authorization opened while the card was new stays held through its increments",
    () => {
      const held = { amount: 20_000, requests: 1 };
      // Opened on the card's sixth day, incremented on its ninth: the card's age at opening holds.
      const byAge = newCardLimit({ days: 7, maxAmount: { usd: 20_000 } });
      const opened = nowS - 3 * DAY_S;
      const increment = {
        created: opened,
        card: { created: opened - 5 * DAY_S },
        pending_request: { amount: 25_000 },
      };
      assertEquals(verdictOf(byAge, "online", increment, undefined, { held }).outcome, "decline");
      // Without a creation time to tell the card's age by, it is held as a new card's.
      const undated = { ...increment, created: undefined as unknown as number };
      assertEquals(verdictOf(byAge, "online", undated, undefined, { held }).outcome, "decline");
      // A new authorization on the same card, now 8 days old, is not held.
      assertEquals(
        verdictOf(byAge, "online", { ...increment, created: nowS }).outcome,
        "abstain",
      );
      // Its own approval and one other on a card new for 2: a purchase elsewhere does not lift it.
      const byCount = newCardLimit({ firstApprovals: 2, maxAmount: { usd: 20_000 } });
      const old = {
        created: nowS,
        card: { created: nowS - 300 * DAY_S },
        pending_request: { amount: 25_000 },
      };
      const approvals = (count: number) => () => ({ amount: 30_000, count });
      assertEquals(verdictOf(byCount, "online", old, approvals(2), { held }).outcome, "decline");
      // Two others: the card is no longer new, for increments and new authorizations alike.
      assertEquals(verdictOf(byCount, "online", old, approvals(3), { held }).outcome, "abstain");
      assertEquals(verdictOf(byCount, "online", old, approvals(2)).outcome, "abstain");
    },
  );
  await t.step("refuses a configuration that never applies at start-up", () => {
    assertThrows(() => newCardLimit({ maxAmount: { usd: 1 } }), RangeError, "days");
    assertThrows(() => newCardLimit({ days: 0, maxAmount: { usd: 1 } }), RangeError, "days");
  });
});
