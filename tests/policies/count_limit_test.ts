import type { Usage } from "../../lib/engine/velocity.ts";
import { countLimit } from "../../policies/count_limit.ts";
import { assertEquals, assertThrows } from "../_assert.ts";
import { verdictOf } from "./_decide_one.ts";

const approvals = (count: number) => (): Usage => ({ amount: 0, count });

Deno.test("countLimit()", async (t) => {
  const policy = countLimit({ window: { rollingMinutes: 10 }, maxCount: 5 });
  await t.step("abstains below the count", () => {
    assertEquals(verdictOf(policy, "online", {}, approvals(4)), { outcome: "abstain" });
  });
  await t.step("declines at the count", () => {
    assertEquals(verdictOf(policy, "online", {}, approvals(5)), {
      outcome: "decline",
      code: "count_limit_exceeded",
      detail: "rolling_10m",
    });
  });
  await t.step(
    "lets through at the count what adds no approval: an increment, a 0.00 check",
    () => {
      const increment = { held: { amount: 10_000, requests: 1 } };
      assertEquals(verdictOf(policy, "online", {}, approvals(5), increment), {
        outcome: "abstain",
      });
      const check = { pending_request: { amount: 0 } };
      assertEquals(verdictOf(policy, "online", check, approvals(5)), { outcome: "abstain" });
      // The first request that holds an amount after a 0.00 check counts.
      const afterCheck = { held: { amount: 0, requests: 1 } };
      assertEquals(verdictOf(policy, "online", {}, approvals(5), afterCheck).outcome, "decline");
    },
  );
  await t.step("refuses a count that is not a positive integer", () => {
    assertThrows(
      () => countLimit({ window: "daily", maxCount: 0 }),
      RangeError,
      '"maxCount" must be a positive integer',
    );
  });
});
