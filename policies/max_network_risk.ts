import { abstain, challenge, decline, type Policy, withConfig } from "../lib/engine/policy.ts";
import { REASON_CODES } from "./reason_codes.ts";

/** Options of {@linkcode maxNetworkRisk}. */
export interface MaxNetworkRiskOptions {
  /** Highest acceptable `pending_request.network_risk_score` (the card network's fraud estimate, 1 = least risky, 99 = riskiest). */
  readonly maxScore: number;
  /**
   * Instead of a plain decline, ask Stripe to send the cardholder a fraud
   * challenge by SMS (public preview, see `challenge()`), and let through a
   * retry the cardholder confirmed (`verified_by_fraud_challenge: true`).
   */
  readonly challenge?: boolean;
}

/**
 * Declines `network_risk_high:<score>` when the card network's risk score for
 * the request is above `maxScore`. Requests without a score are left alone.
 *
 * @example
 * ```ts
 * import { maxNetworkRisk } from "./max_network_risk.ts";
 * import { authorizationEvent, authorizationOf } from "../fixtures/events.ts";
 * import { deepEqual } from "node:assert/strict";
 * const policy = maxNetworkRisk({ maxScore: 75 });
 * const context = { now: new Date("2026-11-25T12:00:00Z"), signal: AbortSignal.abort(), usage: () => ({ amount: 0, count: 0 }), held: { amount: 0, requests: 0 } };
 * const risky = authorizationOf(authorizationEvent("online", { pending_request: { network_risk_score: 80 } }));
 * deepEqual(policy(risky, context), { outcome: "decline", code: "network_risk_high", detail: "80" });
 * // With challenge: true, the decline asks Stripe to text the cardholder, and a confirmed retry passes.
 * const challenging = maxNetworkRisk({ maxScore: 75, challenge: true });
 * deepEqual(challenging(risky, context), {
 *   outcome: "decline", code: "network_risk_high", detail: "80", fraudChallenge: "sms",
 * });
 * const confirmed = authorizationOf(authorizationEvent("online", {
 *   pending_request: { network_risk_score: 80 }, verified_by_fraud_challenge: true,
 * }));
 * deepEqual(challenging(confirmed, context), { outcome: "abstain" });
 * ```
 */
export function maxNetworkRisk(options: MaxNetworkRiskOptions): Policy {
  const { maxScore, challenge: challenges = false } = options;
  if (!Number.isInteger(maxScore) || maxScore < 0 || maxScore > 99) {
    throw new RangeError(
      `Cannot create maxNetworkRisk: "maxScore" must be an integer from 0 to 99, got ${maxScore}`,
    );
  }
  if (typeof challenges !== "boolean") {
    throw new TypeError(`Cannot create maxNetworkRisk: "challenge" must be true or false`);
  }
  return withConfig(function maxNetworkRisk(authorization) {
    const score = authorization.pending_request.network_risk_score;
    if (score === null || score <= maxScore) return abstain();
    if (!challenges) return decline(REASON_CODES.networkRiskHigh, String(score));
    return authorization.verified_by_fraud_challenge
      ? abstain()
      : challenge(REASON_CODES.networkRiskHigh, String(score));
  }, options);
}
