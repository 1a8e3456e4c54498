import { type CurrencyAmounts, currencyAmounts } from "../lib/engine/currency_amounts.ts";
import { merchantCategorySet } from "../lib/engine/merchant_categories.ts";
import { abstain, decline, limit, type Policy, withConfig } from "../lib/engine/policy.ts";
import { REASON_CODES } from "./reason_codes.ts";

/** Options of {@linkcode cashLimits}; each per currency, in minor units, and optional. */
export interface CashLimitsOptions {
  /** Most cash back at a till (`pending_request.amount_details.cashback_amount`). */
  readonly maxCashback?: CurrencyAmounts;
  /** Highest ATM operator fee accepted (`pending_request.amount_details.atm_fee`). */
  readonly maxAtmFee?: CurrencyAmounts;
  /** Most per ATM withdrawal (merchant category `automated_cash_disburse`, MCC 6011), fee included. */
  readonly maxAtmWithdrawal?: CurrencyAmounts;
}

/**
 * Limits cash: cash back over `maxCashback` is declined
 * `cashback_over_limit:<currency>` (Stripe does not let cash back be
 * partially approved), an ATM fee over `maxAtmFee` is declined
 * `atm_fee_over_limit:<currency>`, and an ATM withdrawal over
 * `maxAtmWithdrawal` is limited to it when amount-controllable, otherwise
 * declined `atm_withdrawal_over_limit:<currency>`. Currencies without a limit
 * are left alone.
 *
 * @example
 * ```ts
 * import { cashLimits } from "./cash_limits.ts";
 * import { authorizationEvent, authorizationOf } from "../fixtures/events.ts";
 * import { deepEqual } from "node:assert/strict";
 * const policy = cashLimits({ maxCashback: { usd: 10_000 }, maxAtmFee: { usd: 500 } });
 * const context = { now: new Date(), signal: AbortSignal.abort(), usage: () => ({ amount: 0, count: 0 }), held: { amount: 0, requests: 0 } };
 * const cashback = authorizationOf(authorizationEvent("online", {
 *   pending_request: { amount: 20_000, amount_details: { cashback_amount: 15_000, atm_fee: null } },
 * }));
 * deepEqual(policy(cashback, context), { outcome: "decline", code: "cashback_over_limit", detail: "usd" });
 * ```
 */
export function cashLimits(options: CashLimitsOptions): Policy {
  const { maxCashback, maxAtmFee, maxAtmWithdrawal } = options ?? {};
  if (maxCashback === undefined && maxAtmFee === undefined && maxAtmWithdrawal === undefined) {
    throw new RangeError(
      `Cannot create cashLimits: give "maxCashback", "maxAtmFee" or "maxAtmWithdrawal"`,
    );
  }
  const cashbacks = maxCashback && currencyAmounts(maxCashback, "cashLimits");
  const fees = maxAtmFee && currencyAmounts(maxAtmFee, "cashLimits");
  const withdrawals = maxAtmWithdrawal && currencyAmounts(maxAtmWithdrawal, "cashLimits");
  const atm = merchantCategorySet(["automated_cash_disburse"], "cashLimits");
  return withConfig(function cashLimits({ pending_request: request, merchant_data: merchant }) {
    const { currency, amount } = request;
    const cashback = request.amount_details?.cashback_amount ?? 0;
    const cashbackMax = cashbacks?.get(currency);
    if (cashbackMax !== undefined && cashback > cashbackMax) {
      return decline(REASON_CODES.cashbackOverLimit, currency);
    }
    const fee = request.amount_details?.atm_fee ?? 0;
    const feeMax = fees?.get(currency);
    if (feeMax !== undefined && fee > feeMax) {
      return decline(REASON_CODES.atmFeeOverLimit, currency);
    }
    const withdrawalMax = withdrawals?.get(currency);
    if (withdrawalMax !== undefined && amount > withdrawalMax && atm.match(merchant)) {
      return request.is_amount_controllable
        ? limit(withdrawalMax, REASON_CODES.atmWithdrawalOverLimit, currency)
        : decline(REASON_CODES.atmWithdrawalOverLimit, currency);
    }
    return abstain();
  }, options);
}
