/**
 * The engine: composes policies into one `decide` function from authorization
 * to decision, under a deadline, with a fallback when a policy fails.
 *
 * @module
 */
import type {
  AuthorizationRequest,
  Policy,
  PolicyContext,
  VelocityPolicy,
  Verdict,
} from "./policy.ts";
import { type CounterRef, NO_USAGE, type UsageReader } from "./velocity.ts";

/** Stripe waits 2 s for an answer; this leaves 500 ms for the network and I/O. */
export const DEFAULT_DECISION_BUDGET_MS = 1_500;

/** Why a decision came out the way it did: which policy, which code, on what. */
export interface Reason {
  /** The policy's function name, or `engine` for a composition rule. */
  readonly policy: string;
  /** Reason code, e.g. `mcc_blocked`, `fallback`. */
  readonly code: string;
  /** What triggered it, e.g. `betting_casino_gambling`, `timeout`. */
  readonly detail?: string;
}

/** One policy's verdict, in pipeline order: the explanation of a decision. */
export interface TraceEntry {
  readonly policy: string;
  readonly verdict: Verdict;
}

/** The pipeline's answer to one authorization request. */
export interface Decision {
  readonly approved: boolean;
  /**
   * The amount to hold, in minor units: present only when the request is
   * amount-controllable and a policy limited it below the requested amount.
   */
  readonly amount?: number;
  /** Empty when nothing objected. */
  readonly reasons: readonly Reason[];
  /** Every verdict given, in order (policies after a failure are absent). */
  readonly trace: readonly TraceEntry[];
  /** Short content hash of the policy set that decided. */
  readonly policyVersion: string;
  /** Set when the fallback decision was used instead of the policies': `error`, `timeout` (or the store's `store_error`, `store_timeout`). */
  readonly fallback?: string;
}

/** A decision as metrics, filters and reports group them. */
export type DecisionOutcome = "approved" | "declined" | "limited";

/**
 * Classifies a decision (or a logged record of one): declined, approved in
 * full, or approved for less than requested (`limited`).
 *
 * @example
 * ```ts
 * import { outcomeOf } from "./decide.ts";
 * import { equal } from "node:assert/strict";
 * equal(outcomeOf({ approved: true, amount: 10_000 }), "limited");
 * equal(outcomeOf({ approved: true, amount: null }), "approved");
 * equal(outcomeOf({ approved: false }), "declined");
 * ```
 */
export function outcomeOf(
  decision: { approved: boolean; amount?: number | null },
): DecisionOutcome {
  return !decision.approved ? "declined" : decision.amount == null ? "approved" : "limited";
}

/** What the engine reports when it falls back, for logging. */
export interface FallbackEvent {
  readonly kind: "error" | "timeout";
  readonly policy: string;
  readonly error?: unknown;
}

/** Options of {@linkcode createDecide}. */
export interface DecideOptions {
  /** Stamped on every decision; see `computePolicyVersion`. */
  readonly policyVersion: string;
  /** Time allowed for all policies, in ms. Default {@linkcode DEFAULT_DECISION_BUDGET_MS}. */
  readonly budgetMs?: number;
  /** The decision when a policy throws or the budget runs out. Default `decline`, as Stripe's default timeout setting. */
  readonly fallback?: "approve" | "decline";
  /** Called once per fallback, to log it. */
  readonly onFallback?: (event: FallbackEvent) => void;
}

/**
 * Decides one request. Synchronous when every policy answered synchronously,
 * so the common path allocates no promise. `usage` reads velocity counters
 * (zero everywhere when omitted, as in tests without a store).
 */
export type Decide = {
  (
    authorization: AuthorizationRequest,
    now?: Date,
    usage?: UsageReader,
  ): Decision | Promise<Decision>;
  /** Every counter the pipeline's velocity policies read for this request. */
  counters(authorization: AuthorizationRequest, now: Date): CounterRef[];
};

/** Reason codes the engine itself gives (policies bring their own). */
export const ENGINE_REASON_CODES = {
  fallback: "fallback",
  limitNotPositive: "limit_not_positive",
  limitNotAmountControllable: "limit_not_amount_controllable",
} as const;

const ENGINE = "engine";

/**
 * Formats a reason as `code:detail` (or `code`), the form logs and metadata use.
 *
 * @example
 * ```ts
 * import { formatReason } from "./decide.ts";
 * formatReason({ policy: "blockCategories", code: "mcc_blocked", detail: "betting_casino_gambling" });
 * // → "mcc_blocked:betting_casino_gambling"
 * ```
 */
export function formatReason(reason: Reason): string {
  return reason.detail === undefined ? reason.code : `${reason.code}:${reason.detail}`;
}

/**
 * The fallback decision: approved or declined as configured, with the single
 * reason `fallback:<kind>` naming what failed (a policy, or `store`).
 *
 * @example
 * ```ts
 * import { fallbackDecision } from "./decide.ts";
 * fallbackDecision({ approved: false, policy: "store", kind: "store_timeout", trace: [], policyVersion: "dev" });
 * // → { approved: false, reasons: [{ policy: "store", code: "fallback", detail: "store_timeout" }], fallback: "store_timeout", … }
 * ```
 */
export function fallbackDecision(
  options: {
    approved: boolean;
    policy: string;
    kind: string;
    trace: readonly TraceEntry[];
    policyVersion: string;
  },
): Decision {
  const { approved, policy, kind, trace, policyVersion } = options;
  return {
    approved,
    reasons: [{ policy, code: ENGINE_REASON_CODES.fallback, detail: kind }],
    trace,
    policyVersion,
    fallback: kind,
  };
}

/**
 * Composes policies into one `decide` function. Rules, in order:
 * 1. every policy runs, in order, and its verdict joins the trace;
 * 2. any decline wins (every decline is a reason);
 * 3. otherwise limits take the smallest amount; a limit at or above the
 *    requested amount changes nothing; a limit to zero or below, or on a
 *    request that is not amount-controllable, becomes a decline that says so;
 * 4. when no policy objects, approve;
 * 5. a policy that throws, rejects, or is still pending when the budget runs
 *    out yields the fallback decision with reason `fallback:error` or
 *    `fallback:timeout`, naming that policy.
 *
 * A synchronous policy that never returns cannot be interrupted (JavaScript
 * has one thread): keep policies synchronous or make them honour
 * `context.signal`.
 *
 * @example
 * ```ts
 * import { createDecide } from "./decide.ts";
 * import { decline } from "./policy.ts";
 * const decide = createDecide([function noJpy(auth) {
 *   return auth.pending_request.currency === "jpy" ? decline("currency_not_allowed", "jpy") : { outcome: "abstain" };
 * }], { policyVersion: "dev" });
 * // decide(authorization) → { approved: false, reasons: [{ policy: "noJpy", code: "currency_not_allowed", detail: "jpy" }], ... }
 * ```
 */
export function createDecide(
  policies: readonly Policy[],
  options: DecideOptions,
): Decide {
  const names = policies.map((policy, i) => policy.name || `policy_${i + 1}`);
  const budgetMs = options.budgetMs ?? DEFAULT_DECISION_BUDGET_MS;
  if (!Number.isFinite(budgetMs) || budgetMs <= 0) {
    throw new RangeError(
      `Cannot create decide: "budgetMs" must be a positive number, got ${budgetMs}`,
    );
  }
  const approvedOnFallback = (options.fallback ?? "decline") === "approve";
  const { policyVersion, onFallback } = options;

  function fallback(
    kind: "error" | "timeout",
    index: number,
    trace: TraceEntry[],
    error?: unknown,
  ): Decision {
    onFallback?.({ kind, policy: names[index], error });
    return fallbackDecision({
      approved: approvedOnFallback,
      policy: names[index],
      kind,
      trace,
      policyVersion,
    });
  }

  function compose(
    authorization: AuthorizationRequest,
    trace: TraceEntry[],
  ): Decision {
    const declines: Reason[] = [];
    let smallestLimit = Infinity;
    for (const { policy, verdict } of trace) {
      if (verdict.outcome === "decline") {
        declines.push(reasonOf(policy, verdict));
      } else if (
        verdict.outcome === "limit" && verdict.amount < smallestLimit
      ) {
        smallestLimit = verdict.amount;
      }
    }
    if (declines.length > 0) {
      return { approved: false, reasons: declines, trace, policyVersion };
    }

    const requested = authorization.pending_request.amount;
    if (smallestLimit >= requested) {
      return { approved: true, reasons: [], trace, policyVersion };
    }

    const limits: Reason[] = [];
    for (const { policy, verdict } of trace) {
      if (verdict.outcome === "limit" && verdict.amount === smallestLimit) {
        limits.push(reasonOf(policy, verdict));
      }
    }
    if (smallestLimit <= 0) {
      limits.push({
        policy: ENGINE,
        code: ENGINE_REASON_CODES.limitNotPositive,
      });
      return { approved: false, reasons: limits, trace, policyVersion };
    }
    if (!authorization.pending_request.is_amount_controllable) {
      limits.push({
        policy: ENGINE,
        code: ENGINE_REASON_CODES.limitNotAmountControllable,
      });
      return { approved: false, reasons: limits, trace, policyVersion };
    }
    return {
      approved: true,
      amount: smallestLimit,
      reasons: limits,
      trace,
      policyVersion,
    };
  }

  async function finishAsync(
    authorization: AuthorizationRequest,
    context: DecisionContext,
    trace: TraceEntry[],
    index: number,
    pending: Promise<Verdict>,
  ): Promise<Decision> {
    const remainingMs = Math.max(
      0,
      budgetMs - (performance.now() - context.startedAt),
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), remainingMs);
    });
    try {
      for (let i = index; i < policies.length; i++) {
        let verdict: Verdict | Promise<Verdict> | "timeout";
        try {
          verdict = i === index ? pending : policies[i](authorization, context);
          if (verdict instanceof Promise) {
            verdict = await Promise.race([verdict, expired]);
          }
        } catch (error) {
          return fallback("error", i, trace, error);
        }
        if (verdict === "timeout") {
          context.abort();
          return fallback("timeout", i, trace);
        }
        if (!isVerdict(verdict)) {
          return fallback("error", i, trace, new TypeError("not a verdict"));
        }
        trace.push({ policy: names[i], verdict });
      }
      return compose(authorization, trace);
    } finally {
      clearTimeout(timer);
    }
  }

  const velocityPolicies = policies.filter((policy): policy is VelocityPolicy =>
    typeof (policy as Partial<VelocityPolicy>).counters === "function"
  );
  function counters(authorization: AuthorizationRequest, now: Date): CounterRef[] {
    return velocityPolicies.flatMap((policy) => policy.counters(authorization, now));
  }

  function decide(
    authorization: AuthorizationRequest,
    now = new Date(),
    usage: UsageReader = noUsage,
  ) {
    const context = new DecisionContext(now, usage);
    const trace: TraceEntry[] = [];
    for (let i = 0; i < policies.length; i++) {
      let verdict: Verdict | Promise<Verdict>;
      try {
        verdict = policies[i](authorization, context);
      } catch (error) {
        return fallback("error", i, trace, error);
      }
      if (verdict instanceof Promise) {
        return finishAsync(authorization, context, trace, i, verdict);
      }
      if (!isVerdict(verdict)) {
        return fallback("error", i, trace, new TypeError("not a verdict"));
      }
      trace.push({ policy: names[i], verdict });
    }
    return compose(authorization, trace);
  }
  return Object.assign(decide, { counters });
}

function noUsage(): typeof NO_USAGE {
  return NO_USAGE;
}

function reasonOf(
  policy: string,
  verdict: Extract<Verdict, { code: string }>,
): Reason {
  return verdict.detail === undefined
    ? { policy, code: verdict.code }
    : { policy, code: verdict.code, detail: verdict.detail };
}

/** A user's policy is code we did not write: check its answer's shape before trusting it. */
function isVerdict(value: unknown): value is Verdict {
  if (typeof value !== "object" || value === null) return false;
  const { outcome, amount, code } = value as Record<string, unknown>;
  switch (outcome) {
    case "approve":
    case "abstain":
      return true;
    case "decline":
      return typeof code === "string";
    case "limit":
      return typeof code === "string" && Number.isSafeInteger(amount);
    default:
      return false;
  }
}

/** The context of one decision; its AbortController exists only if a policy asks for the signal. */
class DecisionContext implements PolicyContext {
  readonly startedAt = performance.now();
  #controller?: AbortController;
  constructor(readonly now: Date, readonly usage: UsageReader) {}
  get signal(): AbortSignal {
    this.#controller ??= new AbortController();
    return this.#controller.signal;
  }
  abort(): void {
    this.#controller?.abort(
      new DOMException("decision budget exhausted", "TimeoutError"),
    );
  }
}
