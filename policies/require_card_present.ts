import { abstain, decline, type Policy, withConfig } from "../lib/engine/policy.ts";
import { REASON_CODES } from "./reason_codes.ts";

/**
 * Declines `card_not_present:<card_presence>` unless the card was at the
 * point of sale (`card_presence: "present"`): no online, phone or mail-order
 * purchases. A request whose `card_presence` is unknown (`null`) is declined
 * `card_not_present:unknown`. Scope it with `when()`, e.g. to physical cards
 * used for fuel only.
 *
 * @example
 * ```ts
 * import { requireCardPresent } from "./require_card_present.ts";
 * import { authorizationEvent, authorizationOf } from "../fixtures/events.ts";
 * import { deepEqual } from "node:assert/strict";
 * const policy = requireCardPresent();
 * const context = { now: new Date(), signal: AbortSignal.abort(), usage: () => ({ amount: 0, count: 0 }), held: { amount: 0, requests: 0 } };
 * deepEqual(policy(authorizationOf(authorizationEvent("online")), context), {
 *   outcome: "decline", code: "card_not_present", detail: "not_present",
 * });
 * deepEqual(policy(authorizationOf(authorizationEvent("fuel")), context), { outcome: "abstain" });
 * ```
 */
export function requireCardPresent(): Policy {
  return withConfig(function requireCardPresent({ card_presence: presence }) {
    return presence === "present"
      ? abstain()
      : decline(REASON_CODES.cardNotPresent, presence ?? "unknown");
  }, null);
}
