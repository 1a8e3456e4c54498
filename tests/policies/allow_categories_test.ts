import { allowCategories } from "../../policies/allow_categories.ts";
import { assertEquals, assertThrows } from "../_assert.ts";
import { verdictOf } from "./_decide_one.ts";

Deno.test("allowCategories()", async (t) => {
  const policy = allowCategories(["automated_fuel_dispensers", "5734"]);
  await t.step("abstains inside the allow-list, by name or MCC", () => {
    assertEquals(verdictOf(policy, "fuel"), { outcome: "abstain" });
    assertEquals(
      verdictOf(policy, "online"),
      { outcome: "abstain" },
      "computer_software_stores is 5734",
    );
  });
  await t.step("declines outside it", () => {
    assertEquals(
      verdictOf(policy, "online", {
        merchant_data: { category: "grocery_stores_supermarkets", category_code: "5411" },
      }),
      { outcome: "decline", code: "mcc_not_allowed", detail: "grocery_stores_supermarkets" },
    );
  });
  await t.step("refuses an unknown category at start-up", () => {
    assertThrows(
      () => allowCategories(["12345" as `${number}`]),
      RangeError,
      "unknown merchant category",
    );
  });
});
