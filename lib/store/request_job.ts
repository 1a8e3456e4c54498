/**
 * The commit job of one authorization request: read its authorization's
 * state and counters in the batch's view, decide (or replay, or decline an
 * odd request), reserve and record, all in the commit that checks what it
 * read.
 *
 * @module
 */
import type { Decide, Decision, PolicyResults, Reason } from "../engine/decide.ts";
import { Deadline } from "../engine/deadline.ts";
import {
  addsApproval,
  type AuthorizationRequest,
  type Held,
  NOTHING_HELD,
} from "../engine/policy.ts";
import { type CounterRef, NO_USAGE, type Usage } from "../engine/velocity.ts";
import type { AggregateShare } from "./aggregates.ts";
import { applySnapshot } from "./apply_snapshot.ts";
import {
  authorizationKey,
  type AuthorizationState,
  findRequest,
  heldBefore,
  isFull,
  isRequestHistory,
  type PastRequest,
  positionOf,
  type RequestEntry,
  requestFingerprint,
} from "./authorization_state.ts";
import {
  type CardChain,
  chainBuckets,
  chainGrowth,
  chainReaders,
  linkKeys,
  replacementLinks,
} from "./card_chain.ts";
import {
  type BatchView,
  type CommitJob,
  type JobStep,
  KV_LIMITS,
  uniqueKeys,
} from "./commit_engine.ts";
import {
  addToCounters,
  counterKeys,
  keysOfEntries,
  PendingReservations,
  type ReservedKeys,
  sumUsage,
} from "./counters.ts";
import {
  type DecisionPath,
  type DecisionRecord,
  RECORD_MUTATIONS,
  recordWrite,
  type Reservation,
  type ShadowDecision,
  toRecord,
} from "./decision_record.ts";
import { isFinal } from "./reconciliation.ts";

/** What one request brings besides the authorization. */
export interface RequestMeta {
  readonly eventId: string;
  /** Arrival, ms since the epoch: the decision's time (windows, records). */
  readonly receivedAt: number;
  /** By when the answer must be ready; the store answers its fallback then. */
  readonly deadline: Deadline;
  readonly path: DecisionPath;
  /** Size of the event as received. */
  readonly eventBytes: number;
}

/** Store reason codes: requests decided by the store itself, failing closed. */
const STORE_REASON_CODES = {
  /** `request_history` is missing: the request's position cannot be known. */
  requestHistoryMissing: "request_history_missing",
  /** A different request at a position already decided, or an entry Stripe could not have held. */
  requestHistoryInconsistent: "request_history_inconsistent",
  /** An increment of zero or less, or a negative first request. */
  amountNotPositive: "amount_not_positive",
  /** A request on an authorization Stripe already closed, reversed or expired. */
  authorizationFinal: "authorization_final",
  /** An authorization whose state is full (see {@linkcode isFull}): it must fit one KV value. */
  tooManyRequests: "too_many_requests",
} as const;

/** The store's commit must start this long before the answer is due. */
export const COMMIT_MARGIN_MS = 25;
/**
 * Mutations a request adds besides its keys: the record and its share of the
 * batch's aggregates (merged per batch; a batch that still overflows KV's
 * limit is split by the commit engine).
 */
const REQUEST_MUTATIONS = RECORD_MUTATIONS + 8;

/** A request's meta as its job needs it: when deciding started, and its card's chain. */
export type JobMeta = RequestMeta & {
  readonly started: number;
  readonly chain: CardChain;
  /**
   * Told each decision the job makes, before its commit: what the store may
   * answer instead of its fallback if the commit does not land in time; and
   * `undefined` by each run that has none (one that waits for an async
   * decision, finds the request answered already, or must be submitted again).
   */
  readonly decided?: (decision: Decision | undefined) => void;
  /**
   * Told what an earlier delivery of the request answered, as soon as a run
   * finds it in the state as KV holds it (not as a job of this batch, or a
   * batch in flight, wrote it: that may never land): a replay writes
   * nothing, and that answer stands whether or not the commit lands (one the
   * store cannot make, locked or full, would otherwise leave a redelivery its
   * fallback). `undefined` by each run that finds none.
   */
  readonly earlier?: (answered: Answered | undefined) => void;
  /** Kept across the request's jobs (it may be submitted again); a job without it keeps its own. */
  readonly results?: KeptPolicyResults;
};

/**
 * What one request's policies that read no counters gave (see
 * `DecideInput.results`), live and shadow, kept for the decisions made again
 * when the counters moved (on a busy card, each commit on it) or when the
 * request is submitted again, and for its fallback: a slow lookup runs once
 * per request. They may have read what the authorization holds, so they are
 * forgotten when that changes.
 *
 * @example
 * ```ts
 * import { KeptPolicyResults } from "./request_job.ts";
 * import { abstain } from "../engine/policy.ts";
 * import { equal } from "node:assert/strict";
 * const kept = new KeptPolicyResults();
 * kept.holding({ amount: 0, requests: 0 }).live[0] = abstain();
 * equal(kept.holding({ amount: 0, requests: 0 }).live.length, 1);
 * equal(kept.holding({ amount: 5_000, requests: 1 }).live.length, 0);
 * ```
 */
export class KeptPolicyResults {
  readonly live: PolicyResults = [];
  readonly shadow: PolicyResults = [];
  #held?: Held;

  /** The results, forgotten first if they were given while the authorization held otherwise. */
  holding(held: Held): this {
    if (this.#held && !sameHeld(this.#held, held)) {
      this.live.length = 0;
      this.shadow.length = 0;
    }
    this.#held = held;
    return this;
  }
}

/** A decided request before it is committed. */
interface Decided {
  readonly decision: Decision;
  readonly shadow?: Decision | Promise<Decision>;
  /** The counter values the decision read, to tell whether it still holds. */
  readonly usageSeen: string;
  readonly held: Held;
}

/** What a delivery answered, as the authorization's state keeps it: approved, and the amount held. */
export interface Answered {
  readonly approved: boolean;
  readonly amount: number;
}

/** What committing one request gives: a redelivery's logged index, or the new record. */
export type RequestOutcome =
  | {
    readonly replayed: true;
    readonly index: number;
    readonly at: number | undefined;
    /** What the earlier delivery answered, as its state entry keeps it. */
    readonly answered: Answered;
  }
  | {
    readonly replayed: false;
    readonly record: DecisionRecord;
    readonly pendingShadow?: Promise<Decision>;
    /**
     * Earlier requests' reservations still to follow Stripe's snapshot: their
     * counters did not fit this commit or were not asked for on its last run
     * (see `applySnapshot`); the store settles them after the commit (after
     * the answer, or after a fallback's record).
     */
    readonly unsettled?: true;
  };

/**
 * A request job's outcome: the request's; or, with nothing written, that its
 * card's chain grew, or that it must also read `needKeys` (the counters of
 * an entry Stripe's lifecycle made before this request arrived).
 */
export type JobOutcome =
  | RequestOutcome
  | { readonly chainGrew: true }
  | { readonly needKeys: readonly Deno.KvKey[] };

/** What a request job needs of the store. */
export interface RequestJobOptions {
  /** The live pipeline. */
  readonly decide: Decide;
  /** The shadow pipeline, if any: decided beside the live one, logged, never enforced. */
  readonly shadowDecide?: Decide;
  /** How long decisions are kept, in ms. */
  readonly retentionMs: number;
  /** Answers not committed yet: their reservations count in every decision. */
  readonly unlanded?: PendingReservations;
}

/**
 * Builds the job that decides and records one request. `counters` are the
 * pipelines' on the card's chain; `stateKeys`, counters the authorization's
 * state reserved in that the job must read too (asked for by `needKeys`;
 * with `askNoMore`, it asks for none and leaves what it did not read to be
 * settled). `answered` is a decision already answered (a fallback) to
 * record as is: it replaces what this same delivery may have committed (its
 * commit landed late, or landed and reported an error), never what another
 * delivery of the request answered.
 */
export type RequestJob = (
  authorization: AuthorizationRequest,
  meta: JobMeta,
  counters: CounterRef[],
  deadline: Deadline,
  answered?: Decision,
  stateKeys?: readonly Deno.KvKey[],
  askNoMore?: boolean,
) => CommitJob<JobOutcome, AggregateShare>;

/**
 * Creates the builder of request jobs (see {@linkcode RequestJob}) over the
 * store's pipelines and retention.
 *
 * @example
 * ```ts
 * import { createRequestJob } from "./request_job.ts";
 * import { createCommitEngine } from "./commit_engine.ts";
 * import type { AggregateShare } from "./aggregates.ts";
 * import { createDecide } from "../engine/decide.ts";
 * import { Deadline } from "../engine/deadline.ts";
 * import { authorizationEvent, authorizationOf } from "../../fixtures/events.ts";
 * import { equal } from "node:assert/strict";
 * using kv = await Deno.openKv(":memory:");
 * const requestJob = createRequestJob({
 *   decide: createDecide([], { policyVersion: "dev" }), retentionMs: 86_400_000,
 * });
 * const authorization = authorizationOf(authorizationEvent());
 * const meta = { eventId: "evt_1", receivedAt: Date.now(), deadline: Deadline.after(1_000),
 *   path: "respond" as const, eventBytes: 4_000, started: performance.now(),
 *   chain: [authorization.card.id] as const };
 * const engine = createCommitEngine<AggregateShare>(kv);
 * const outcome = await engine.submit(requestJob(authorization, meta, [], Deadline.after(1_000)));
 * equal("replayed" in outcome && !outcome.replayed && outcome.record.approved, true);
 * ```
 */
export function createRequestJob(options: RequestJobOptions): RequestJob {
  const { decide, shadowDecide, retentionMs, unlanded = new PendingReservations() } = options;
  return function requestJob(
    authorization,
    meta,
    counters,
    deadline,
    answered,
    stateKeys = [],
    askNoMore = false,
  ) {
    const authKey = authorizationKey(authorization.id);
    const now = new Date(meta.receivedAt);
    const position = positionOf(authorization);
    const fingerprint = requestFingerprint(authorization);
    const growth = chainGrowth(meta.chain);
    // Written through the batch's view: a later job in the batch, or a batch after it, sees them.
    const links = replacementLinks(authorization.card).map(([card, replaced]) =>
      [linkKeys(card)[0], replaced] as const
    );
    // Reserved under the chain's first card; read under every card of the chain too (see
    // `chainBuckets`): as many cards as the commit's checks leave room for beside the job's other keys.
    const others = 1 + stateKeys.length + growth.keys.length + links.length;
    const bucketsOf = chainBuckets(
      authorization.card.id,
      meta.chain,
      chainReaders(meta.chain, counters, others),
    );
    const buckets = uniqueKeys(counters.flatMap((counter) => bucketsOf(counter.buckets)));
    const reserveInto = counterKeys(counters);
    const pastRequests = pastRequestsOf(authorization);
    let decided: Decided | undefined;
    let deciding: Promise<unknown> | undefined;
    const kept = meta.results ?? new KeptPolicyResults();

    const keys = [authKey, ...buckets, ...stateKeys, ...growth.keys, ...links.map(([key]) => key)];
    return {
      keys,
      mutations: REQUEST_MUTATIONS,
      bytes: meta.eventBytes + 4 * 1024,
      deadline,
      likelyAbsent: position === 0 ? authKey : undefined,
      run(view: BatchView): JobStep<JobOutcome, AggregateShare> {
        // Until this run decides, no decision is in hand (an earlier run's read other values).
        meta.decided?.(undefined);
        meta.earlier?.(undefined);
        const state = view.get<AuthorizationState>(authKey);
        const earlier = findRequest(state, meta.eventId, fingerprint);
        // Another delivery's answer stays: Stripe may have applied it, and releasing what it
        // reserved for a duplicate's fallback could free a limit it still holds.
        if (earlier && (!answered || earlier.at !== now.getTime())) {
          const answered = { approved: earlier.approved, amount: earlier.amount };
          if (view.committed(authKey)) meta.earlier?.(answered);
          return { done: { replayed: true, index: earlier.index, at: earlier.at, answered } };
        }
        // The chain's first card was since found to replace another: decided on the whole chain.
        if (growth.grew(view)) return { done: { chainGrew: true } };
        // Stripe's lifecycle arrived first (our answer was late) and reserved under its own time
        // (another day's window, when it crossed midnight): those counters move with this request,
        // as many requests' as the commit's checks leave room for, the newest first. Asked once,
        // then only for what Stripe's event added meanwhile for this request or a later one (held
        // for Stripe alone, in its windows); on its last run (Stripe's events kept landing between
        // them), none: the rest is settled after.
        if (state?.stripe && !askNoMore) {
          const asked = stateKeys.length > 0;
          const entries = asked
            ? state.requests.filter((entry) =>
              entry.stripe_only && entry.position >= (position ?? 0)
            )
            : state.requests;
          const read = [...buckets, ...stateKeys];
          const needKeys = keysOfEntries(entries, read, KV_LIMITS.checks - keys.length);
          if (needKeys.length > 0) return { done: { needKeys } };
        }
        const index = earlier?.index ?? state?.requests.length ?? 0;
        // Full: declined (or a fallback answered) reserving nothing, logged, left out of the state.
        const full = !earlier && isFull(state);
        const held = pastRequests ? heldBefore(state, pastRequests, position ?? 0) : NOTHING_HELD;
        // Policies name their counters by this card; the job reads them along its chain.
        const usage = (counter: CounterRef): Usage => {
          const keys = bucketsOf(counter.buckets);
          const read = sumUsage(keys.map((key) => view.get<Usage>(key)));
          // What is not committed yet, where it is read: an answer given while the chain could not
          // be read is counted under the first card its event named.
          return unlanded.empty ? read : unlanded.plus(read, keys, meta.eventId);
        };
        // Only an async decision is kept across runs: it holds if the counters it read still do.
        const usageSeen = () =>
          JSON.stringify(buckets.map((key) => view.get<Usage>(key))) +
          (unlanded.empty ? "" : JSON.stringify(unlanded.plus(NO_USAGE, buckets, meta.eventId)));
        let outcome: Omit<Decided, "usageSeen">;
        const odd = answered
          ? undefined
          : oddity(authorization, state, position, !!pastRequests, full, decide.policyVersion);
        if (answered || odd) {
          outcome = { decision: answered ?? odd!, held };
        } else if (decided && decided.usageSeen === usageSeen() && sameHeld(decided.held, held)) {
          outcome = decided;
        } else {
          if (deciding) return { defer: deciding };
          // The policies stop in time for their decision (or their fallback) to commit.
          const policyDeadline = new Deadline(deadline.at - COMMIT_MARGIN_MS);
          const { live, shadow: shadowResults } = kept.holding(held);
          const input = { now, usage, held, deadline: policyDeadline, results: live };
          const decision = decide(authorization, input);
          const shadow = shadowDecide?.(authorization, { ...input, results: shadowResults });
          if (decision instanceof Promise) {
            // Awaited outside the serial section; used if the counters it read still hold.
            const seen = usageSeen();
            deciding = decision.then((d) => {
              decided = { decision: d, shadow, usageSeen: seen, held };
              deciding = undefined;
              // A decline is in hand for the store if this job does not run again before the
              // deadline; an approval is not until it is checked against the counters as they are.
              if (!d.approved) meta.decided?.(d);
            });
            return { defer: deciding };
          }
          outcome = { decision, shadow, held };
        }
        const { decision } = outcome;
        if (!answered) meta.decided?.(decision);
        const reservation = full
          ? { ...reserveInto, amount: 0, count: 0 }
          : reservationOf(authorization, decision, held, reserveInto);
        // What it approved (a full authorization's reserves nothing, and is neither in the state nor
        // an earlier delivery's).
        const { amount } = reservation;
        // Only this delivery's own entry is replaced: same time, same windows.
        addToCounters(view, reservation, earlier?.reservation);
        // Cards replacing this one, and transactions naming it, follow its links.
        for (const [key, replaced] of links) {
          if (view.get(key) !== replaced) view.set(key, replaced);
        }
        const record0 = toRecord(authorization, decision, {
          eventId: meta.eventId,
          index,
          position: position ?? 0,
          decidedAt: now,
          latencyMs: performance.now() - meta.started,
          // Answered directly: a challenge, as Stripe's decline endpoint takes no
          // `send_fraud_challenges` (Authorizations.d.ts, AuthorizationDeclineParams: `expand`,
          // `metadata`); and the store's own decline of an odd request (another request at a
          // position already decided), which through the API would be a second call for it.
          path: meta.path === "api" && (odd || decision.sendFraudChallenges?.length)
            ? "respond"
            : meta.path,
          held,
          reservation,
        });
        const shadow = outcome.shadow instanceof Promise || !outcome.shadow
          ? undefined
          : shadowOf(record0, outcome.shadow);
        const whole: DecisionRecord = {
          ...record0,
          ...(shadow ? { shadow } : {}),
          // What this delivery had committed, when what was answered differs from it.
          ...(earlier && (earlier.approved !== decision.approved || earlier.amount !== amount)
            ? { superseded: { approved: earlier.approved, amount: earlier.amount } }
            : {}),
        };
        // Serialized here, in the job: a record that cannot be fails this request alone.
        const { record, write: writeRecord } = recordWrite(whole, retentionMs);
        let unsettled = false;
        // A full authorization's state takes nothing of it (see above).
        if (!full) {
          const entry: RequestEntry = {
            index,
            event_id: meta.eventId,
            position: position ?? 0,
            fingerprint,
            approved: decision.approved,
            amount,
            reservation,
            at: now.getTime(),
          };
          const requests = [...state?.requests ?? []];
          requests[index] = entry;
          const next: AuthorizationState = {
            ...state,
            authorization_id: authorization.id,
            card_id: authorization.card.id,
            decided_at: state?.decided_at ?? record.decided_at,
            requests,
          };
          if (state?.stripe) {
            // Stripe's lifecycle arrived first: its snapshot still decides what the authorization
            // holds, and this request now has an outcome. Only counters this job read move; the
            // store settles the rest after the answer. Usually there is none: the ones a new
            // request moves are among the newest, which fit (its own, the one before it, and a
            // late request's own position held for Stripe alone; see `oddity`).
            unsettled = applySnapshot(view, next, state.stripe, now, retentionMs).unsettled;
          } else view.set(authKey, next, retentionMs);
        }
        return {
          done: {
            replayed: false,
            record,
            pendingShadow: outcome.shadow instanceof Promise ? outcome.shadow : undefined,
            ...(unsettled ? { unsettled: true as const } : {}),
          },
          // A fallback that supersedes a committed decision was counted when that committed:
          // sums only grow, so the counters keep the first outcome rather than count it twice.
          shared: earlier ? undefined : { decided: record },
          write(operation: Deno.AtomicOperation) {
            // A fallback replacing this delivery's own record writes it under the same key.
            writeRecord(operation);
          },
        };
      },
    };
  };
}

/**
 * What `decision` on `authorization` reserves in the counters `into`, when
 * the authorization `held` this before it: the amount approved, and one
 * approval if it adds one (as its reconciliation counts it, and `countLimit`
 * decides).
 *
 * @example
 * ```ts
 * import { reservationOf } from "./request_job.ts";
 * import { authorizationEvent, authorizationOf } from "../../fixtures/events.ts";
 * import { deepEqual } from "node:assert/strict";
 * const first = authorizationOf(authorizationEvent("online", { pending_request: { amount: 5_000 } }));
 * const approved = { approved: true, amount: 2_000, reasons: [], trace: [], policyVersion: "dev" };
 * const reservation = reservationOf(first, approved, { amount: 0, requests: 0 }, { keys: [], expireInMs: [] });
 * deepEqual([reservation.amount, reservation.count], [2_000, 1]);
 * ```
 */
export function reservationOf(
  authorization: AuthorizationRequest,
  decision: Pick<Decision, "approved" | "amount">,
  held: Held,
  into: ReservedKeys,
): Reservation {
  const amount = decision.approved ? decision.amount ?? authorization.pending_request.amount : 0;
  return { ...into, amount, count: addsApproval(amount, held) ? 1 : 0 };
}

/**
 * The authorization's `request_history`, or `undefined` if an entry is one
 * Stripe could not have held: such a request is declined as inconsistent,
 * and its history holds nothing.
 *
 * @example
 * ```ts
 * import { pastRequestsOf } from "./request_job.ts";
 * import { authorizationEvent, authorizationOf } from "../../fixtures/events.ts";
 * import { equal } from "node:assert/strict";
 * equal(pastRequestsOf(authorizationOf(authorizationEvent()))?.length, 0);
 * ```
 */
export function pastRequestsOf(authorization: AuthorizationRequest): PastRequest[] | undefined {
  const history: readonly unknown[] = Array.isArray(authorization.request_history)
    ? authorization.request_history
    : [];
  return isRequestHistory(history) ? history : undefined;
}

/**
 * A request the store declines itself (failing closed): odd input that no
 * policy should see, given the authorization's `state` (`null` when unknown),
 * the request's `position` in its `request_history` and whether that history
 * is well formed, and whether the state is `full`. One reason says what was
 * odd.
 *
 * @example
 * ```ts
 * import { oddity } from "./request_job.ts";
 * import { authorizationEvent, authorizationOf } from "../../fixtures/events.ts";
 * import { equal } from "node:assert/strict";
 * const missing = authorizationOf(authorizationEvent());
 * equal(oddity(missing, null, undefined, true, false, "dev")?.reasons[0].code, "request_history_missing");
 * ```
 */
export function oddity(
  authorization: AuthorizationRequest,
  state: AuthorizationState | null,
  position: number | undefined,
  historyWellFormed: boolean,
  full: boolean,
  policyVersion: string,
): Decision | undefined {
  const code = position === undefined
    ? STORE_REASON_CODES.requestHistoryMissing
    : isFinal(state)
    ? STORE_REASON_CODES.authorizationFinal
    : full
    ? STORE_REASON_CODES.tooManyRequests
    : !historyWellFormed ||
        state?.requests.some((entry) => entry.position >= position && !entry.stripe_only)
    ? STORE_REASON_CODES.requestHistoryInconsistent
    : authorization.pending_request.amount < 0 ||
        (position > 0 && authorization.pending_request.amount === 0)
    ? STORE_REASON_CODES.amountNotPositive
    : undefined;
  if (!code) return undefined;
  const reason: Reason = { policy: "store", code, detail: String(position ?? "none") };
  return { approved: false, reasons: [reason], trace: [], policyVersion };
}

function sameHeld(a: Held, b: Held): boolean {
  return a.amount === b.amount && a.requests === b.requests;
}

/** A shadow decision beside the live one it shadows. */
export function shadowOf(live: DecisionRecord, decision: Decision): ShadowDecision {
  const amount = decision.amount ?? null;
  return {
    approved: decision.approved,
    amount,
    reasons: decision.reasons,
    trace: decision.trace,
    disagrees: decision.approved !== live.approved || (decision.approved && amount !== live.amount),
  };
}
