/**
 * The reason codes policies give: one table. Add yours here when you write a
 * policy; `decline()` and `limit()` accept exactly these codes (and the
 * engine's), so a typo is a type error and reports can list every code.
 *
 * @module
 */

/** Reason codes by name. */
export const REASON_CODES = {
  amountOverCap: "amount_over_cap",
  currencyNotAllowed: "currency_not_allowed",
  mccBlocked: "mcc_blocked",
  mccNotAllowed: "mcc_not_allowed",
  countryBlocked: "country_blocked",
  countryNotAllowed: "country_not_allowed",
  partialHold: "partial_hold",
  networkRiskHigh: "network_risk_high",
  spendLimitExceeded: "spend_limit_exceeded",
  countLimitExceeded: "count_limit_exceeded",
  verificationFailed: "verification_failed",
  threeDSecureFailed: "three_d_secure_failed",
  authenticationExemptionNotAllowed: "authentication_exemption_not_allowed",
  authorizationMethodBlocked: "authorization_method_blocked",
  cardNotPresent: "card_not_present",
  walletNotAllowed: "wallet_not_allowed",
  merchantBlocked: "merchant_blocked",
  merchantNotAllowed: "merchant_not_allowed",
  outsideAllowedTimes: "outside_allowed_times",
  newCardLimit: "new_card_limit",
  cashbackOverLimit: "cashback_over_limit",
  atmFeeOverLimit: "atm_fee_over_limit",
  atmWithdrawalOverLimit: "atm_withdrawal_over_limit",
} as const;

/** Any policy reason code. */
export type PolicyReasonCode = typeof REASON_CODES[keyof typeof REASON_CODES];

// Registers the table with the engine: `ReasonCode` (what `decline()` and
// `limit()` take) is the union of every registered table.
declare module "../lib/engine/policy.ts" {
  interface ReasonCodeRegistry {
    policies: typeof REASON_CODES;
  }
}
