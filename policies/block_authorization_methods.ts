import { closedSet } from "../lib/engine/closed_set.ts";
import { abstain, decline, type Policy, withConfig } from "../lib/engine/policy.ts";
import { REASON_CODES } from "./reason_codes.ts";

/** How the card details were provided: `authorization_method` (stripe-node 23.1.0). */
export const AUTHORIZATION_METHODS = [
  "chip",
  "contactless",
  "keyed_in",
  "online",
  "swipe",
] as const;

/** One of {@linkcode AUTHORIZATION_METHODS}. */
export type AuthorizationMethod = typeof AUTHORIZATION_METHODS[number];

/**
 * Declines `authorization_method_blocked:<method>` when the card details were
 * provided in one of the given ways, e.g. `keyed_in` (typed into a terminal)
 * or `swipe` (magnetic stripe, easily cloned).
 *
 * @example
 * ```ts
 * import { blockAuthorizationMethods } from "./block_authorization_methods.ts";
 * import { authorizationEvent, authorizationOf } from "../fixtures/events.ts";
 * import { deepEqual } from "node:assert/strict";
 * const policy = blockAuthorizationMethods(["keyed_in", "swipe"]);
 * const context = { now: new Date(), signal: AbortSignal.abort(), usage: () => ({ amount: 0, count: 0 }), held: { amount: 0, requests: 0 } };
 * const swiped = authorizationOf(authorizationEvent("fuel", { authorization_method: "swipe" }));
 * deepEqual(policy(swiped, context), { outcome: "decline", code: "authorization_method_blocked", detail: "swipe" });
 * ```
 */
export function blockAuthorizationMethods(methods: readonly AuthorizationMethod[]): Policy {
  const blocked = closedSet(methods, AUTHORIZATION_METHODS, "blockAuthorizationMethods", "methods");
  if (blocked.size === 0) {
    throw new RangeError(`Cannot create blockAuthorizationMethods: expected at least one method`);
  }
  return withConfig(function blockAuthorizationMethods({ authorization_method: method }) {
    return blocked.has(method as AuthorizationMethod)
      ? decline(REASON_CODES.authorizationMethodBlocked, method)
      : abstain();
  }, methods);
}
