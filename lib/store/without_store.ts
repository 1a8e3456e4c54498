/**
 * What the store answers when it cannot decide and commit a request in time
 * (its reads or commits fail, or the deadline passes): the pipeline's
 * fallback, or the policies' own decision if they made one; an approval
 * checked by the pipeline run again without the store; and what the answer
 * reserves, counted by this process's decisions until it is committed
 * (`PendingReservations`).
 *
 * @module
 */
import type { Decide, Decision } from "../engine/decide.ts";
import { type AuthorizationRequest, NOTHING_HELD } from "../engine/policy.ts";
import type { CounterRef, Usage, UsageReader } from "../engine/velocity.ts";
import type { Logger } from "../telemetry/log.ts";
import { heldBefore, type PastRequest, positionOf } from "./authorization_state.ts";
import { type CardChain, chainBuckets } from "./card_chain.ts";
import { isTimeout } from "./commit_engine.ts";
import { counterKeys, type PendingReservations, sumUsage } from "./counters.ts";
import type { Reservation } from "./decision_record.ts";
import {
  type KeptPolicyResults,
  oddity,
  pastRequestsOf,
  type RequestMeta,
  reservationOf,
} from "./request_job.ts";

/**
 * The live pipeline's decision on `authorization` without the store, to
 * check an approving fallback (or an approval decided against counters that
 * may have moved since) when the store cannot commit in time. The store's
 * own declines that need no state stand (a missing or inconsistent
 * `request_history`, an increment of zero); the counters are what `usage`
 * reads (the store passes what this process last read or committed of them,
 * and what it answered but could not commit; without it, zero); what the
 * authorization holds is at least what its `request_history` says without
 * our state. So an objection made here stands
 * with the store too (a blocked category, a cap), and only what the store
 * would have added is approved on trust. The policies get what is left of
 * `meta.deadline` (after a timeout, a timer turn each for 50 ms at most, see
 * `createDecide`) and reuse what they gave in the request's job.
 *
 * @example
 * ```ts
 * import { decideWithoutStore } from "./without_store.ts";
 * import { KeptPolicyResults } from "./request_job.ts";
 * import { createDecide, type Decision } from "../engine/decide.ts";
 * import { Deadline } from "../engine/deadline.ts";
 * import { abstain, decline } from "../engine/policy.ts";
 * import "../../policies/reason_codes.ts";
 * import { authorizationEvent, authorizationOf } from "../../fixtures/events.ts";
 * import { deepEqual } from "node:assert/strict";
 * const decide = createDecide([function noCasinos(auth) {
 *   const casino = auth.merchant_data.category === "betting_casino_gambling";
 *   return casino ? decline("mcc_blocked", "betting_casino_gambling") : abstain();
 * }], { policyVersion: "dev", fallback: "approve" });
 * const bet = authorizationOf(authorizationEvent("online", {
 *   merchant_data: { category: "betting_casino_gambling", category_code: "7995" },
 * }));
 * const meta = { receivedAt: Date.now(), deadline: Deadline.after(0) };
 * const decision = decideWithoutStore(decide, bet, meta, new KeptPolicyResults()) as Decision;
 * deepEqual([decision.approved, decision.reasons[0].code], [false, "mcc_blocked"]);
 * ```
 */
export function decideWithoutStore(
  decide: Decide,
  authorization: AuthorizationRequest,
  meta: Pick<RequestMeta, "receivedAt" | "deadline">,
  kept: KeptPolicyResults,
  usage?: UsageReader,
): Decision | Promise<Decision> {
  const position = positionOf(authorization);
  const pastRequests = pastRequestsOf(authorization);
  const odd = oddity(authorization, null, position, !!pastRequests, false, decide.policyVersion);
  if (odd) return odd;
  // Less than the store may know it holds, never more: an objection made on it stands with the
  // store too. The job's results were given on what the store knew: reused as they are (a copy,
  // so this run's are not taken for the job's).
  const held = heldBefore(null, pastRequests!.map(withoutOurAmount), position!);
  return decide(authorization, {
    now: new Date(meta.receivedAt),
    usage,
    held,
    deadline: meta.deadline,
    results: [...kept.live],
    // A policy cut short here timed out because the store did: `store_fallback` says so.
    quiet: true,
  });
}

/**
 * A `request_history` entry as it holds without our state: where Stripe
 * applied our answer (`webhook_approved`) it holds what we approved, which
 * only our state knows (a partial approval holds less than the entry's
 * `amount`, the amount requested), so none of it here.
 */
function withoutOurAmount(request: PastRequest): PastRequest {
  return request.reason === "webhook_approved" ? { ...request, amount: 0 } : request;
}

/**
 * What `decision` on `authorization`, answered without the store, reserves
 * in `counters` once committed: as its job reserves it (`reservationOf`),
 * with what the authorization held before it as Stripe's `request_history`
 * says.
 *
 * @example
 * ```ts
 * import { reservationWithoutStore } from "./without_store.ts";
 * import { authorizationEvent, authorizationOf } from "../../fixtures/events.ts";
 * import { equal } from "node:assert/strict";
 * const first = authorizationOf(authorizationEvent("online", { pending_request: { amount: 5_000 } }));
 * const approved = { approved: true, reasons: [], trace: [], policyVersion: "dev" };
 * const reservation = reservationWithoutStore(first, approved, []);
 * equal(reservation.amount, 5_000);
 * equal(reservation.count, 1);
 * ```
 */
export function reservationWithoutStore(
  authorization: AuthorizationRequest,
  decision: Pick<Decision, "approved" | "amount">,
  counters: CounterRef[],
): Reservation {
  const pastRequests = pastRequestsOf(authorization);
  const held = pastRequests
    ? heldBefore(null, pastRequests, positionOf(authorization) ?? 0)
    : NOTHING_HELD;
  return reservationOf(authorization, decision, held, counterKeys(counters));
}

/** What {@linkcode createFallbackAnswers} needs of the store. */
export interface FallbackAnswersOptions {
  /** The live pipeline, whose `fallback` the store answers. */
  readonly decide: Decide;
  /** The pipelines' counters on the card's chain, named after its first card. */
  readonly countersOf: (
    authorization: AuthorizationRequest,
    now: Date,
    chain: CardChain,
  ) => CounterRef[];
  /** Answers not committed yet: counted by the check, and given each answer's reservation. */
  readonly pending: PendingReservations;
  /** A counter's value as this process last read or committed it (`null`: not known, as zero). */
  readonly known: (key: Deno.KvKey) => Usage | null;
  /** A card's chain followed on through what this process learned (see `CardChains.known`). */
  readonly knownChain: (chain: CardChain) => CardChain;
  /** What this process answered for the same request, not committed yet (see `UnlandedAnswers`). */
  readonly answeredBefore: (
    authorization: AuthorizationRequest,
    eventId: string,
  ) => { readonly decision: Decision } | undefined;
  readonly log: Logger;
}

/** A request the store failed: what {@linkcode FallbackAnswers} takes. */
export interface FailedRequest {
  readonly authorization: AuthorizationRequest;
  readonly meta: RequestMeta;
  /** What failed, or `undefined` when the deadline passed. */
  readonly failure: unknown;
  /** The policies' results kept from the request's job, reused by the check. */
  readonly kept: KeptPolicyResults;
  /** The card's chain as known (the card alone when it could not be read). */
  readonly chain: CardChain;
  /** The policies' own decision, if they made one before the store failed. */
  readonly decided?: Decision;
  /**
   * Whether `decided` is an earlier delivery's answer, logged and reserved
   * already (or, found by `answeredBefore`, answered and counted as pending).
   */
  readonly logged?: boolean;
}

/** What to answer for a {@linkcode FailedRequest}, and what it reserves until committed. */
export interface FallbackAnswer {
  readonly decision: Decision;
  /** Counted as pending; the store removes it once the answer's recording lands. */
  readonly reservation?: Reservation;
}

/** Answers a request the store failed (see {@linkcode createFallbackAnswers}). Never rejects. */
export type FallbackAnswers = (request: FailedRequest) => Promise<FallbackAnswer>;

/**
 * Creates what answers a request the store failed, and logs it
 * (`store_fallback`, with what was `answered`): the pipeline's fallback, or
 * the policies' own decision if they made one that is no more permissive
 * than it (a decline; or, when the fallback approves, their approval, which
 * may be limited). An approving fallback stands in for a decision that is
 * unknown, never for a decline in hand. An approval to answer (the
 * fallback's, or the policies' made against counters that may have moved
 * since) is checked by {@linkcode decideWithoutStore} against the counters
 * as this process last knew them and what is pending, on the card's chain,
 * and what it declines or limits stands, with the store's failure as a
 * reason beside it. The answer's reservation is
 * then pending (unless it is an earlier delivery's answer, reserved
 * already).
 *
 * @example
 * ```ts
 * import { createFallbackAnswers } from "./without_store.ts";
 * import { KeptPolicyResults } from "./request_job.ts";
 * import { PendingReservations } from "./counters.ts";
 * import { createDecide } from "../engine/decide.ts";
 * import { Deadline } from "../engine/deadline.ts";
 * import { authorizationEvent, authorizationOf } from "../../fixtures/events.ts";
 * import { deepEqual } from "node:assert/strict";
 * const answer = createFallbackAnswers({
 *   decide: createDecide([], { policyVersion: "dev", fallback: "approve" }),
 *   countersOf: () => [],
 *   pending: new PendingReservations(),
 *   known: () => null,
 *   knownChain: (chain) => chain,
 *   answeredBefore: () => undefined,
 *   log: () => {},
 * });
 * const authorization = authorizationOf(authorizationEvent());
 * const meta = { eventId: "evt_1", receivedAt: Date.now(), deadline: Deadline.after(0), path: "respond" as const, eventBytes: 4_000 };
 * const { decision } = await answer({
 *   authorization, meta, failure: undefined, kept: new KeptPolicyResults(), chain: [authorization.card.id],
 * });
 * deepEqual([decision.approved, decision.fallback], [true, "store_timeout"]);
 * ```
 */
export function createFallbackAnswers(options: FallbackAnswersOptions): FallbackAnswers {
  const { decide, countersOf, pending, known, knownChain, answeredBefore, log } = options;

  /**
   * The live pipeline's decision without the store, counting on the card's
   * whole chain what this process last read or committed of its counters
   * (what the store holds, as far as this process knows: a failed commit
   * does not lose it) and what it answered but could not commit, and,
   * while it is made (async policies), counting this request as approved in
   * full for the decisions made meanwhile.
   */
  async function checked(request: FailedRequest, counters: CounterRef[]): Promise<Decision> {
    const { authorization, meta, kept, chain } = request;
    // Read along all this process knows of the chain; reserved under the chain the store uses.
    const bucketsOf = chainBuckets(authorization.card.id, knownChain(chain));
    const usage = (counter: CounterRef) => {
      const keys = bucketsOf(counter.buckets);
      return pending.plus(sumUsage(keys.map(known)), keys, meta.eventId);
    };
    const meanwhile = reservationWithoutStore(authorization, { approved: true }, counters);
    pending.add(meta.eventId, meanwhile);
    try {
      return await decideWithoutStore(decide, authorization, meta, kept, usage);
    } finally {
      pending.remove(meta.eventId, meanwhile);
    }
  }

  return async function fallbackAnswer(request) {
    const { authorization, meta, failure, chain } = request;
    let { decided, logged = false } = request;
    // A delivery answered while the store could not commit it (its state not in KV yet): a
    // redelivery gets that answer again, with nothing more counted (before: decided anew, the
    // first answer counting against it, and answered the opposite).
    const before = logged ? undefined : answeredBefore(authorization, meta.eventId);
    if (before) [decided, logged] = [before.decision, true];
    const timedOut = failure === undefined || isTimeout(failure);
    const kind = timedOut ? "store_timeout" : "store_error";
    const fallback = decide.fallback("store", kind);
    // Marked as the store's fallback all the same, so metrics, stats and the record show the store
    // failed, whichever decision was answered. An earlier delivery's logged answer stands as it is,
    // whatever the fallback: it is already reserved.
    let answer = fallback;
    let answered = "fallback";
    if (decided && (logged || (!decided.fallback && (!decided.approved || fallback.approved)))) {
      answer = { ...decided, fallback: kind };
      answered = "decided";
    }
    let reservation: Reservation | undefined;
    let unchecked: unknown;
    try {
      const counters = countersOf(authorization, new Date(meta.receivedAt), chain);
      if (fallback.approved && answer.approved && !logged) {
        const objection = await checked(request, counters);
        if (
          !objection.approved ||
          (objection.amount !== undefined && objection.amount < (answer.amount ?? Infinity))
        ) {
          const reasons = [...objection.reasons, ...fallback.reasons];
          answer = { ...objection, reasons, fallback: kind };
          answered = "decided_without_store";
        }
      }
      if (!logged) {
        reservation = reservationWithoutStore(authorization, answer, counters);
        pending.add(meta.eventId, reservation);
      }
    } catch (error) {
      // A policy's `counters()` or the check itself failed: the answer stays as it was chosen.
      unchecked = error;
    }
    log({
      level: "error",
      msg: "store_fallback",
      kind: timedOut ? "timeout" : "error",
      answered,
      authorization_id: authorization.id,
      event_id: meta.eventId,
      ...(failure ? { error: failure } : {}),
      ...(unchecked ? { unchecked } : {}),
    });
    return { decision: answer, reservation };
  };
}
