import { allowCountries } from "../../policies/allow_countries.ts";
import { assertEquals, assertThrows } from "../_assert.ts";
import { verdictOf } from "./_decide_one.ts";

Deno.test("allowCountries()", async (t) => {
  const policy = allowCountries(["US", "CA"]);
  await t.step("abstains for an allowed country", () => {
    assertEquals(verdictOf(policy, "online"), { outcome: "abstain" });
  });
  await t.step("declines other countries, and an unknown one", () => {
    assertEquals(verdictOf(policy, "online", { merchant_data: { country: "FR" } }), {
      outcome: "decline",
      code: "country_not_allowed",
      detail: "FR",
    });
    assertEquals(verdictOf(policy, "online", { merchant_data: { country: null } }), {
      outcome: "decline",
      code: "country_not_allowed",
      detail: "unknown",
    });
  });
  await t.step("refuses an empty list at start-up", () => {
    assertThrows(() => allowCountries([]), RangeError, "non-empty");
  });
});
