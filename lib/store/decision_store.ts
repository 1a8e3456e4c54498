/**
 * The decision store: decides each authorization request inside the commit
 * that records it (so the velocity counters it read are still true when its
 * reservation lands), recognises redeliveries, reconciles with Stripe's
 * lifecycle events, and serves the log's reads. All Deno KV access lives in
 * this folder:
 *
 * - commit_engine.ts: group commits within KV's limits, retries, isolation;
 * - request_job.ts: one request decided, reserved and recorded in a batch;
 * - without_store.ts: what is answered when the store cannot decide and commit in time;
 * - unlanded_answers.ts: those answers recorded once the store can, retried, waited for by a stop;
 * - record_rewrites.ts: logged records rewritten (a late shadow decision, an API path that failed);
 * - lifecycle.ts: Stripe's lifecycle events applied (reconciliation.ts merges them);
 * - apply_snapshot.ts: Stripe's snapshot of an authorization applied to its state;
 * - card_chain.ts: a card's replacement chain, whose first card names its counters;
 * - counters.ts: reservations on the velocity counters;
 * - decision_record.ts: one logged request, its keys and trimming;
 * - authorization_state.ts: per authorization, its requests and what they hold;
 * - reconciliation.ts: lifecycle events merged in any order, outcomes;
 * - aggregates.ts: the dashboard's per-minute counts, kept by the write path;
 * - decision_log.ts: bounded reads;
 * - kv_path.ts, health.ts, sessions.ts: opening the store, its health, dashboard sessions.
 *
 * Counters (counters.ts) are named after the first card of a card's
 * `replacement_for` chain (card_chain.ts).
 *
 * @module
 */
import { Deadline, TIMED_OUT } from "../engine/deadline.ts";
import type { Decide, Decision } from "../engine/decide.ts";
import { type AuthorizationRequest, NOTHING_HELD } from "../engine/policy.ts";
import type { CounterRef, Usage } from "../engine/velocity.ts";
import { type Logger, throttledLogger } from "../telemetry/log.ts";
import { type AggregateShare, createAggregateWriter } from "./aggregates.ts";
import type { Metrics } from "../telemetry/metrics.ts";
import { positionOf } from "./authorization_state.ts";
import { type CardChain, createCardChains, onChain, toldChain } from "./card_chain.ts";
import {
  asError,
  AttemptsExhaustedError,
  BACKGROUND_MS,
  type CommitEngine,
  createCommitEngine,
  DeadlineExceededError,
  submitAskingKeys,
} from "./commit_engine.ts";
import { counterKeys, PendingReservations } from "./counters.ts";
import {
  type DecisionRecord,
  recordFromStored,
  recordKeyOf,
  type StoredRecord,
  toRecord,
} from "./decision_record.ts";
import {
  authorizationRecord,
  authorizationRequests,
  type ListQuery,
  listRecords,
} from "./decision_log.ts";
import { isStoreFailing } from "./kv_path.ts";
import { createLifecycle, type Lifecycle } from "./lifecycle.ts";
import { createRecordRewrites } from "./record_rewrites.ts";
import {
  type Answered,
  COMMIT_MARGIN_MS,
  createRequestJob,
  type JobMeta,
  KeptPolicyResults,
  type RequestMeta,
  type RequestOutcome,
} from "./request_job.ts";
import { createUnlandedAnswers, RETRY_LOG_EVERY_MS, type Unlanded } from "./unlanded_answers.ts";
import { createFallbackAnswers } from "./without_store.ts";

export type {
  DecisionPath,
  DecisionRecord,
  Reconciliation,
  Reservation,
  ShadowDecision,
} from "./decision_record.ts";
export { decisionLog, type ListQuery } from "./decision_log.ts";
export type { RequestMeta } from "./request_job.ts";

/** Options of {@linkcode createDecisionStore}. */
export interface DecisionStoreOptions {
  readonly kv: Deno.Kv;
  /** The live pipeline; its `fallback` is what the store answers when it cannot decide and record in time. */
  readonly decide: Decide;
  readonly log: Logger;
  /** How long decisions are kept, in ms. */
  readonly retentionMs: number;
  /** The shadow pipeline, if any: decided beside the live one, logged, never enforced. */
  readonly shadowDecide?: Decide;
  readonly metrics?: Metrics;
}

/** What the webhook needs to answer: the record, and whether it was decided before. */
export interface RecordedDecision {
  readonly record: DecisionRecord;
  readonly replayed: boolean;
  /** Set when the store failed: the fallback answered, not (yet) in the log. */
  readonly unrecorded?: true;
}

/** The decision log and its queries. */
export interface DecisionStore extends Lifecycle {
  /**
   * Decides one request inside the commit that records it (or replays the
   * answer to a redelivery) and resolves once it is durable, or with the
   * fallback at the deadline; the log always ends up holding what was answered.
   */
  decideAndRecord(
    authorization: AuthorizationRequest,
    meta: RequestMeta,
  ): Promise<RecordedDecision>;
  /** Records that the API path failed and the webhook answered this request instead. */
  markAnsweredDirectly(record: DecisionRecord): Promise<void>;
  /** An authorization: its latest request, total reservation, reconciliation and `requests`. */
  get(authorizationId: string): Promise<DecisionRecord | null>;
  /**
   * An authorization's logged requests, with `reconciliation` each carrying
   * its; `null` when some cannot be found this way (see `authorizationRequests`).
   */
  requests(authorizationId: string, reconciliation: boolean): Promise<DecisionRecord[] | null>;
  /**
   * Logged requests, newest first, from a time on and before a time
   * (exclusive); with `reconciliation`, each carries its authorization's.
   */
  list(query: ListQuery): Promise<DecisionRecord[]>;
  /**
   * Stops: waits, up to 4 s in all, for `requestsAnswered` (the server's
   * shutdown: requests in flight may still answer without the store) and for
   * what was answered while the store could not commit (retried at once, no
   * longer paced) and async shadow decisions to be recorded; logs
   * `store_unrecorded` (reason `stopped`) for each answer still not
   * committed, with the decision, for an operator to account for. Resolves
   * with how many answers since the start were not logged (these, and any
   * the store gave up on before); the KV may be closed then. Called again, it
   * waits for the same stop.
   */
  stop(requestsAnswered?: Promise<unknown>): Promise<number>;
  /** Whether a stop began: what still runs may fail on the store as it closes. */
  readonly stopping: boolean;
}

/**
 * Creates the store over an open `Deno.Kv`.
 *
 * A request is decided in the commit engine's serial section: the batch has
 * read the authorization's state and every counter the policies read, the
 * policies run against those values (and earlier requests of the same batch),
 * and the decision, its reservation and its record commit together, checked
 * against what was read. Async policies are awaited outside the section and
 * their decision used if the counters it read are unchanged.
 *
 * @example
 * ```ts
 * import { createDecisionStore } from "./decision_store.ts";
 * import { createDecide } from "../engine/decide.ts";
 * import { Deadline } from "../engine/deadline.ts";
 * import { authorizationEvent, authorizationOf } from "../../fixtures/events.ts";
 * import { equal } from "node:assert/strict";
 * using kv = await Deno.openKv(":memory:");
 * const store = createDecisionStore({
 *   kv, decide: createDecide([], { policyVersion: "dev" }), log: () => {}, retentionMs: 86_400_000,
 * });
 * const authorization = authorizationOf(authorizationEvent());
 * const meta = { eventId: "evt_1", receivedAt: Date.now(), deadline: Deadline.after(1_000), path: "respond" as const, eventBytes: 4_000 };
 * const first = await store.decideAndRecord(authorization, meta);
 * const again = await store.decideAndRecord(authorization, meta);
 * equal(first.record.approved, true);
 * equal(again.replayed, true);
 * ```
 */
export function createDecisionStore(options: DecisionStoreOptions): DecisionStore {
  const { kv, decide, shadowDecide, metrics, log, retentionMs } = options;
  const aggregates = createAggregateWriter(kv);
  // Commits may retry every few ms through an outage, and every answer waiting to be recorded
  // retries: at most a line a second of each, with how many were not logged.
  const logRetry = throttledLogger(log, RETRY_LOG_EVERY_MS);
  const engine: CommitEngine<AggregateShare> = createCommitEngine<AggregateShare>(kv, {
    // A few lock waits are normal with several processes on one file: only persistent ones (the
    // 4th attempt on) are logged.
    onRetry: (error, attempt) => {
      if (attempt >= 4) logRetry({ level: "warn", msg: "store_retry", attempt, error });
    },
    // The dashboard's per-minute aggregates, committed with the decisions they count.
    beforeCommit(operation, shares) {
      const decided = shares.flatMap(({ decided }) => decided ? [decided] : []);
      const outcomes = shares.flatMap(({ firstOutcome }) => firstOutcome ? [firstOutcome] : []);
      if (decided.length > 0) aggregates.addDecisions(operation, decided);
      if (outcomes.length > 0) aggregates.addReconciliations(operation, outcomes);
    },
  });
  const chains = createCardChains(kv);
  // Answers not committed yet (the store could not, in time): every decision here counts them.
  const pendingReservations = new PendingReservations();
  const requestJob = createRequestJob({
    decide,
    shadowDecide,
    retentionMs,
    unlanded: pendingReservations,
  });
  const unlandedAnswers = createUnlandedAnswers({ log, pending: pendingReservations });
  const { inBackground, retriedWhileFailing, loggedUnrecorded } = unlandedAnswers;
  const fallbackAnswers = createFallbackAnswers({
    decide,
    countersOf,
    pending: pendingReservations,
    known: (key) => (engine.lastKnown(key) as Usage | undefined) ?? null,
    knownChain: (chain) => chains.known(chain),
    answeredBefore: unlandedAnswers.answeredBefore,
    log,
  });
  const rewrites = createRecordRewrites({ kv, retentionMs, aggregates, metrics });
  const { settle, ...lifecycle } = createLifecycle({
    kv,
    engine,
    reservedKeys: async (request, at) =>
      counterKeys(countersOf(request, at, await chains.of(request.card))),
    retentionMs,
    log,
    metrics,
  });

  /** The pipelines' counters, with the card's named after its chain's first card. */
  function countersOf(
    authorization: AuthorizationRequest,
    now: Date,
    chain: CardChain,
  ): CounterRef[] {
    const counters = [
      ...decide.counters(authorization, now),
      ...shadowDecide?.counters(authorization, now) ?? [],
    ];
    return onChain(counters, authorization.card.id, chain);
  }

  /**
   * Submits the request's job, and again on its card's chain read anew
   * (within the job's deadline) while that chain grew as the request was
   * decided, each time with the counters it asks to read besides its own.
   */
  async function submitRequest(
    authorization: AuthorizationRequest,
    meta: JobMeta,
    deadline: Deadline,
    answered?: Decision,
  ): Promise<RequestOutcome> {
    for (let chain = meta.chain;;) {
      const counters = countersOf(authorization, new Date(meta.receivedAt), chain);
      const jobMeta = chain === meta.chain ? meta : { ...meta, chain };
      // Keys asked for only after Stripe's lifecycle came first, and the state is read anew each
      // time: its last run asks for none and leaves what it did not read to be settled.
      const outcome = await submitAskingKeys(
        engine,
        [],
        (stateKeys, last) =>
          requestJob(authorization, jobMeta, counters, deadline, answered, stateKeys, last),
        3,
      );
      if (!("chainGrew" in outcome)) {
        // What its commit could not move of Stripe's snapshot, after its answer (or its record).
        if (!outcome.replayed && outcome.unsettled) {
          inBackground(
            settle(authorization.id).catch((error) =>
              log({ level: "error", msg: "unsettled", authorization_id: authorization.id, error })
            ),
          );
        }
        return outcome;
      }
      // Links learned one by one while the request is decided (a burst of `issuing_card.created`
      // events) cost a reading each, within the request's deadline. Each reading must add a card:
      // a chain stops growing at its bound, so this ends.
      const grown = await deadline.race(chains.resolve(authorization.card.id, chain));
      if (grown === TIMED_OUT) throw new DeadlineExceededError();
      if (grown.length <= chain.length) {
        throw new Error("the card's replacement chain grew, but not as its links read");
      }
      chain = grown;
    }
  }

  /** Commits a fallback that was answered (its job's `meta`); logs if it cannot. Never rejects. */
  function recordFallback(answer: Unlanded, meta: JobMeta): Promise<void> {
    const { authorization, decision } = answer;
    // A fallback is answered in the response, whichever path the request was to take.
    const inResponse = { ...meta, path: "respond" as const };
    return recordAnswered(authorization, inResponse, decision).then(
      (result) => {
        if (result.replayed || !result.record.superseded) return;
        // The log now holds the fallback that was answered, not what this delivery committed.
        log({
          level: "warn",
          msg: "store_corrected",
          authorization_id: authorization.id,
          event_id: meta.eventId,
          committed_approved: result.record.superseded.approved,
          answered_approved: decision.approved,
        });
      },
      loggedUnrecorded(answer),
    );
  }

  /**
   * Commits what was answered, attempt after attempt while the store cannot
   * commit in time or keeps failing (a lock held, a store down or failing its
   * reads, a full disk), for up to 15 minutes (see `retriedWhileFailing`):
   * the answer is the log, and an approval answered must be reserved once the
   * store is back. Any other error would fail again, and is thrown at once.
   */
  function recordAnswered(
    authorization: AuthorizationRequest,
    meta: JobMeta,
    decision: Decision,
  ): Promise<RequestOutcome> {
    return retriedWhileFailing(
      { authorization, meta },
      () => submitRequest(authorization, meta, Deadline.after(BACKGROUND_MS), decision),
      (error) =>
        error instanceof DeadlineExceededError || error instanceof AttemptsExhaustedError ||
        isStoreFailing(error),
    );
  }

  /**
   * The card's chain, read again while reading it fails or does not answer
   * (each read, `first` too, bounded as a background commit), as
   * {@linkcode recordAnswered} retries a commit: an answer given while it
   * could not be read is recorded once it can.
   */
  function chainOnceReadable(
    answer: Unlanded,
    first: CardChain | Promise<CardChain>,
  ): Promise<CardChain> {
    let pending: typeof first | undefined = first;
    return retriedWhileFailing(answer, async () => {
      const reading = pending ?? chains.of(answer.authorization.card);
      pending = undefined;
      const chain = await Deadline.after(BACKGROUND_MS).race(Promise.resolve(reading));
      if (chain === TIMED_OUT) throw new DeadlineExceededError();
      return chain;
      // Any failure, but not once stopping: the store is closing, and a read would fail at once.
    }, () => !unlandedAnswers.stopping);
  }

  /** Logs and records what a committed request needs beyond its answer. */
  function committed(
    authorization: AuthorizationRequest,
    meta: RequestMeta,
    { record, pendingShadow }: Extract<RequestOutcome, { replayed: false }>,
  ): void {
    if (pendingShadow) {
      inBackground(
        rewrites.recordShadow(record, pendingShadow).catch((error) =>
          log({
            level: "error",
            msg: "shadow_unrecorded",
            authorization_id: authorization.id,
            error,
          })
        ),
      );
    } else if (record.shadow) rewrites.countShadow(record.shadow);
    const odd = record.reasons.find((reason) => reason.policy === "store");
    if (odd && !record.fallback) {
      log({
        level: "warn",
        msg: "odd_request",
        code: odd.code,
        authorization_id: authorization.id,
        event_id: meta.eventId,
        position: odd.detail,
      });
    }
  }

  return {
    async decideAndRecord(authorization, meta) {
      const started = performance.now();
      const kept = new KeptPolicyResults();
      let chain: CardChain;
      // A replacement card's chain may need KV reads (the first time in this process, or each time
      // through a link an earlier version stored): bounded by the deadline.
      const resolving = chains.of(authorization.card);
      try {
        const resolved = resolving instanceof Promise
          ? await meta.deadline.race(resolving)
          : resolving;
        if (resolved === TIMED_OUT) throw new DeadlineExceededError();
        chain = resolved;
      } catch (error) {
        // Counted on the chain its event tells until the rest is known (by the requests meanwhile).
        const { decision, reservation } = await fallbackAnswers({
          authorization,
          meta,
          failure: error,
          kept,
          chain: toldChain(authorization.card),
        });
        const answer = { authorization, meta, decision, reservation };
        // The answer is the log: recorded and reserved like any fallback once the chain is known
        // (read again, as a commit is retried, if reading it failed).
        inBackground(
          chainOnceReadable(answer, resolving).then((late) =>
            recordFallback(answer, { ...meta, started, chain: late })
          ).catch(loggedUnrecorded(answer)),
          answer,
        );
        return unrecordedAnswer(authorization, meta, decision);
      }
      let decided: Decision | undefined;
      let earlier: Answered | undefined;
      // What its fallback's recording runs with: its runs, after the answer, tell nothing here.
      const recordMeta = { ...meta, started, chain, results: kept };
      const jobMeta = {
        ...recordMeta,
        decided: (decision: Decision | undefined) => decided = decision,
        earlier: (answered: Answered | undefined) => earlier = answered,
      };
      const jobDeadline = new Deadline(meta.deadline.at - COMMIT_MARGIN_MS);
      const pending = submitRequest(authorization, jobMeta, jobDeadline);
      let result: Awaited<typeof pending> | typeof TIMED_OUT;
      let failure: unknown;
      try {
        result = await meta.deadline.race(pending);
      } catch (error) {
        result = TIMED_OUT;
        failure = error;
      }
      if (result !== TIMED_OUT) {
        if (!result.replayed) {
          committed(authorization, meta, result);
          return { record: result.record, replayed: false };
        }
        const logged = await loggedRecord(kv, authorization.id, result, meta.deadline);
        if (!(logged instanceof Error)) return { record: logged, replayed: true };
        failure = logged;
      }
      // What an earlier delivery answered, as its state keeps it, whether or not this one's commit
      // landed: what it logged, not a new decision (it stays logged; the fallback's recording
      // finds it and writes nothing).
      if (earlier) decided = answerOf(authorization, earlier, decide.policyVersion);
      // The answer is the log: what is answered now is what gets recorded.
      const { decision, reservation } = await fallbackAnswers({
        authorization,
        meta,
        failure,
        kept,
        chain,
        decided,
        logged: earlier !== undefined,
      });
      // Recorded once this delivery's job is done: if its commit still lands, or landed and
      // reported an error (KV Connect can, for a write it applied; a rejection after the deadline
      // may mean "outcome unknown"), the fallback replaces it. A replay leaves the earlier
      // delivery's answer as it is (see request_job.ts). Until then, decisions here count it.
      const answer = { authorization, meta, decision, reservation };
      const correct = () => recordFallback(answer, recordMeta);
      inBackground(failure === undefined ? pending.then(correct, correct) : correct(), answer);
      return unrecordedAnswer(authorization, meta, decision);
    },

    markAnsweredDirectly(record) {
      // Its caller waits until its answer's deadline; a stop waits for the rest.
      const marking = rewrites.markAnsweredDirectly(record);
      inBackground(marking);
      return marking;
    },

    get: (authorizationId) => authorizationRecord(kv, authorizationId),
    requests: (authorizationId, reconciliation) =>
      authorizationRequests(kv, authorizationId, reconciliation),

    list: (query) => listRecords(kv, query),

    ...lifecycle,

    stop: unlandedAnswers.stop,
    get stopping() {
      return unlandedAnswers.stopping;
    },
  };
}

/**
 * A redelivery's logged record (`replay` names it), read within `deadline`;
 * an `Error` saying why not when it cannot be read in time or has expired.
 */
async function loggedRecord(
  kv: Deno.Kv,
  authorizationId: string,
  replay: Extract<RequestOutcome, { replayed: true }>,
  deadline: Deadline,
): Promise<DecisionRecord | Error> {
  try {
    const stored = await deadline.race(
      kv.get<StoredRecord>(recordKeyOf(authorizationId, replay.index, replay.at)),
    );
    if (stored !== TIMED_OUT && stored.value) return recordFromStored(stored.value);
    return new Error(
      stored === TIMED_OUT
        ? "the logged request could not be read in time"
        : "the logged request expired",
    );
  } catch (error) {
    return asError(error);
  }
}

/** A logged answer as a decision: approved, in full or for `amount`, or declined. */
function answerOf(
  authorization: AuthorizationRequest,
  { approved, amount }: Answered,
  policyVersion: string,
): Decision {
  const limited = approved && amount < authorization.pending_request.amount;
  return {
    approved,
    ...(limited ? { amount } : {}),
    reasons: [],
    trace: [],
    policyVersion,
  };
}

/** What is answered while the store could not commit it: a record not (yet) in the log. */
function unrecordedAnswer(
  authorization: AuthorizationRequest,
  meta: RequestMeta,
  decision: Decision,
): RecordedDecision {
  const position = positionOf(authorization) ?? 0;
  const record = toRecord(authorization, decision, {
    eventId: meta.eventId,
    index: -1,
    position,
    decidedAt: new Date(meta.receivedAt),
    latencyMs: 0,
    path: "respond",
    held: NOTHING_HELD,
    reservation: { keys: [], amount: 0, count: 0 },
  });
  return { record, replayed: false, unrecorded: true };
}
