import { type CurrencyAmounts, currencyAmounts } from "../lib/engine/currency_amounts.ts";
import {
  type MerchantCategoryOrMcc,
  merchantCategorySet,
} from "../lib/engine/merchant_categories.ts";
import { abstain, limit, type Policy, withConfig } from "../lib/engine/policy.ts";
import { REASON_CODES } from "./reason_codes.ts";

/** Options of {@linkcode partialHold}. */
export interface PartialHoldOptions {
  /** Where to hold less: Stripe category names or 4-digit MCCs. */
  readonly categories: readonly MerchantCategoryOrMcc[];
  /** The most to hold per currency, in minor units; other currencies are left alone. */
  readonly maxAmount: CurrencyAmounts;
}

/**
 * For amount-controllable requests (e.g. a fuel pump pre-authorizing a round
 * figure) in the given categories, holds at most a fixed amount per
 * authorization: `limit(<what is left>, "partial_hold", <category>)`, where
 * what is left is `maxAmount` minus what the authorization already holds
 * (`context.held`), so increments cannot grow the hold past it (an increment
 * with nothing left is declined `limit_not_positive`). Other requests are left
 * to the other policies.
 *
 * @example
 * ```ts
 * import { partialHold } from "./partial_hold.ts";
 * import { authorizationEvent, authorizationOf } from "../fixtures/events.ts";
 * import { deepEqual } from "node:assert/strict";
 * const policy = partialHold({ categories: ["automated_fuel_dispensers"], maxAmount: { usd: 10_000 } });
 * const context = { now: new Date("2026-11-25T12:00:00Z"), signal: AbortSignal.abort(), usage: () => ({ amount: 0, count: 0 }), held: { amount: 0, requests: 0 } };
 * const pump = authorizationOf(authorizationEvent("fuel", { pending_request: { amount: 25_000 } }));
 * deepEqual(policy(pump, context), { outcome: "limit", amount: 10_000, code: "partial_hold", detail: "automated_fuel_dispensers" });
 * ```
 */
export function partialHold(options: PartialHoldOptions): Policy {
  const categories = merchantCategorySet(options.categories, "partialHold");
  const maxAmounts = currencyAmounts(options.maxAmount, "partialHold");
  return withConfig(function partialHold(
    { pending_request: request, merchant_data: merchant },
    { held },
  ) {
    if (!request.is_amount_controllable) return abstain();
    const max = maxAmounts.get(request.currency);
    if (max === undefined || request.amount <= max - held.amount) return abstain();
    const category = categories.match(merchant);
    return category === undefined
      ? abstain()
      : limit(max - held.amount, REASON_CODES.partialHold, category);
  }, options);
}
