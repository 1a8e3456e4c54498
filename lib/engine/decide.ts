/**
 * The engine: composes policies into one `decide` function from authorization
 * to decision, under a deadline, with a fallback when a policy fails.
 *
 * @module
 */
import { Deadline, TIMED_OUT } from "./deadline.ts";
import { deepFreeze } from "./deep_freeze.ts";
import {
  type AuthorizationRequest,
  ENGINE_REASON_CODES,
  type FraudChallengeChannel,
  type Held,
  NOTHING_HELD,
  type Policy,
  type PolicyContext,
  type VelocityPolicy,
  type Verdict,
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
  /**
   * Every verdict given, in order. A policy that failed has none (its failure
   * is a reason); the policies after it are absent when the fallback
   * declines, and after a timeout those that answered with a promise.
   */
  readonly trace: readonly TraceEntry[];
  /** Short content hash of the policy set that decided. */
  readonly policyVersion: string;
  /**
   * Set when the fallback decision was used instead of the policies': `error`,
   * `timeout`; or the store's `store_error`, `store_timeout` (then also when
   * the policies' own decision was answered without the store's commit).
   */
  readonly fallback?: string;
  /**
   * On a decline every declining policy gave with `challenge()`: ask
   * Stripe to send the cardholder a fraud challenge (`send_fraud_challenges`,
   * public preview).
   */
  readonly sendFraudChallenges?: readonly FraudChallengeChannel[];
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
  /** The authorization being decided, to tie the failure to its request. */
  readonly authorizationId: string;
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

/** What the caller knows about one request besides the authorization; all optional. */
export interface DecideInput {
  /** The request's arrival time, for time windows. Default: now. */
  readonly now?: Date;
  /** Reads velocity counters. Default: zero everywhere, as in tests without a store. */
  readonly usage?: UsageReader;
  /** What the authorization holds from earlier approved requests. Default: nothing. */
  readonly held?: Held;
  /** The request's deadline; the policies stop at it or at the budget, whichever is sooner. */
  readonly deadline?: Deadline;
  /**
   * What this request's policies that declare no counters gave in an earlier
   * run, kept by the caller across runs while `held` is unchanged: they are
   * not run again (a slow lookup is not repeated because another request on
   * the card moved the counters), and `decide` fills it.
   */
  readonly results?: PolicyResults;
  /**
   * Set when the caller accounts for this run's failures itself: `onFallback`
   * is not told of them (a run the store makes after it failed, which gives
   * async policies no time: their timeouts are the store's, not theirs).
   */
  readonly quiet?: boolean;
}

/**
 * One request's policy results by pipeline position (see
 * {@linkcode DecideInput.results}): a verdict, or how the policy failed.
 */
export type PolicyResults = (Verdict | { readonly failed: "error" | "timeout" } | undefined)[];

/**
 * Decides one request. Synchronous when every policy answered synchronously,
 * so the common path allocates no promise.
 */
export type Decide = {
  (authorization: AuthorizationRequest, input?: DecideInput): Decision | Promise<Decision>;
  /** Every counter the pipeline's velocity policies read for this request. */
  counters(authorization: AuthorizationRequest, now: Date): CounterRef[];
  /**
   * The pipeline's fallback when `policy` (e.g. the store) could not decide
   * for reason `kind`: its configured answer, under its version.
   */
  fallback(policy: string, kind: string): Decision;
  /** The pipeline's version, as its decisions carry it. */
  readonly policyVersion: string;
};

const ENGINE = "engine";
/**
 * How long after a timeout the policies not run yet still get a timer turn
 * each (see `createDecide`): a pipeline of many async policies would
 * otherwise keep the answer hundreds of milliseconds past its budget, and
 * Stripe waits 2 s in all.
 */
const TURNS_AFTER_TIMEOUT_MS = 50;
const SMS: readonly FraudChallengeChannel[] = Object.freeze(["sms"]);

/**
 * Formats a reason as `code:detail` (or `code`), the form logs and metadata use.
 *
 * @example
 * ```ts
 * import { formatReason } from "./decide.ts";
 * import { equal } from "node:assert/strict";
 * equal(
 *   formatReason({ policy: "blockCategories", code: "mcc_blocked", detail: "betting_casino_gambling" }),
 *   "mcc_blocked:betting_casino_gambling",
 * );
 * ```
 */
export function formatReason(reason: Reason): string {
  // Joined, not a template literal: no rope in a log line or an answer (see
  // `flat`). `String`: a policy's `null` detail reads `code:null`, as a
  // template wrote it.
  return reason.detail === undefined ? reason.code : [reason.code, String(reason.detail)].join(":");
}

/**
 * The fallback decision: approved or declined as configured, with the single
 * reason `fallback:<kind>` naming what failed (a policy, or `store`).
 *
 * @example
 * ```ts
 * import { fallbackDecision } from "./decide.ts";
 * import { deepEqual } from "node:assert/strict";
 * deepEqual(
 *   fallbackDecision({ approved: false, policy: "store", kind: "store_timeout", trace: [], policyVersion: "dev" }),
 *   {
 *     approved: false,
 *     reasons: [{ policy: "store", code: "fallback", detail: "store_timeout" }],
 *     trace: [],
 *     policyVersion: "dev",
 *     fallback: "store_timeout",
 *   },
 * );
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
 * 2. any decline wins (every decline is a reason, and so is a limit that is
 *    a decline itself, by rule 3); when every declining policy asked for a
 *    fraud challenge (`challenge()`) and no limit is a decline, the decision
 *    asks Stripe to send one (`sendFraudChallenges: ["sms"]`);
 * 3. otherwise limits take the smallest amount; a limit at or above the
 *    requested amount changes nothing; a limit to zero or below, on a request
 *    that is not amount-controllable, or below the request's cashback
 *    (`pending_request.amount_details.cashback_amount`: Stripe: "If you
 *    partially approve a cashback authorization, you must approve the full
 *    cashback amount") becomes a decline that says so
 *    (`limit_not_positive`, `limit_not_amount_controllable`,
 *    `limit_below_cashback`). A limit applies to this request's amount: on an
 *    incremental authorization, the increment;
 * 4. when no policy objects, approve;
 * 5. a policy that throws, rejects, or is still pending when the budget runs
 *    out yields the fallback decision with reason `fallback:error` or
 *    `fallback:timeout`, naming that policy. An approving fallback approves
 *    only what the other policies did not object to: their declines and
 *    limits stand, with the failure as a reason beside theirs (the policies
 *    after a failure still run: within the budget, or after a timeout those
 *    that answer at once or settle before the next timer turn, for 50 ms), as Stripe's
 *    timeout setting stands in for a decision that is unknown, not for one in
 *    hand.
 *
 * A synchronous policy that never returns cannot be interrupted (JavaScript
 * has one thread): keep policies synchronous or make them honour
 * `context.signal`. The authorization is frozen in place, with all it holds,
 * before the first policy runs ({@linkcode deepFreeze}): a policy that writes
 * to it throws, and fails as in 5.
 *
 * @example
 * ```ts
 * import { createDecide, type Decision } from "./decide.ts";
 * import { abstain, decline } from "./policy.ts";
 * import "../../policies/reason_codes.ts";
 * import { authorizationEvent, authorizationOf } from "../../fixtures/events.ts";
 * import { deepEqual } from "node:assert/strict";
 * const decide = createDecide([function noJpy(auth) {
 *   const { currency } = auth.pending_request;
 *   return currency === "jpy" ? decline("currency_not_allowed", "jpy") : abstain();
 * }], { policyVersion: "dev" });
 * const yen = authorizationOf(authorizationEvent("online", { pending_request: { currency: "jpy" } }));
 * const decision = decide(yen) as Decision;
 * deepEqual([decision.approved, decision.reasons], [false, [
 *   { policy: "noJpy", code: "currency_not_allowed", detail: "jpy" },
 * ]]);
 * // What the store answers when it cannot decide in time: this pipeline's fallback.
 * deepEqual(decide.fallback("store", "store_timeout").reasons, [
 *   { policy: "store", code: "fallback", detail: "store_timeout" },
 * ]);
 * ```
 */
export function createDecide(
  policies: readonly Policy[],
  options: DecideOptions,
): Decide {
  const names = policies.map((policy, i) => policy.name || `policy_${i + 1}`);
  // A name is part of reasons' aggregate keys and of the log: a long one made every request it
  // failed or declined on unrecordable (KV keys are 2 KiB at most), so it is refused at start-up.
  const long = names.find((name) => name.length > MAX_CODE_LENGTH);
  if (long !== undefined) {
    throw new RangeError(
      `Cannot create decide: a policy's name is at most ${MAX_CODE_LENGTH} characters, got ${long.length} (${
        long.slice(0, 32)
      }…)`,
    );
  }
  const budgetMs = options.budgetMs ?? DEFAULT_DECISION_BUDGET_MS;
  if (!Number.isFinite(budgetMs) || budgetMs <= 0) {
    throw new RangeError(
      `Cannot create decide: "budgetMs" must be a positive number, got ${budgetMs}`,
    );
  }
  const approvedOnFallback = (options.fallback ?? "decline") === "approve";
  const { policyVersion, onFallback } = options;

  /** This pipeline's fallback: its configured answer, under its version. */
  function fallbackOf(policy: string, kind: string, trace: readonly TraceEntry[] = []): Decision {
    return fallbackDecision({ approved: approvedOnFallback, policy, kind, trace, policyVersion });
  }

  /**
   * Policy `index` failed: declining on fallback, that is the decision;
   * approving on fallback, `undefined`, and the others go on deciding.
   */
  function failed(
    kind: "error" | "timeout",
    index: number,
    run: Run,
    error?: unknown,
  ): Decision | undefined {
    if (run.results && !readsCounters[index]) {
      // Reported once per request, however often its decision is made again.
      if (run.results[index] === undefined) report(kind, index, run, error);
      run.results[index] = { failed: kind };
    } else report(kind, index, run, error);
    if (!approvedOnFallback) return fallbackOf(names[index], kind, run.trace);
    (run.failures ??= []).push({
      policy: names[index],
      code: ENGINE_REASON_CODES.fallback,
      detail: kind,
    });
  }

  function report(kind: "error" | "timeout", index: number, run: Run, error: unknown): void {
    if (run.quiet) return;
    onFallback?.({ kind, policy: names[index], authorizationId: run.authorizationId, error });
  }

  /**
   * The decision from the verdicts given. When a policy failed: the approving
   * fallback if none objected, else the objection with each failure as a
   * reason beside it (so a policy failing on every request still shows).
   */
  function conclude(authorization: AuthorizationRequest, run: Run): Decision {
    const decision = compose(authorization, run.trace);
    const { failures } = run;
    if (!failures) return decision;
    if (decision.approved && decision.amount === undefined) {
      const [{ policy, detail }] = failures;
      return fallbackOf(policy, detail!, run.trace);
    }
    return { ...decision, reasons: [...decision.reasons, ...failures] };
  }

  /**
   * After a timeout: the policies not run yet, each given no time (its signal
   * aborted, a failure counted as a timeout). A synchronous one still decides
   * (a block after a slow lookup), and so does one whose promise settles
   * before a timer's next turn, each its own (an `async` list lookup), for
   * `TURNS_AFTER_TIMEOUT_MS` at most: past that, only one settled already.
   * One still pending then has timed out, recorded as such so a later run of
   * the request agrees.
   */
  async function runRestWithoutTime(
    authorization: AuthorizationRequest,
    context: DecisionContext,
    run: Run,
    from: number,
  ): Promise<Decision> {
    const turnsUntil = performance.now() + TURNS_AFTER_TIMEOUT_MS;
    for (let i = from; i < policies.length; i++) {
      const result = step(i, authorization, context, run);
      if (!(result instanceof Promise)) continue;
      const nextTurn = performance.now() < turnsUntil
        ? new Promise<typeof TIMED_OUT>((resolve) => setTimeout(() => resolve(TIMED_OUT), 0))
        : Promise.resolve(TIMED_OUT);
      let verdict: Verdict | typeof TIMED_OUT | typeof REJECTED;
      try {
        verdict = await Promise.race([result, nextTurn]);
      } catch {
        verdict = REJECTED;
      }
      if (verdict === TIMED_OUT) result.catch(() => {});
      if (verdict === TIMED_OUT || verdict === REJECTED) failed("timeout", i, run);
      else step(i, authorization, context, run, verdict);
    }
    return conclude(authorization, run);
  }

  function compose(
    authorization: AuthorizationRequest,
    trace: TraceEntry[],
  ): Decision {
    const declines: Reason[] = [];
    let everyDeclineChallenges = true;
    let smallestLimit = Infinity;
    for (const { policy, verdict } of trace) {
      if (verdict.outcome === "decline") {
        declines.push(reasonOf(policy, verdict));
        everyDeclineChallenges &&= verdict.fraudChallenge === "sms";
      } else if (
        verdict.outcome === "limit" && verdict.amount < smallestLimit
      ) {
        smallestLimit = verdict.amount;
      }
    }
    const requested = authorization.pending_request.amount;
    const limited = smallestLimit < requested
      ? limitOf(authorization, trace, smallestLimit)
      : undefined;
    if (declines.length > 0) {
      // A limit that is a decline itself (at or below zero, on a request that is not
      // amount-controllable, below its cash back) is one a challenge cannot lift: it joins the
      // reasons, and no challenge is asked for.
      const hard = limited && !limited.approved ? limited.reasons : [];
      const reasons = [...declines, ...hard];
      return everyDeclineChallenges && hard.length === 0
        ? { approved: false, reasons, trace, policyVersion, sendFraudChallenges: SMS }
        : { approved: false, reasons, trace, policyVersion };
    }
    if (!limited) return { approved: true, reasons: [], trace, policyVersion };
    return { ...limited, trace, policyVersion };
  }

  /**
   * What the smallest limit, under the requested amount, makes of the
   * request: approved for that amount, or a decline that says why a limit
   * could not be applied (rule 3 above).
   */
  function limitOf(
    authorization: AuthorizationRequest,
    trace: readonly TraceEntry[],
    smallestLimit: number,
  ): { approved: true; amount: number; reasons: Reason[] } | {
    approved: false;
    reasons: Reason[];
  } {
    const limits: Reason[] = [];
    for (const { policy, verdict } of trace) {
      if (verdict.outcome === "limit" && verdict.amount === smallestLimit) {
        limits.push(reasonOf(policy, verdict));
      }
    }
    if (smallestLimit <= 0) {
      limits.push({ policy: ENGINE, code: ENGINE_REASON_CODES.limitNotPositive });
      return { approved: false, reasons: limits };
    }
    if (!authorization.pending_request.is_amount_controllable) {
      limits.push({ policy: ENGINE, code: ENGINE_REASON_CODES.limitNotAmountControllable });
      return { approved: false, reasons: limits };
    }
    const cashback = authorization.pending_request.amount_details?.cashback_amount ?? 0;
    if (smallestLimit < cashback) {
      limits.push({
        policy: ENGINE,
        code: ENGINE_REASON_CODES.limitBelowCashback,
        detail: String(cashback),
      });
      return { approved: false, reasons: limits };
    }
    return { approved: true, amount: smallestLimit, reasons: limits };
  }

  /**
   * The step every policy goes through, synchronous or not: call it (unless
   * its awaited verdict is given), check the verdict's shape, add it to the
   * trace. Returns the fallback decision when the policy failed, the promise
   * when it answered asynchronously, or `undefined` to go on.
   */
  function step(
    i: number,
    authorization: AuthorizationRequest,
    context: DecisionContext,
    run: Run,
    ...awaited: [] | [Verdict]
  ): Decision | Promise<Verdict> | undefined {
    const earlier = awaited.length === 0 && !readsCounters[i] ? run.results?.[i] : undefined;
    if (earlier !== undefined && "failed" in earlier) return failed(earlier.failed, i, run);
    const unnamed = readsCounters[i] ? countersThrew.get(authorization)?.get(i) : undefined;
    if (unnamed) return failed("error", i, run, unnamed.error);
    let verdict: Verdict | Promise<Verdict>;
    try {
      verdict = earlier ??
        (awaited.length === 1 ? awaited[0] : policies[i](authorization, context));
    } catch (error) {
      // Thrown once its signal was aborted (`throwIfAborted()`): the budget ran out, not a bug.
      return failed(context.signal.aborted ? "timeout" : "error", i, run, error);
    }
    if (verdict instanceof Promise) return verdict;
    if (!isVerdict(verdict)) {
      return failed(
        "error",
        i,
        run,
        new TypeError(
          "not a verdict: expected abstain(), decline(code) or limit(amount, code), " +
            "with a code of 1 to 64 characters and a detail that is text",
        ),
      );
    }
    run.trace.push({ policy: names[i], verdict: traced(verdict) });
    if (run.results && !readsCounters[i]) run.results[i] = verdict;
  }

  /** Goes on from the first policy that answered with a promise, each awaited against the deadline. */
  async function finishAsync(
    authorization: AuthorizationRequest,
    context: DecisionContext,
    run: Run,
    index: number,
    pending: Promise<Verdict>,
  ): Promise<Decision> {
    let result: Decision | Promise<Verdict> | undefined = pending;
    for (let i = index;;) {
      if (result instanceof Promise) {
        let verdict: Verdict | typeof TIMED_OUT | typeof REJECTED;
        let error: unknown;
        try {
          verdict = await context.deadline.race(result);
        } catch (rejection) {
          verdict = REJECTED;
          error = rejection;
        }
        if (verdict === TIMED_OUT) {
          context.abort();
          return failed("timeout", i, run) ??
            runRestWithoutTime(authorization, context, run, i + 1);
        }
        result = verdict === REJECTED
          ? failed("error", i, run, error)
          : step(i, authorization, context, run, verdict);
      }
      if (result) return result as Decision; // a resolved verdict is never a promise
      if (++i === policies.length) return conclude(authorization, run);
      result = step(i, authorization, context, run);
    }
  }

  const readsCounters = policies.map((policy) =>
    typeof (policy as Partial<VelocityPolicy>).counters === "function"
  );

  /**
   * Per request, the velocity policies whose `counters()` threw, with what:
   * such a policy reads none and fails alone when the request is decided
   * (`fallback:error`, named, as any policy that throws), instead of failing
   * the whole request before any policy ran.
   */
  const countersThrew = new WeakMap<AuthorizationRequest, Map<number, { error: unknown }>>();
  /** The velocity policies, with their places in the pipeline: found once, read every request. */
  const velocityPolicies = policies.flatMap((policy, i) =>
    readsCounters[i] ? [[i, policy as VelocityPolicy] as const] : []
  );
  function counters(authorization: AuthorizationRequest, now: Date): CounterRef[] {
    // Named before the policies run, and by policies: the request is frozen by then too.
    deepFreeze(authorization);
    const at = new Date(now.getTime());
    countersThrew.delete(authorization);
    return velocityPolicies.flatMap(([i, policy]) => {
      try {
        return policy.counters(authorization, at);
      } catch (error) {
        let threw = countersThrew.get(authorization);
        if (!threw) countersThrew.set(authorization, threw = new Map());
        threw.set(i, { error });
        return [];
      }
    });
  }

  function decide(authorization: AuthorizationRequest, input: DecideInput = {}) {
    // A policy that writes to the request throws (strict mode): it fails like any policy that
    // throws, and cannot change what the others see (the shadow pipeline's too), what is
    // answered (an `amount` on a request that is not amount-controllable) or what is logged.
    deepFreeze(authorization);
    const context = new DecisionContext(input, budgetMs);
    const run: Run = {
      trace: [],
      results: input.results,
      authorizationId: authorization.id,
      quiet: input.quiet,
    };
    for (let i = 0; i < policies.length; i++) {
      const result = step(i, authorization, context, run);
      if (result instanceof Promise) return finishAsync(authorization, context, run, i, result);
      if (result) return result;
    }
    return conclude(authorization, run);
  }
  return Object.assign(decide, { counters, fallback: fallbackOf, policyVersion });
}

/** One decision in progress: the verdicts so far, and each policy that failed, as a reason. */
interface Run {
  readonly authorizationId: string;
  readonly trace: TraceEntry[];
  failures?: Reason[];
  /** The caller's results of policies that declare no counters, reused and filled. */
  readonly results?: PolicyResults;
  /** No failure of this run is reported (see {@linkcode DecideInput.quiet}). */
  readonly quiet?: boolean;
}

/** A policy's promise rejected (its reason is kept apart: a policy may reject with anything). */
const REJECTED: unique symbol = Symbol("rejected");

function noUsage(): typeof NO_USAGE {
  return NO_USAGE;
}

/**
 * The longest detail a reason keeps: details name what the request had (a
 * merchant's name, a category), and a reason becomes a part of the
 * dashboard's aggregate keys, which Deno KV caps at 2 KiB.
 */
const MAX_DETAIL = 200;

function reasonOf(
  policy: string,
  verdict: Extract<Verdict, { code: string }>,
): Reason {
  return verdict.detail === undefined ? { policy, code: verdict.code } : {
    policy,
    code: verdict.code,
    // A user's policy may pass what Stripe gave it (`merchant_data.name` may be null).
    detail: typeof verdict.detail === "string"
      ? flat(verdict.detail.slice(0, MAX_DETAIL))
      : verdict.detail,
  };
}

/**
 * `text` as one run of characters, not as the parts a template literal or
 * `+` joined: V8 keeps those as a rope past 12 characters, and a record,
 * an answer or a log line holding a rope takes `JSON.stringify` off its fast
 * path (`rope` in record_bench.ts). Policies build details with templates.
 * Joining two parts copies them; joining one, or slicing, gives the rope back.
 */
function flat(text: string): string {
  return text.length < ROPE_MIN_LENGTH ? text : [text.slice(0, 1), text.slice(1)].join("");
}

/** The shortest text V8 keeps as a rope (`ConsString::kMinLength`); shorter text is copied whole. */
const ROPE_MIN_LENGTH = 13;

/** `verdict` as the trace keeps it: its detail flat (see {@linkcode flat}), copied only then. */
function traced(verdict: Verdict): Verdict {
  return "detail" in verdict && typeof verdict.detail === "string" &&
      verdict.detail.length >= ROPE_MIN_LENGTH
    ? { ...verdict, detail: flat(verdict.detail) }
    : verdict;
}

/**
 * The longest reason code a verdict may give: a code names a reason
 * (`mcc_blocked`), and is a part of the aggregates' keys, which Deno KV
 * bounds.
 */
const MAX_CODE_LENGTH = 64;

/**
 * Whether a policy's answer is a verdict the engine can use: a user's policy
 * is code we did not write, so its answer's shape is checked before it is
 * trusted (see `decide`), and by `deno task policy:check`.
 *
 * @example
 * ```ts
 * import { isVerdict } from "./decide.ts";
 * import { decline } from "./policy.ts";
 * import { equal } from "node:assert/strict";
 * equal(isVerdict(decline("mcc_blocked" as never)), true);
 * equal(isVerdict(undefined), false); // a policy that forgot to return
 * equal(isVerdict({ outcome: "limit", amount: Number.NaN, code: "x" }), false);
 * ```
 */
export function isVerdict(value: unknown): value is Verdict {
  if (typeof value !== "object" || value === null) return false;
  const { outcome, amount, code, detail, fraudChallenge } = value as Record<string, unknown>;
  if (outcome === "abstain") return true;
  // A detail may be what Stripe gave the policy (`merchant_data.name` may be null), or text.
  const reason = typeof code === "string" && code.length > 0 && code.length <= MAX_CODE_LENGTH &&
    (detail == null || typeof detail === "string");
  switch (outcome) {
    case "decline":
      return reason && (fraudChallenge === undefined || fraudChallenge === "sms");
    case "limit":
      return reason && Number.isSafeInteger(amount);
    default:
      return false;
  }
}

/**
 * The context of one decision. Its deadline (the request's, or the budget
 * from now if sooner) and the policies' abort signal are made only when a
 * policy answers asynchronously or asks for the signal.
 */
class DecisionContext implements PolicyContext {
  readonly #now: number;
  readonly usage: UsageReader;
  readonly held: Held;
  readonly #startedAt = performance.now();
  readonly #requestDeadline?: Deadline;
  readonly #budgetMs: number;
  #deadline?: Deadline;
  #controller?: AbortController;
  constructor(input: DecideInput, budgetMs: number) {
    this.#now = input.now?.getTime() ?? Date.now();
    this.usage = input.usage ?? noUsage;
    this.held = input.held ? Object.freeze({ ...input.held }) : NOTHING_HELD;
    this.#requestDeadline = input.deadline;
    this.#budgetMs = budgetMs;
  }
  /**
   * A new `Date` each time: a policy that moves its own (`setUTCHours(0, 0, 0, 0)` for the start of
   * the day) changes neither what the policies after it see nor what the caller keeps (the record's
   * time), nor the live pipeline's for a shadow one. (`held` is frozen for the same reason.)
   */
  get now(): Date {
    return new Date(this.#now);
  }
  get deadline(): Deadline {
    return this.#deadline ??= new Deadline(
      Math.min(this.#requestDeadline?.at ?? Infinity, this.#startedAt + this.#budgetMs),
    );
  }
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
