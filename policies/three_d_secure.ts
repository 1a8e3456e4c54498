import { closedSet } from "../lib/engine/closed_set.ts";
import { abstain, decline, type Policy, withConfig } from "../lib/engine/policy.ts";
import { REASON_CODES } from "./reason_codes.ts";

/** `verification_data.three_d_secure.result` values (stripe-node 23.1.0). */
const RESULTS = ["attempt_acknowledged", "authenticated", "failed", "required"] as const;
/** `verification_data.authentication_exemption.type` values. */
const EXEMPTIONS = ["low_value_transaction", "transaction_risk_analysis", "unknown"] as const;
type ThreeDSecureResult = typeof RESULTS[number];
type ExemptionType = typeof EXEMPTIONS[number];

/** Options of {@linkcode threeDSecure}. */
export interface ThreeDSecureOptions {
  /** `verification_data.three_d_secure.result` values to decline, e.g. `["failed"]`. */
  readonly declineResults?: readonly ThreeDSecureResult[];
  /**
   * `verification_data.authentication_exemption.type` values to decline when
   * the acquirer claimed them (`claimed_by: "acquirer"`), e.g.
   * `["transaction_risk_analysis"]`: the merchant skipped 3-D Secure on its
   * own judgement. Exemptions the issuer claimed are left alone.
   */
  readonly declineAcquirerExemptions?: readonly ExemptionType[];
}

/**
 * Declines on the 3-D Secure outcome: `three_d_secure_failed:<result>` for a
 * listed `three_d_secure.result`, and
 * `authentication_exemption_not_allowed:<type>` for an exemption the
 * acquirer claimed. Requests without 3-D Secure data are left alone.
 *
 * @example
 * ```ts
 * import { threeDSecure } from "./three_d_secure.ts";
 * import { authorizationEvent, authorizationOf } from "../fixtures/events.ts";
 * import { deepEqual } from "node:assert/strict";
 * const policy = threeDSecure({ declineResults: ["failed"], declineAcquirerExemptions: ["transaction_risk_analysis"] });
 * const context = { now: new Date(), signal: AbortSignal.abort(), usage: () => ({ amount: 0, count: 0 }), held: { amount: 0, requests: 0 } };
 * const failed = authorizationOf(authorizationEvent("online", { verification_data: { three_d_secure: { result: "failed" } } }));
 * deepEqual(policy(failed, context), { outcome: "decline", code: "three_d_secure_failed", detail: "failed" });
 * ```
 */
export function threeDSecure(options: ThreeDSecureOptions): Policy {
  const results = closedSet(options?.declineResults, RESULTS, "threeDSecure", "declineResults");
  const exemptions = closedSet(
    options?.declineAcquirerExemptions,
    EXEMPTIONS,
    "threeDSecure",
    "declineAcquirerExemptions",
  );
  if (results.size + exemptions.size === 0) {
    throw new RangeError(
      `Cannot create threeDSecure: give "declineResults" or "declineAcquirerExemptions"`,
    );
  }
  return withConfig(function threeDSecure({ verification_data: data }) {
    const result = data.three_d_secure?.result;
    if (result !== undefined && results.has(result as ThreeDSecureResult)) {
      return decline(REASON_CODES.threeDSecureFailed, result);
    }
    const exemption = data.authentication_exemption;
    if (exemption?.claimed_by === "acquirer" && exemptions.has(exemption.type as ExemptionType)) {
      return decline(REASON_CODES.authenticationExemptionNotAllowed, exemption.type);
    }
    return abstain();
  }, options);
}
