import { abstain, decline, type Policy, withConfig } from "../lib/engine/policy.ts";
import { REASON_CODES } from "./reason_codes.ts";

/** Options of {@linkcode maxNetworkRisk}. */
export interface MaxNetworkRiskOptions {
  /** Highest acceptable `pending_request.network_risk_score` (the card network's fraud estimate, 1 = least risky, 99 = riskiest). */
  readonly maxScore: number;
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
 * ```
 */
export function maxNetworkRisk({ maxScore }: MaxNetworkRiskOptions): Policy {
  if (!Number.isInteger(maxScore) || maxScore < 0 || maxScore > 99) {
    throw new RangeError(
      `Cannot create maxNetworkRisk: "maxScore" must be an integer from 0 to 99, got ${maxScore}`,
    );
  }
  return withConfig(function maxNetworkRisk({ pending_request: { network_risk_score: score } }) {
    return score !== null && score > maxScore
      ? decline(REASON_CODES.networkRiskHigh, String(score))
      : abstain();
  }, { maxScore });
}
