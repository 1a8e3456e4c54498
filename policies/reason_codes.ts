/**
 * The reason codes the bundled policies give. Add yours here when you write a
 * policy, so reports and dashboards can list every code.
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
} as const;

/** Any bundled reason code. */
export type ReasonCode = typeof REASON_CODES[keyof typeof REASON_CODES];
