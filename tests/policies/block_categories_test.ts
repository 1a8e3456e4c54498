import type { MerchantCategoryOrMcc } from "../../lib/engine/merchant_categories.ts";
import { blockCategories } from "../../policies/block_categories.ts";
import { assertEquals, assertThrows } from "../_assert.ts";
import { verdictOf } from "./_decide_one.ts";

const CASINO = { category: "betting_casino_gambling", category_code: "7995" };

Deno.test("blockCategories()", async (t) => {
  await t.step("declines a blocked category, named by Stripe name or by MCC", () => {
    for (const entry of ["betting_casino_gambling", "7995"] as const) {
      assertEquals(verdictOf(blockCategories([entry]), "online", { merchant_data: CASINO }), {
        outcome: "decline",
        code: "mcc_blocked",
        detail: "betting_casino_gambling",
      });
    }
  });
  await t.step("matches by MCC when Stripe sends a category name it has since renamed", () => {
    const verdict = verdictOf(blockCategories(["betting_casino_gambling"]), "online", {
      merchant_data: { category: "some_future_name", category_code: "7995" },
    });
    assertEquals(verdict.outcome, "decline");
  });
  await t.step("abstains elsewhere", () => {
    assertEquals(verdictOf(blockCategories(["7995"]), "online"), { outcome: "abstain" });
  });
  await t.step("refuses an unknown category or MCC at start-up", () => {
    // @ts-expect-error: a typo is a type error too
    const typo: MerchantCategoryOrMcc[] = ["casinos"];
    assertThrows(
      () => blockCategories(typo),
      RangeError,
      'unknown merchant category or MCC "casinos"',
    );
    assertThrows(() => blockCategories(["0000"]), RangeError, '"0000"');
    assertThrows(() => blockCategories([]), RangeError, "non-empty");
  });
});
