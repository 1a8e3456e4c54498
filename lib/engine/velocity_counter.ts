/**
 * The shared part of velocity policies: scope, window and category filter
 * resolved once into a function from request to counter.
 *
 * @module
 */
import { type MerchantCategoryOrMcc, merchantCategorySet } from "./merchant_categories.ts";
import type { AuthorizationRequest } from "./policy.ts";
import {
  checkWindow,
  type CounterRef,
  counterRef,
  type VelocityScope,
  type VelocityWindow,
} from "./velocity.ts";

/** Options every velocity policy takes. */
export interface VelocityOptions {
  /** Count per card (default) or per cardholder, across all their cards. */
  readonly per?: VelocityScope;
  /** `daily`, `weekly`, `monthly`, `yearly`, `all_time` (UTC-aligned, as Stripe), or `{ rollingMinutes }`. */
  readonly window: VelocityWindow;
  /** Only count and limit requests at these merchants (Stripe names or MCCs); all when omitted. */
  readonly categories?: readonly MerchantCategoryOrMcc[];
}

/**
 * Resolves velocity options once. The returned function gives the counter a
 * request falls in (for `currency`, or `*` across currencies), or `undefined`
 * when the category filter excludes it.
 *
 * @example
 * ```ts
 * import { velocityCounter } from "./velocity_counter.ts";
 * const counterFor = velocityCounter({ window: "daily" }, "spendLimit");
 * // counterFor(authorization, now, "usd") → the card's usd counter for today
 * ```
 */
export function velocityCounter(
  options: VelocityOptions,
  owner: string,
): (authorization: AuthorizationRequest, now: Date, currency: string) => CounterRef | undefined {
  const scope = options.per ?? "card";
  if (scope !== "card" && scope !== "cardholder") {
    throw new TypeError(
      `Cannot create ${owner}: "per" must be "card" or "cardholder", got ${JSON.stringify(scope)}`,
    );
  }
  checkWindow(options.window, owner);
  const categories = options.categories && merchantCategorySet(options.categories, owner);
  const categoriesName = categories ? [...categories.categories].sort().join("+") : "*";
  const { window } = options;
  return (authorization, now, currency) => {
    if (categories && categories.match(authorization.merchant_data) === undefined) return undefined;
    const scopeId = scope === "card"
      ? authorization.card.id
      : authorization.card.cardholder?.id ?? "none";
    return counterRef({ scope, scopeId, window, currency, categories: categoriesName }, now);
  };
}
