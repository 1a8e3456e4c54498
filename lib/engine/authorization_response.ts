/**
 * The webhook's answer to `issuing_authorization.request`, as Stripe accepts
 * it: `{ approved, amount?, metadata? }` (docs.stripe.com/issuing/controls/real-time-authorizations).
 *
 * @module
 */
import { type Decision, formatReason } from "./decide.ts";

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
 * decisionMetadata({
 *   approved: false, trace: [], policyVersion: "3f2a9c1b7d4e",
 *   reasons: [{ policy: "blockCategories", code: "mcc_blocked", detail: "betting_casino_gambling" }],
 * });
 * // → { policy_version: "3f2a9c1b7d4e", reason_1: "mcc_blocked:betting_casino_gambling (blockCategories)" }
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
    metadata[`reason_${i + 1}`] = i === slots - 1 && overflow > 0
      ? `and ${overflow + 1} more reasons`
      : truncate(`${formatReason(reasons[i])} (${reasons[i].policy})`);
  }
  return metadata;
}

/**
 * The response body for a decision. `amount` appears only when the request is
 * amount-controllable and the decision holds less than requested (the engine
 * guarantees it; checked again here because Stripe rejects it otherwise).
 *
 * @example
 * ```ts
 * import { authorizationResponseBody } from "./authorization_response.ts";
 * const body = authorizationResponseBody(
 *   { approved: true, amount: 10_000, reasons: [], trace: [], policyVersion: "dev" },
 *   { amount: 25_000, is_amount_controllable: true },
 * );
 * // → { approved: true, amount: 10000, metadata: { policy_version: "dev" } }
 * ```
 */
export function authorizationResponseBody(
  decision: Decision,
  request: {
    readonly amount: number;
    readonly is_amount_controllable: boolean;
  },
): AuthorizationResponseBody {
  const metadata = decisionMetadata(decision);
  const { approved, amount } = decision;
  return approved && amount !== undefined && request.is_amount_controllable &&
      amount < request.amount
    ? { approved, amount, metadata }
    : { approved, metadata };
}

function truncate(value: string): string {
  if (value.length <= METADATA_MAX_VALUE_LENGTH) return value;
  let cut = value.slice(0, METADATA_MAX_VALUE_LENGTH - 1);
  // Never leave half a surrogate pair behind.
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}
