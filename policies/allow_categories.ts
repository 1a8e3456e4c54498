import {
  type MerchantCategoryOrMcc,
  merchantCategorySet,
} from "../lib/engine/merchant_categories.ts";
import { abstain, decline, type Policy, withConfig } from "../lib/engine/policy.ts";
import { REASON_CODES } from "./reason_codes.ts";

/**
 * Declines `mcc_not_allowed:<category>` at merchants outside the given
 * categories (named by Stripe category or 4-digit MCC): an allow-list.
 *
 * @example
 * ```ts
 * import { allowCategories } from "./allow_categories.ts";
 * import { authorizationEvent, authorizationOf } from "../fixtures/events.ts";
 * import { deepEqual } from "node:assert/strict";
 * const policy = allowCategories(["automated_fuel_dispensers", "5541"]);
 * const context = { now: new Date("2026-11-25T12:00:00Z"), signal: AbortSignal.abort(), usage: () => ({ amount: 0, count: 0 }), held: { amount: 0, requests: 0 } };
 * const grocery = authorizationOf(authorizationEvent("online", {
 *   merchant_data: { category: "grocery_stores_supermarkets", category_code: "5411" },
 * }));
 * deepEqual(policy(grocery, context), { outcome: "decline", code: "mcc_not_allowed", detail: "grocery_stores_supermarkets" });
 * deepEqual(policy(authorizationOf(authorizationEvent("fuel")), context), { outcome: "abstain" });
 * ```
 */
export function allowCategories(
  categories: readonly MerchantCategoryOrMcc[],
): Policy {
  const allowed = merchantCategorySet(categories, "allowCategories");
  return withConfig(function allowCategories({ merchant_data: merchant }) {
    return allowed.match(merchant) === undefined
      ? decline(REASON_CODES.mccNotAllowed, merchant.category)
      : abstain();
  }, categories);
}
