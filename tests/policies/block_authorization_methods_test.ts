import { blockAuthorizationMethods } from "../../policies/block_authorization_methods.ts";
import { assertEquals, assertThrows } from "../_assert.ts";
import { verdictOf } from "./_decide_one.ts";

Deno.test("blockAuthorizationMethods()", async (t) => {
  const policy = blockAuthorizationMethods(["keyed_in", "swipe"]);
  await t.step("declines a swiped or keyed-in card", () => {
    for (const method of ["keyed_in", "swipe"] as const) {
      assertEquals(verdictOf(policy, "fuel", { authorization_method: method }), {
        outcome: "decline",
        code: "authorization_method_blocked",
        detail: method,
      });
    }
  });
  await t.step("abstains on chip (the recorded fuel purchase), contactless and online", () => {
    assertEquals(verdictOf(policy, "fuel"), { outcome: "abstain" });
    assertEquals(
      verdictOf(policy, "fuel", { authorization_method: "contactless" }).outcome,
      "abstain",
    );
    assertEquals(verdictOf(policy, "online").outcome, "abstain");
  });
  await t.step("refuses an unknown method at start-up", () => {
    assertThrows(() => blockAuthorizationMethods(["magstripe" as never]), RangeError, "magstripe");
  });
});
