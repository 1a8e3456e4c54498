import { closedSet } from "../lib/engine/closed_set.ts";
import { abstain, decline, type Policy, withConfig } from "../lib/engine/policy.ts";
import { REASON_CODES } from "./reason_codes.ts";

/**
 * The ways a card can be presented: through a digital wallet (`wallet`,
 * stripe-node 23.1.0: `apple_pay`, `google_pay`, `samsung_pay`), or `none`
 * for the card itself (its number or the physical card).
 */
export const WALLETS = ["apple_pay", "google_pay", "samsung_pay", "none"] as const;

/** One of {@linkcode WALLETS}. */
export type Wallet = typeof WALLETS[number];

/**
 * Declines `wallet_not_allowed:<wallet>` unless the request came through one
 * of the given wallets (a network token in a phone's wallet); `none` admits
 * requests made with the card itself. For example `["apple_pay",
 * "google_pay"]` admits only tokenized phone payments.
 *
 * @example
 * ```ts
 * import { allowWallets } from "./allow_wallets.ts";
 * import { authorizationEvent, authorizationOf } from "../fixtures/events.ts";
 * import { deepEqual } from "node:assert/strict";
 * const policy = allowWallets(["apple_pay", "google_pay"]);
 * const context = { now: new Date(), signal: AbortSignal.abort(), usage: () => ({ amount: 0, count: 0 }), held: { amount: 0, requests: 0 } };
 * const phone = authorizationOf(authorizationEvent("online", { wallet: "apple_pay", token: "intok_1Q2w3E" }));
 * deepEqual(policy(phone, context), { outcome: "abstain" });
 * deepEqual(policy(authorizationOf(authorizationEvent("online")), context), {
 *   outcome: "decline", code: "wallet_not_allowed", detail: "none",
 * });
 * ```
 */
export function allowWallets(wallets: readonly Wallet[]): Policy {
  const allowed = closedSet(wallets, WALLETS, "allowWallets", "wallets");
  if (allowed.size === 0) {
    throw new RangeError(`Cannot create allowWallets: expected at least one wallet (or "none")`);
  }
  return withConfig(function allowWallets({ wallet }) {
    const used = wallet ?? "none";
    return allowed.has(used as Wallet) ? abstain() : decline(REASON_CODES.walletNotAllowed, used);
  }, wallets);
}
