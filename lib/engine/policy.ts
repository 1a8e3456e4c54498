/**
 * The vocabulary shared by policies and the engine: what a policy receives,
 * what it may answer, and the helpers that build those answers.
 *
 * @module
 */
import type Stripe from "stripe";
import type { CounterRef, UsageReader } from "./velocity.ts";

/** An Issuing authorization as Stripe sends it in `issuing_authorization.request`. */
export type Authorization = Stripe.Issuing.Authorization;

/** The request being decided: `authorization.pending_request`, never null here. */
export type PendingRequest = NonNullable<Authorization["pending_request"]>;

/** An authorization whose `pending_request` is present, as every request to decide has. */
export type AuthorizationRequest = Authorization & {
  pending_request: PendingRequest;
};

/**
 * What the engine hands every policy besides the authorization. Policies are
 * pure: the clock and any state arrive here, never from `Date.now()` or I/O of
 * their own, so the same authorization and context always give the same verdict.
 */
export interface PolicyContext {
  /** When the request arrived (the engine's clock), for time windows. */
  readonly now: Date;
  /** Aborted when the decision budget runs out; async policies should stop then. */
  readonly signal: AbortSignal;
  /** Current usage of a counter (read from Deno KV before the pipeline runs). */
  readonly usage: UsageReader;
  /**
   * What this authorization already holds from its earlier approved requests:
   * nothing on a first request; on an incremental authorization (a further
   * `issuing_authorization.request` on the same `iauth_…`) the amounts
   * approved before this one, while `pending_request.amount` is only the
   * additional amount.
   */
  readonly held: Held;
}

/** Amount (minor units of the card's currency) and number of an authorization's approved requests. */
export interface Held {
  readonly amount: number;
  readonly requests: number;
}

/** What a first request's authorization holds. */
export const NOTHING_HELD: Held = Object.freeze({ amount: 0, requests: 0 });

/**
 * Whether approving `amount` adds an approval to the velocity counts: an
 * authorization counts once, from its first request that holds an amount, so
 * neither an increment on one that holds an amount nor a 0.00 status check
 * does. The store reserves by this rule and `countLimit` decides by it.
 *
 * @example
 * ```ts
 * import { addsApproval, NOTHING_HELD } from "./policy.ts";
 * import { equal } from "node:assert/strict";
 * equal(addsApproval(5_000, NOTHING_HELD), true);
 * equal(addsApproval(0, NOTHING_HELD), false);
 * equal(addsApproval(2_000, { amount: 5_000, requests: 1 }), false);
 * ```
 */
export function addsApproval(amount: number, held: Held): boolean {
  return amount > 0 && held.amount === 0;
}

/**
 * Where reason codes are declared. The engine registers its own codes here;
 * `policies/reason_codes.ts` registers the policies' table by module
 * augmentation, so a code added to that one table is accepted by
 * {@linkcode decline} and {@linkcode limit} everywhere and a typo is a type
 * error:
 *
 * ```ts ignore
 * declare module "../lib/engine/policy.ts" {
 *   interface ReasonCodeRegistry {
 *     policies: typeof REASON_CODES;
 *   }
 * }
 * ```
 */
export interface ReasonCodeRegistry {
  engine: typeof ENGINE_REASON_CODES;
}

/** Any registered reason code, e.g. `mcc_blocked`. */
export type ReasonCode = {
  [Table in keyof ReasonCodeRegistry]: ReasonCodeRegistry[Table][keyof ReasonCodeRegistry[Table]];
}[keyof ReasonCodeRegistry];

/** Reason codes the engine itself gives when it composes verdicts (policies bring their own). */
export const ENGINE_REASON_CODES = {
  fallback: "fallback",
  limitNotPositive: "limit_not_positive",
  limitNotAmountControllable: "limit_not_amount_controllable",
  limitBelowCashback: "limit_below_cashback",
} as const;

/** The only fraud challenge channel Stripe offers: a text message to the cardholder's phone. */
export type FraudChallengeChannel = "sms";

/**
 * A policy's answer: no objection (`abstain`), decline, or limit the amount.
 * There is no "approve": a request is approved when nothing objects, and a
 * policy that should not apply to some requests is scoped with `when()`
 * instead of being overruled by another policy.
 */
export type Verdict =
  | { readonly outcome: "abstain" }
  | {
    readonly outcome: "decline";
    /**
     * Reason code, snake_case, e.g. `mcc_blocked`: a registered
     * {@linkcode ReasonCode} when made with {@linkcode decline}. Typed as a
     * string because verdicts are also read back from the decision log,
     * where codes of older policy versions live on.
     */
    readonly code: string;
    /** What exactly triggered it, e.g. `betting_casino_gambling`. */
    readonly detail?: string;
    /**
     * Ask Stripe to send the cardholder a fraud challenge (public preview):
     * the decline is answered with `send_fraud_challenges: ["sms"]`, and if
     * the cardholder confirms the purchase, the retry arrives with
     * `verified_by_fraud_challenge: true`. See {@linkcode challenge}.
     */
    readonly fraudChallenge?: FraudChallengeChannel;
  }
  | {
    readonly outcome: "limit";
    /** The most to approve for this request, in the request currency's minor units. */
    readonly amount: number;
    readonly code: string;
    readonly detail?: string;
  };

/**
 * A policy: a function of the authorization and the context. Give it a name
 * (`return function amountCap(...) {...}`): traces and reasons use it.
 */
export type Policy = (
  authorization: AuthorizationRequest,
  context: PolicyContext,
) => Verdict | Promise<Verdict>;

/**
 * A policy that limits spending over time declares the counters it reads, so
 * the engine can read them before the pipeline runs and reserve an approval
 * in them atomically afterwards. Return no counter for a request it ignores.
 */
export type VelocityPolicy = Policy & {
  counters(authorization: AuthorizationRequest, now: Date): readonly CounterRef[];
};

/**
 * Attaches the configuration a policy was made with, so the dashboard and
 * `GET /policies` can show the live pipeline. Returns the same function.
 *
 * @example
 * ```ts
 * import { abstain, withConfig } from "./policy.ts";
 * import { deepEqual } from "node:assert/strict";
 * const policy = withConfig(function noop() {
 *   return abstain();
 * }, { note: "does nothing" });
 * deepEqual(policy.config, { note: "does nothing" });
 * ```
 */
export function withConfig<P extends Policy>(
  policy: P,
  config: unknown,
): P & { readonly config: unknown } {
  return Object.assign(policy, { config });
}

/**
 * A velocity policy: the verdict function, the counters it reads (so the
 * engine can read them first and reserve in them after), and its
 * configuration, as {@linkcode withConfig} attaches it.
 *
 * @example
 * ```ts
 * import { abstain, velocityPolicy } from "./policy.ts";
 * import { authorizationEvent, authorizationOf } from "../../fixtures/events.ts";
 * import { deepEqual } from "node:assert/strict";
 * const policy = velocityPolicy(function never() {
 *   return abstain();
 * }, () => [], { note: "reads no counter" });
 * deepEqual(policy.counters(authorizationOf(authorizationEvent()), new Date()), []);
 * ```
 */
export function velocityPolicy(
  policy: Policy,
  counters: VelocityPolicy["counters"],
  config: unknown,
): VelocityPolicy & { readonly config: unknown } {
  return Object.assign(policy, { counters, config });
}

/**
 * The pipeline as data: each policy's name and configuration (`null` when it
 * was made without {@linkcode withConfig}).
 *
 * @example
 * ```ts
 * import { describePipeline } from "./policy.ts";
 * import { blockCategories } from "../../policies/block_categories.ts";
 * import { deepEqual } from "node:assert/strict";
 * deepEqual(describePipeline([blockCategories(["betting_casino_gambling"]), () => ({ outcome: "abstain" })]), [
 *   { name: "blockCategories", config: ["betting_casino_gambling"] },
 *   { name: "policy_2", config: null },
 * ]);
 * ```
 */
export function describePipeline(policies: readonly Policy[]): { name: string; config: unknown }[] {
  return policies.map((policy, i) => ({
    name: policy.name || `policy_${i + 1}`,
    config: (policy as { config?: unknown }).config ?? null,
  }));
}

const ABSTAIN: Verdict = Object.freeze({ outcome: "abstain" });

/**
 * The verdict of a policy that has no objection to this request.
 *
 * @example
 * ```ts
 * import { abstain } from "./policy.ts";
 * import { deepEqual } from "node:assert/strict";
 * deepEqual(abstain(), { outcome: "abstain" });
 * ```
 */
export function abstain(): Verdict {
  return ABSTAIN;
}

/**
 * A decline with a reason code and an optional detail.
 *
 * @example
 * ```ts
 * import { decline } from "./policy.ts";
 * import "../../policies/reason_codes.ts";
 * import { deepEqual } from "node:assert/strict";
 * deepEqual(decline("mcc_blocked", "betting_casino_gambling"), {
 *   outcome: "decline",
 *   code: "mcc_blocked",
 *   detail: "betting_casino_gambling",
 * });
 * ```
 */
export function decline(code: ReasonCode, detail?: string): Verdict {
  return detail === undefined ? { outcome: "decline", code } : { outcome: "decline", code, detail };
}

/**
 * A decline that also asks Stripe to send the cardholder a fraud challenge by
 * SMS (Stripe's `send_fraud_challenges` webhook response field, in public
 * preview: docs.stripe.com/issuing/controls/fraud-challenges; fraud
 * challenges must be enabled in the Issuing settings). The cardholder can
 * confirm the purchase and retry; the retry carries
 * `verified_by_fraud_challenge: true`, which a policy should let through.
 * The challenge is sent only when every declining policy asks for one: a
 * challenge cannot lift a hard decline.
 *
 * @example
 * ```ts
 * import { challenge } from "./policy.ts";
 * import "../../policies/reason_codes.ts";
 * import { deepEqual } from "node:assert/strict";
 * deepEqual(challenge("network_risk_high", "91"), {
 *   outcome: "decline",
 *   code: "network_risk_high",
 *   detail: "91",
 *   fraudChallenge: "sms",
 * });
 * ```
 */
export function challenge(code: ReasonCode, detail?: string): Verdict {
  return detail === undefined
    ? { outcome: "decline", code, fraudChallenge: "sms" }
    : { outcome: "decline", code, detail, fraudChallenge: "sms" };
}

/**
 * Approve at most `amount` of this request (minor units of the request
 * currency), with a reason. On an incremental request that is at most the
 * increment (`pending_request.amount`), not the authorization's total.
 *
 * @example
 * ```ts
 * import { limit } from "./policy.ts";
 * import "../../policies/reason_codes.ts";
 * import { deepEqual } from "node:assert/strict";
 * deepEqual(limit(10_000, "partial_hold", "automated_fuel_dispensers"), {
 *   outcome: "limit",
 *   amount: 10_000,
 *   code: "partial_hold",
 *   detail: "automated_fuel_dispensers",
 * });
 * ```
 */
export function limit(amount: number, code: ReasonCode, detail?: string): Verdict {
  return detail === undefined
    ? { outcome: "limit", amount, code }
    : { outcome: "limit", amount, code, detail };
}

/**
 * A request over a limit of which `left` is unused: approved for `left`
 * where the answer may approve part of it
 * (`pending_request.is_amount_controllable`) and something is left, else
 * declined; for one reason either way.
 *
 * @example
 * ```ts
 * import { limitOrDecline } from "./policy.ts";
 * import "../../policies/reason_codes.ts";
 * import { deepEqual, equal } from "node:assert/strict";
 * const fuel = { is_amount_controllable: true };
 * deepEqual(limitOrDecline(fuel, 2_000, "amount_over_cap", "usd"), {
 *   outcome: "limit",
 *   amount: 2_000,
 *   code: "amount_over_cap",
 *   detail: "usd",
 * });
 * equal(limitOrDecline(fuel, 0, "amount_over_cap", "usd").outcome, "decline");
 * equal(limitOrDecline({ is_amount_controllable: false }, 2_000, "amount_over_cap").outcome, "decline");
 * ```
 */
export function limitOrDecline(
  request: Pick<AuthorizationRequest["pending_request"], "is_amount_controllable">,
  left: number,
  code: ReasonCode,
  detail?: string,
): Verdict {
  return request.is_amount_controllable && left > 0
    ? limit(left, code, detail)
    : decline(code, detail);
}
