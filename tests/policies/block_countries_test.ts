import { blockCountries } from "../../policies/block_countries.ts";
import { assertEquals, assertThrows } from "../_assert.ts";
import { verdictOf } from "./_decide_one.ts";

Deno.test("blockCountries()", async (t) => {
  const policy = blockCountries(["KP", "IR"]);
  await t.step("declines a merchant in a blocked country", () => {
    assertEquals(verdictOf(policy, "online", { merchant_data: { country: "KP" } }), {
      outcome: "decline",
      code: "country_blocked",
      detail: "KP",
    });
  });
  await t.step("abstains elsewhere and when the country is unknown", () => {
    assertEquals(verdictOf(policy, "online"), { outcome: "abstain" });
    assertEquals(verdictOf(policy, "online", { merchant_data: { country: null } }), {
      outcome: "abstain",
    });
  });
  await t.step("refuses codes that are not ISO alpha-2 at start-up", () => {
    assertThrows(
      () => blockCountries(["usa"]),
      RangeError,
      '"usa" is not an uppercase ISO 3166-1 alpha-2 code',
    );
  });
  await t.step("refuses codes shaped like one that no country has (a rule never matching)", () => {
    assertThrows(() => blockCountries(["UK"]), RangeError, `(the United Kingdom's is "GB")`);
    assertThrows(() => blockCountries(["KP", "XX"]), RangeError, '"XX" is not an assigned');
    const kosovo = verdictOf(blockCountries(["GB", "XK"]), "online", {
      merchant_data: { country: "XK" },
    });
    assertEquals(kosovo, { outcome: "decline", code: "country_blocked", detail: "XK" });
  });
});
