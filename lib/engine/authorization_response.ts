/**
 * The webhook's answer to `issuing_authorization.request`, as Stripe accepts
 * it: `{ approved, amount?, metadata?, send_fraud_challenges? }`
 * (docs.stripe.com/issuing/controls/real-time-authorizations).
 *
 * @module
 */
import { type Decision, formatReason } from "./decide.ts";
import type { FraudChallengeChannel } from "./policy.ts";

/** Stripe's metadata limits: keys, key length, value length. */
export const METADATA_MAX_KEYS = 50;
export const METADATA_MAX_KEY_LENGTH = 40;
export const METADATA_MAX_VALUE_LENGTH = 500;

/** The JSON body Stripe reads from the webhook response. */
export interface AuthorizationResponseBody {
  readonly approved: boolean;
  /** Amount to hold (minor units); only for amount-controllable requests. */
  readonly amount?: number;
  readonly metadata?: Readonly<Record<string, string>>;
  /**
   * Public preview: on a decline, `["sms"]` asks Stripe to text the
   * cardholder a fraud challenge. Stripe's fraud challenges guide
   * (docs.stripe.com/issuing/controls/fraud-challenges, "Trigger fraud
   * challenges yourself"): "decline the issuing_authorization.request webhook
   * and include the send_fraud_challenges field with the ["sms"] value". Not in
   * stripe-node 23.1.0's types, which only describe the outcome
   * (`Issuing.Authorization.fraud_challenges`, `verified_by_fraud_challenge`).
   */
  readonly send_fraud_challenges?: readonly FraudChallengeChannel[];
}

/**
 * The decision as Stripe metadata: `policy_version`, then `reason_1` … one per
 * reason as `code:detail (policy)`. Keys are fixed and short; values are cut
 * to Stripe's 500 characters and reasons past the 50-key limit are counted in
 * the last one, so building metadata never fails.
 *
 * @example
 * ```ts
 * import { decisionMetadata } from "./authorization_response.ts";
 * import { deepEqual } from "node:assert/strict";
 * const metadata = decisionMetadata({
 *   approved: false, trace: [], policyVersion: "3f2a9c1b7d4e",
 *   reasons: [{ policy: "blockCategories", code: "mcc_blocked", detail: "betting_casino_gambling" }],
 * });
 * deepEqual(metadata, { policy_version: "3f2a9c1b7d4e", reason_1: "mcc_blocked:betting_casino_gambling (blockCategories)" });
 * ```
 */
export function decisionMetadata(decision: Decision): Record<string, string> {
  const metadata: Record<string, string> = {
    policy_version: truncate(decision.policyVersion),
  };
  const { reasons } = decision;
  const slots = METADATA_MAX_KEYS - 1;
  for (let i = 0; i < reasons.length && i < slots; i++) {
    const overflow = reasons.length - slots;
    // Joined, not templates: no rope in the answer and its record (see `formatReason`).
    metadata[`reason_${i + 1}`] = i === slots - 1 && overflow > 0
      ? ["and", String(overflow + 1), "more reasons"].join(" ")
      : truncate([formatReason(reasons[i]), " (", reasons[i].policy, ")"].join(""));
  }
  return metadata;
}

/**
 * The response body for a decision. `amount` appears only when the request is
 * amount-controllable and the decision holds less than requested; it is then
 * positive, at most the request's amount (on an increment: the increment) and
 * never below the request's cashback, which Stripe does not let us approve
 * partially. `createDecide` guarantees all of it; the check here is a last
 * guard for a `Decision` built some other way, because Stripe rejects such an
 * answer (`webhook_error`): an approval that cannot be answered as is becomes
 * a decline. `send_fraud_challenges` appears only on a decline that
 * asked for one.
 *
 * @example
 * ```ts
 * import { authorizationResponseBody } from "./authorization_response.ts";
 * import { deepEqual } from "node:assert/strict";
 * const limited = { approved: true, amount: 10_000, reasons: [], trace: [], policyVersion: "dev" };
 * deepEqual(
 *   authorizationResponseBody(limited, { amount: 25_000, is_amount_controllable: true }),
 *   { approved: true, amount: 10_000, metadata: { policy_version: "dev" } },
 * );
 * // 100.00 of a 150.00 request that includes 120.00 cashback cannot be answered.
 * const cashback = { amount: 15_000, is_amount_controllable: true, amount_details: { atm_fee: null, cashback_amount: 12_000 } };
 * deepEqual(authorizationResponseBody(limited, cashback).approved, false);
 * ```
 */
export function authorizationResponseBody(
  decision: Decision,
  request: {
    readonly amount: number;
    readonly is_amount_controllable: boolean;
    readonly amount_details?: { readonly cashback_amount: number | null } | null;
  },
): AuthorizationResponseBody {
  const metadata = decisionMetadata(decision);
  const { approved, amount, sendFraudChallenges } = decision;
  if (!approved) {
    return sendFraudChallenges?.length
      ? { approved, metadata, send_fraud_challenges: sendFraudChallenges }
      : { approved, metadata };
  }
  if (amount === undefined || amount >= request.amount) return { approved, metadata };
  const cashback = request.amount_details?.cashback_amount ?? 0;
  return request.is_amount_controllable && Number.isSafeInteger(amount) && amount > 0 &&
      amount >= cashback
    ? { approved, amount, metadata }
    : { approved: false, metadata };
}

function truncate(value: string): string {
  if (value.length <= METADATA_MAX_VALUE_LENGTH) return value;
  let cut = value.slice(0, METADATA_MAX_VALUE_LENGTH - 1);
  // Never leave half a surrogate pair behind.
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return [cut, "…"].join("");
}
