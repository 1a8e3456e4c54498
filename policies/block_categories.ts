import {
  type MerchantCategoryOrMcc,
  merchantCategorySet,
} from "../lib/engine/merchant_categories.ts";
import { abstain, decline, type Policy, withConfig } from "../lib/engine/policy.ts";
import { REASON_CODES } from "./reason_codes.ts";

/**
 * Declines `mcc_blocked:<category>` at merchants in any of the given
 * categories, named by Stripe category or 4-digit MCC.
 *
 * @example
 * ```ts
 * import { blockCategories } from "./block_categories.ts";
 * import { authorizationEvent, authorizationOf } from "../fixtures/events.ts";
 * import { deepEqual } from "node:assert/strict";
 * const policy = blockCategories(["betting_casino_gambling", "7801"]);
 * const context = { now: new Date("2026-11-25T12:00:00Z"), signal: AbortSignal.abort(), usage: () => ({ amount: 0, count: 0 }), held: { amount: 0, requests: 0 } };
 * const casino = authorizationOf(authorizationEvent("online", { merchant_data: { category: "betting_casino_gambling", category_code: "7995" } }));
 * deepEqual(policy(casino, context), { outcome: "decline", code: "mcc_blocked", detail: "betting_casino_gambling" });
 * ```
 */
export function blockCategories(
  categories: readonly MerchantCategoryOrMcc[],
): Policy {
  const blocked = merchantCategorySet(categories, "blockCategories");
  return withConfig(function blockCategories({ merchant_data: merchant }) {
    const category = blocked.match(merchant);
    return category === undefined ? abstain() : decline(REASON_CODES.mccBlocked, category);
  }, categories);
}
