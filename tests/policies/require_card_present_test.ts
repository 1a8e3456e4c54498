import { requireCardPresent } from "../../policies/require_card_present.ts";
import { assertEquals } from "../_assert.ts";
import { verdictOf } from "./_decide_one.ts";

Deno.test("requireCardPresent()", async (t) => {
  const policy = requireCardPresent();
  await t.step("declines an online purchase and an unknown presence", () => {
    assertEquals(verdictOf(policy, "online"), {
      outcome: "decline",
      code: "card_not_present",
      detail: "not_present",
    });
    assertEquals(verdictOf(policy, "online", { card_presence: null }).outcome, "decline");
  });
  await t.step("abstains at a fuel pump where the card was inserted", () => {
    assertEquals(verdictOf(policy, "fuel"), { outcome: "abstain" });
  });
});
