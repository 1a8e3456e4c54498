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
 * const policy = allowCategories(["automated_fuel_dispensers", "5541"]);
 * // at a grocery store → { outcome: "decline", code: "mcc_not_allowed", detail: "grocery_stores_supermarkets" }
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
