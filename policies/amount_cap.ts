import { type CurrencyAmounts, currencyAmounts } from "../lib/engine/currency_amounts.ts";
import { abstain, decline, limit, type Policy, withConfig } from "../lib/engine/policy.ts";
import { REASON_CODES } from "./reason_codes.ts";

/**
 * Caps `pending_request.amount` per currency (minor units). Over the cap, an
 * amount-controllable request is limited to the cap and any other request is
 * declined `amount_over_cap`; a currency with no cap declines
 * `currency_not_allowed`.
 *
 * @param maxAmountByCurrency The cap for each allowed currency, e.g. `{ usd: 100_000 }` (1,000.00 USD).
 *
 * @example
 * ```ts
 * import { amountCap } from "./amount_cap.ts";
 * const policy = amountCap({ usd: 100_000, eur: 100_000 });
 * // 1,500.00 USD, not controllable → { outcome: "decline", code: "amount_over_cap", detail: "usd" }
 * // 1,500.00 USD, controllable     → { outcome: "limit", amount: 100000, code: "amount_over_cap", detail: "usd" }
 * // 10.00 JPY                      → { outcome: "decline", code: "currency_not_allowed", detail: "jpy" }
 * ```
 */
export function amountCap(maxAmountByCurrency: CurrencyAmounts): Policy {
  const caps = currencyAmounts(maxAmountByCurrency, "amountCap");
  return withConfig(function amountCap({ pending_request: request }) {
    const cap = caps.get(request.currency);
    if (cap === undefined) {
      return decline(REASON_CODES.currencyNotAllowed, request.currency);
    }
    if (request.amount <= cap) return abstain();
    return request.is_amount_controllable
      ? limit(cap, REASON_CODES.amountOverCap, request.currency)
      : decline(REASON_CODES.amountOverCap, request.currency);
  }, maxAmountByCurrency);
}
