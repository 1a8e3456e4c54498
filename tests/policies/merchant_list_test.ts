import { merchantList } from "../../policies/merchant_list.ts";
import { assertEquals, assertThrows } from "../_assert.ts";
import { verdictOf } from "./_decide_one.ts";

Deno.test("merchantList()", async (t) => {
  await t.step("block mode declines by network id and by part of the name, any case", () => {
    const policy = merchantList({ mode: "block", ids: ["1234567890"], names: ["shell oil"] });
    assertEquals(verdictOf(policy, "online"), {
      outcome: "decline",
      code: "merchant_blocked",
      detail: "ACME CLOUD SOFTWARE",
    });
    assertEquals(verdictOf(policy, "fuel").outcome, "decline");
    assertEquals(
      verdictOf(policy, "online", { merchant_data: { network_id: "555", name: "CORNER GROCERY" } }),
      { outcome: "abstain" },
    );
  });
  await t.step("allow mode declines every other merchant", () => {
    const policy = merchantList({ mode: "allow", names: ["ACME CLOUD"] });
    assertEquals(verdictOf(policy, "online"), { outcome: "abstain" });
    assertEquals(verdictOf(policy, "fuel"), {
      outcome: "decline",
      code: "merchant_not_allowed",
      detail: "SHELL OIL 57444123",
    });
  });
  await t.step("refuses a missing mode, an empty list and an empty name at start-up", () => {
    assertThrows(() => merchantList({ mode: "deny" as never, ids: ["1"] }), RangeError, "mode");
    assertThrows(() => merchantList({ mode: "block" }), RangeError, "ids");
    assertThrows(() => merchantList({ mode: "block", names: [" "] }), RangeError, "empty");
  });
});
