/**
 * Stripe's merchant categories, addressable by name or by 4-digit MCC.
 *
 * @module
 */
import { MERCHANT_CATEGORY_ROWS } from "./_merchant_category_rows.ts";

/** A Stripe Issuing merchant category name, e.g. `betting_casino_gambling`. */
export type MerchantCategory = typeof MERCHANT_CATEGORY_ROWS[number]["category"];

/** A category by name, or by its 4-digit merchant category code (`"7995"`). */
export type MerchantCategoryOrMcc = MerchantCategory | `${number}`;

const CATEGORY_BY_MCC = new Map<string, MerchantCategory>();
const MCC_BY_CATEGORY = new Map<string, string | null>();
for (const { category, mcc } of MERCHANT_CATEGORY_ROWS) {
  MCC_BY_CATEGORY.set(category, mcc);
  if (mcc !== null) CATEGORY_BY_MCC.set(mcc, category);
}

/**
 * A set of merchant categories, built once from names and MCCs, that matches an
 * authorization's `merchant_data` by either its `category` or its
 * `category_code` (so a category Stripe adds later still matches by code).
 */
export interface MerchantCategorySet {
  /** The category names in the set, for reasons and documentation. */
  readonly categories: readonly MerchantCategory[];
  /** The set's category matching this merchant, or `undefined`. */
  match(
    merchant: { category: string; category_code: string },
  ): MerchantCategory | undefined;
}

/**
 * Resolves category names and MCCs to a {@linkcode MerchantCategorySet}.
 * Throws a `RangeError` naming `owner` for an unknown name or code, so a typo
 * fails at start-up instead of silently matching nothing (and a `TypeError`
 * for an empty or non-array list).
 *
 * @example
 * ```ts
 * import { merchantCategorySet } from "./merchant_categories.ts";
 * import { deepEqual, equal } from "node:assert/strict";
 * const gambling = merchantCategorySet(["7995"], "blockCategories");
 * equal(gambling.match({ category: "betting_casino_gambling", category_code: "7995" }), "betting_casino_gambling");
 * deepEqual(gambling.categories, ["betting_casino_gambling"]);
 * ```
 */
export function merchantCategorySet(
  entries: readonly MerchantCategoryOrMcc[],
  owner: string,
): MerchantCategorySet {
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new (Array.isArray(entries) ? RangeError : TypeError)(
      `Cannot create ${owner}: expected a non-empty list of merchant categories or MCCs`,
    );
  }
  const byKey = new Map<string, MerchantCategory>();
  for (const entry of entries) {
    const category = MCC_BY_CATEGORY.has(entry)
      ? entry as MerchantCategory
      : CATEGORY_BY_MCC.get(entry);
    if (category === undefined) {
      throw new RangeError(
        `Cannot create ${owner}: unknown merchant category or MCC ${JSON.stringify(entry)} ` +
          `(see lib/engine/_merchant_category_rows.ts for the list)`,
      );
    }
    byKey.set(category, category);
    const mcc = MCC_BY_CATEGORY.get(category);
    if (mcc) byKey.set(mcc, category);
  }
  const categories = [...new Set(byKey.values())];
  return {
    categories,
    match: (merchant) => byKey.get(merchant.category) ?? byKey.get(merchant.category_code),
  };
}
