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

/** A policy's answer: approve, decline, limit the amount, or have no opinion. */
export type Verdict =
  | { readonly outcome: "approve" }
  | { readonly outcome: "abstain" }
  | {
    readonly outcome: "decline";
    /** Reason code, snake_case, e.g. `mcc_blocked`. */
    readonly code: string;
    /** What exactly triggered it, e.g. `betting_casino_gambling`. */
    readonly detail?: string;
  }
  | {
    readonly outcome: "limit";
    /** The most to approve, in the request currency's minor units. */
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
 * const policy = withConfig(function noop() {
 *   return abstain();
 * }, { note: "does nothing" });
 * policy.config; // { note: "does nothing" }
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
 * const policy = velocityPolicy(function never() {
 *   return abstain();
 * }, () => [], { note: "reads no counter" });
 * policy.counters; // () => []
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
 * // describePipeline(defaultPipeline) → [{ name: "blockCategories", config: ["betting_casino_gambling"] }, …]
 * ```
 */
export function describePipeline(policies: readonly Policy[]): { name: string; config: unknown }[] {
  return policies.map((policy, i) => ({
    name: policy.name || `policy_${i + 1}`,
    config: (policy as { config?: unknown }).config ?? null,
  }));
}

const APPROVE: Verdict = Object.freeze({ outcome: "approve" });
const ABSTAIN: Verdict = Object.freeze({ outcome: "abstain" });

/**
 * The verdict of a policy that positively approves.
 *
 * @example
 * ```ts
 * import { approve } from "./policy.ts";
 * console.log(approve()); // { outcome: "approve" }
 * ```
 */
export function approve(): Verdict {
  return APPROVE;
}

/**
 * The verdict of a policy that has no opinion on this request.
 *
 * @example
 * ```ts
 * import { abstain } from "./policy.ts";
 * console.log(abstain()); // { outcome: "abstain" }
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
 * const verdict = decline("mcc_blocked", "betting_casino_gambling");
 * // → { outcome: "decline", code: "mcc_blocked", detail: "betting_casino_gambling" }
 * ```
 */
export function decline(code: string, detail?: string): Verdict {
  return detail === undefined ? { outcome: "decline", code } : { outcome: "decline", code, detail };
}

/**
 * Approve at most `amount` (minor units of the request currency), with a reason.
 *
 * @example
 * ```ts
 * import { limit } from "./policy.ts";
 * const verdict = limit(10_000, "partial_hold", "automated_fuel_dispensers");
 * // → { outcome: "limit", amount: 10000, code: "partial_hold", detail: "automated_fuel_dispensers" }
 * ```
 */
export function limit(amount: number, code: string, detail?: string): Verdict {
  return detail === undefined
    ? { outcome: "limit", amount, code }
    : { outcome: "limit", amount, code, detail };
}
