import { maxNetworkRisk } from "../../policies/max_network_risk.ts";
import { assertEquals, assertThrows } from "../_assert.ts";
import { verdictOf } from "./_decide_one.ts";

Deno.test("maxNetworkRisk()", async (t) => {
  const policy = maxNetworkRisk({ maxScore: 75 });
  await t.step("declines a score above the maximum", () => {
    assertEquals(verdictOf(policy, "online", { pending_request: { network_risk_score: 80 } }), {
      outcome: "decline",
      code: "network_risk_high",
      detail: "80",
    });
  });
  await t.step("abstains at or below it, and without a score", () => {
    assertEquals(verdictOf(policy, "online", { pending_request: { network_risk_score: 75 } }), {
      outcome: "abstain",
    });
    assertEquals(verdictOf(policy, "online", { pending_request: { network_risk_score: null } }), {
      outcome: "abstain",
    });
  });
  await t.step("refuses a score outside 0–99 at start-up", () => {
    assertThrows(() => maxNetworkRisk({ maxScore: 100 }), RangeError, "from 0 to 99, got 100");
  });
});
