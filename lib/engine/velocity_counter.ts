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
  /**
   * Count each merchant apart (by `merchant_data.network_id`): velocity per
   * card (or cardholder) and merchant, e.g. at most 3 approvals at any one
   * merchant in an hour.
   */
  readonly perMerchant?: boolean;
}

/**
 * Resolves velocity options once. The returned function gives the counter a
 * request falls in (for `currency`, or `*` across currencies), or `undefined`
 * when the category filter excludes it.
 *
 * @example
 * ```ts
 * import { velocityCounter } from "./velocity_counter.ts";
 * import { authorizationEvent, authorizationOf } from "../../fixtures/events.ts";
 * import { deepEqual } from "node:assert/strict";
 * const counterFor = velocityCounter({ window: "daily", perMerchant: true }, "countLimit");
 * const authorization = authorizationOf(authorizationEvent("online", { card: { id: "ic_1" } }));
 * deepEqual(
 *   counterFor(authorization, new Date("2026-11-25T15:00:00Z"), "*")?.current,
 *   ["usage", "card", "ic_1@1234567890", "daily", "*", "*", "2026-11-25"],
 * );
 * ```
 */
export function velocityCounter(
  options: VelocityOptions,
  owner: string,
): (authorization: AuthorizationRequest, now: Date, currency: string) => CounterRef | undefined {
  const scope = options.per ?? "card";
  if (scope !== "card" && scope !== "cardholder") {
    throw new RangeError(
      `Cannot create ${owner}: "per" must be "card" or "cardholder", got ${JSON.stringify(scope)}`,
    );
  }
  checkWindow(options.window, owner);
  const categories = options.categories && merchantCategorySet(options.categories, owner);
  const categoriesName = categories ? [...categories.categories].sort().join("+") : "*";
  const { window } = options;
  const perMerchant = options.perMerchant ?? false;
  if (typeof perMerchant !== "boolean") {
    throw new TypeError(`Cannot create ${owner}: "perMerchant" must be true or false`);
  }
  return (authorization, now, currency) => {
    if (categories && categories.match(authorization.merchant_data) === undefined) return undefined;
    const owned = scope === "card"
      ? authorization.card.id
      : authorization.card.cardholder?.id ?? "none";
    const scopeId = perMerchant ? `${owned}@${authorization.merchant_data.network_id}` : owned;
    return counterRef({ scope, scopeId, window, currency, categories: categoriesName }, now);
  };
}
