import { type CurrencyAmounts, currencyAmounts } from "../lib/engine/currency_amounts.ts";
import { abstain, decline, limitOrDecline, type Policy, withConfig } from "../lib/engine/policy.ts";
import { REASON_CODES } from "./reason_codes.ts";

/** Options of {@linkcode amountCap}. */
export interface AmountCapOptions {
  /**
   * What the cap bounds. `authorization` (the default, as Stripe's
   * `per_authorization` spending limit): the authorization's total, i.e. what
   * its earlier approved requests hold (`context.held`) plus this request, so
   * incremental authorizations cannot pass it one increment at a time.
   * `request`: each request on its own (`pending_request.amount`, on an
   * increment only the additional amount).
   */
  readonly per?: "authorization" | "request";
}

/**
 * Caps authorizations per currency (minor units). When a request would take
 * the authorization past the cap, an amount-controllable request is limited
 * to what is left under it and any other request is declined
 * `amount_over_cap:<currency>`; a currency with no cap declines
 * `currency_not_allowed:<currency>`. `pending_request.currency` is the card's
 * currency (a purchase abroad arrives as `usd` with `merchant_currency: eur`),
 * so caps are per card currency, and a card issued in a currency without a
 * cap is declined.
 *
 * @param maxAmountByCurrency The cap for each allowed currency, e.g. `{ usd: 100_000 }` (1,000.00 USD).
 *
 * @example
 * ```ts
 * import { amountCap } from "./amount_cap.ts";
 * import { authorizationOf, authorizationEvent } from "../fixtures/events.ts";
 * import { deepEqual } from "node:assert/strict";
 * const policy = amountCap({ usd: 100_000 });
 * const context = { now: new Date(), signal: AbortSignal.abort(), usage: () => ({ amount: 0, count: 0 }) };
 * const request = (amount: number, is_amount_controllable = false) =>
 *   authorizationOf(authorizationEvent("online", { pending_request: { amount, is_amount_controllable } }));
 * const first = { amount: 0, requests: 0 };
 * deepEqual(policy(request(150_000), { ...context, held: first }), {
 *   outcome: "decline", code: "amount_over_cap", detail: "usd",
 * });
 * // An increment of 300.00 on an authorization that already holds 900.00: 100.00 is left.
 * deepEqual(policy(request(30_000, true), { ...context, held: { amount: 90_000, requests: 1 } }), {
 *   outcome: "limit", amount: 10_000, code: "amount_over_cap", detail: "usd",
 * });
 * ```
 */
export function amountCap(
  maxAmountByCurrency: CurrencyAmounts,
  options: AmountCapOptions = {},
): Policy {
  const caps = currencyAmounts(maxAmountByCurrency, "amountCap");
  const per = options.per ?? "authorization";
  if (per !== "authorization" && per !== "request") {
    throw new RangeError(
      `Cannot create amountCap: "per" must be "authorization" or "request", got ${
        JSON.stringify(per)
      }`,
    );
  }
  const config = options.per === undefined ? maxAmountByCurrency : { maxAmountByCurrency, per };
  return withConfig(function amountCap({ pending_request: request }, { held }) {
    const cap = caps.get(request.currency);
    if (cap === undefined) {
      return decline(REASON_CODES.currencyNotAllowed, request.currency);
    }
    const left = per === "authorization" ? cap - held.amount : cap;
    if (request.amount <= left) return abstain();
    return limitOrDecline(request, left, REASON_CODES.amountOverCap, request.currency);
  }, config);
}
