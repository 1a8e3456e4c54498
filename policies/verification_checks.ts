import type Stripe from "stripe";
import { abstain, decline, type Policy, withConfig } from "../lib/engine/policy.ts";
import { REASON_CODES } from "./reason_codes.ts";

type VerificationData = Stripe.Issuing.Authorization.VerificationData;

/** The card-verification checks of `verification_data`, by their Stripe field names. */
export type VerificationCheck =
  | "cvc_check"
  | "expiry_check"
  | "address_line1_check"
  | "address_postal_code_check";

/** A check's result: `match`, `mismatch` or `not_provided`. */
export type VerificationResult = "match" | "mismatch" | "not_provided";

/** For each check, the results to decline. */
export type VerificationChecksOptions = Partial<
  Record<VerificationCheck, readonly Exclude<VerificationResult, "match">[]>
>;

const CHECKS: readonly VerificationCheck[] = [
  "cvc_check",
  "expiry_check",
  "address_line1_check",
  "address_postal_code_check",
];
const RESULTS = new Set(["mismatch", "not_provided"]);

/**
 * Declines `verification_failed:<check>:<result>` when a card-verification
 * check of `verification_data` came out as configured, e.g. a CVC or expiry
 * `mismatch`. Stripe's advice: a mismatch is usually a good reason to
 * decline, `not_provided` alone is not (legitimate requests often lack it),
 * so decline `not_provided` only where you require the data, e.g. with
 * `when()` on online purchases (docs.stripe.com/issuing/controls/fraud-protection).
 *
 * @example
 * ```ts
 * import { verificationChecks } from "./verification_checks.ts";
 * import { authorizationEvent, authorizationOf } from "../fixtures/events.ts";
 * import { deepEqual } from "node:assert/strict";
 * const policy = verificationChecks({ cvc_check: ["mismatch"], address_postal_code_check: ["mismatch"] });
 * const context = { now: new Date(), signal: AbortSignal.abort(), usage: () => ({ amount: 0, count: 0 }), held: { amount: 0, requests: 0 } };
 * const wrongCvc = authorizationOf(authorizationEvent("online", { verification_data: { cvc_check: "mismatch" } }));
 * deepEqual(policy(wrongCvc, context), { outcome: "decline", code: "verification_failed", detail: "cvc_check:mismatch" });
 * deepEqual(policy(authorizationOf(authorizationEvent()), context), { outcome: "abstain" });
 * ```
 */
export function verificationChecks(options: VerificationChecksOptions): Policy {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Cannot create verificationChecks: expected results to decline per check, e.g. { cvc_check: ["mismatch"] }`,
    );
  }
  const declined: [VerificationCheck, ReadonlySet<string>][] = [];
  for (const [check, results] of Object.entries(options)) {
    if (!CHECKS.includes(check as VerificationCheck)) {
      throw new RangeError(
        `Cannot create verificationChecks: unknown check ${JSON.stringify(check)} (expected ${
          CHECKS.join(", ")
        })`,
      );
    }
    if (!Array.isArray(results) || results.some((result) => !RESULTS.has(result))) {
      throw new RangeError(
        `Cannot create verificationChecks: "${check}" must list "mismatch" and/or "not_provided", got ${
          JSON.stringify(results)
        }`,
      );
    }
    if (results.length > 0) declined.push([check as VerificationCheck, new Set(results)]);
  }
  if (declined.length === 0) {
    throw new RangeError(
      `Cannot create verificationChecks: no check configured, it would never decline`,
    );
  }
  return withConfig(function verificationChecks({ verification_data: data }) {
    for (const [check, results] of declined) {
      const result = (data as VerificationData)[check];
      if (results.has(result)) {
        return decline(REASON_CODES.verificationFailed, `${check}:${result}`);
      }
    }
    return abstain();
  }, options);
}
