/**
 * The decision store: decides each authorization request inside the commit
 * that records it (so the velocity counters it read are still true when its
 * reservation lands), recognises redeliveries, reconciles with Stripe's
 * lifecycle events, and serves the log's reads. All Deno KV access lives in
 * this folder:
 *
 * - commit_engine.ts: group commits within KV's limits, retries, isolation;
 * - request_job.ts: one request decided, reserved and recorded in a batch;
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
import { type Decide, type Decision, formatReason } from "../engine/decide.ts";
import { type AuthorizationRequest, NOTHING_HELD } from "../engine/policy.ts";
import { type CounterRef, NO_USAGE } from "../engine/velocity.ts";
import { type Logger, throttledLogger } from "../telemetry/log.ts";
import { type AggregateShare, createAggregateWriter } from "./aggregates.ts";
import type { Metrics } from "../telemetry/metrics.ts";
import { positionOf } from "./authorization_state.ts";
import { type CardChain, chainKey, createCardChains, onChain } from "./card_chain.ts";
import {
  AttemptsExhaustedError,
  BACKGROUND_MS,
  type CommitEngine,
  createCommitEngine,
  DeadlineExceededError,
  isTimeout,
  uniqueKeys,
} from "./commit_engine.ts";
import { counterKeys, PendingReservations } from "./counters.ts";
import {
  type DecisionRecord,
  fittedRecord,
  isRecordRef,
  keyOfRecord,
  recordFromStored,
  recordKeyOf,
  type RecordRef,
  type Reservation,
  type ShadowDecision,
  type StoredRecord,
  toRecord,
} from "./decision_record.ts";
import {
  authorizationRecord,
  authorizationRequests,
  type ListQuery,
  listRecords,
} from "./decision_log.ts";
import { createLifecycle, type Lifecycle } from "./lifecycle.ts";
import {
  COMMIT_MARGIN_MS,
  createRequestJob,
  decideWithoutStore,
  type JobMeta,
  KeptPolicyResults,
  type RequestMeta,
  type RequestOutcome,
  reservationWithoutStore,
  shadowOf,
} from "./request_job.ts";

export type {
  DecisionPath,
  DecisionRecord,
  Reconciliation,
  Reservation,
  ShadowDecision,
} from "./decision_record.ts";
export { decisionLog, type ListQuery } from "./decision_log.ts";
export type { RequestMeta } from "./request_job.ts";

/**
 * How long what was answered without the store's commit is retried while the
 * store cannot commit in time (a lock held by another process, a KV server
 * down): an outage of minutes, not only a slow commit, still ends logged and
 * reserved.
 */
const RECORD_RETRY_MS = 15 * 60_000;
/** Its pauses between attempts: from a second, doubling, up to half a minute. */
const FIRST_RETRY_PAUSE_MS = 1_000;
const MAX_RETRY_PAUSE_MS = 30_000;
/** Recordings waiting to be retried at most; past it (a long outage at full rate), one that fails is logged `store_unrecorded`. */
const MAX_RECORDS_WAITING = 10_000;
/**
 * How long a stop waits, from its signal, for the requests in flight and for
 * what was answered but not yet committed (see `DecisionStore.stop`): inside
 * the 5 s Deno Deploy gives an instance between its SIGINT and its SIGKILL
 * ("Runtime" reference), with a second for the rest, and Docker's 10 s
 * between SIGTERM and SIGKILL.
 */
const STOP_WAIT_MS = 4_000;
/** `store_retry` and `store_record_retry` are each logged at most this often. */
const RETRY_LOG_EVERY_MS = 1_000;

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
  const logRecordRetry = throttledLogger(log, RETRY_LOG_EVERY_MS);
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
  const unlanded = new PendingReservations();
  const requestJob = createRequestJob({ decide, shadowDecide, retentionMs, unlanded });
  // Work that lands after its answer, which a stop waits for: the answers given while the store
  // could not commit (each with what to log if it never lands) and async shadow decisions.
  const landing = new Map<Promise<unknown>, Unlanded | undefined>();
  function inBackground(work: Promise<unknown>, answer?: Unlanded): void {
    landing.set(work, answer);
    const landed = () => {
      landing.delete(work);
      if (answer?.reservation) unlanded.remove(answer.meta.eventId, answer.reservation);
    };
    work.then(landed, landed);
  }
  // Retries waiting for their next attempt; a stop wakes them (each removes itself when it wakes,
  // so nothing is kept per retry for the life of the process).
  const pauses = new Set<() => void>();
  let stopping: Promise<number> | undefined;
  // Answers the stop logged as unrecorded: their attempt, cut short when the KV closes, is not
  // logged again.
  const loggedAtStop = new Set<Unlanded>();
  let unrecordedAnswers = 0;
  function pause(ms: number): Promise<void> {
    if (stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        pauses.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      pauses.add(wake);
    });
  }
  const lifecycle = createLifecycle({
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
   * Submits the request's job, and again on its card's chain read anew (within
   * the job's deadline) while that chain grew as the request was decided, or
   * with the counters it asked to read besides its own.
   */
  async function submitRequest(
    authorization: AuthorizationRequest,
    meta: JobMeta,
    deadline: Deadline,
    answered?: Decision,
  ): Promise<RequestOutcome> {
    let chain = meta.chain;
    let stateKeys: readonly Deno.KvKey[] = [];
    for (let asked = 0;;) {
      const counters = countersOf(authorization, new Date(meta.receivedAt), chain);
      const job = requestJob(
        authorization,
        chain === meta.chain ? meta : { ...meta, chain },
        counters,
        deadline,
        answered,
        stateKeys,
      );
      const outcome = await engine.submit(job);
      if ("needKeys" in outcome) {
        // Only after Stripe's lifecycle came first, and the state is read anew each time: more
        // than a few asks means its reservations keep moving under us.
        if (++asked > 3) throw new Error("the authorization's counters kept changing");
        stateKeys = uniqueKeys([...stateKeys, ...outcome.needKeys]);
        continue;
      }
      if (!("chainGrew" in outcome)) return outcome;
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
   * reads), for up to
   * {@linkcode RECORD_RETRY_MS}: the answer is the log, and an approval
   * answered must be reserved once the store is back. Any other error would
   * fail again, and is thrown at once.
   */
  function recordAnswered(
    authorization: AuthorizationRequest,
    meta: JobMeta,
    decision: Decision,
  ): Promise<RequestOutcome> {
    return retriedWhileFailing(
      { authorization, meta },
      () => submitRequest(authorization, meta, Deadline.after(BACKGROUND_MS), decision),
      (error) => error instanceof DeadlineExceededError || error instanceof AttemptsExhaustedError,
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
    }, () => !stopping);
  }

  /**
   * Runs `attempt` again while it fails with an error `retried` accepts,
   * pausing 1 s, 2 s, … up to 30 s between attempts (a stop wakes the pause),
   * for up to {@linkcode RECORD_RETRY_MS} and while fewer than
   * {@linkcode MAX_RECORDS_WAITING} wait; each pause is logged
   * `store_record_retry` (at most a line a second).
   */
  async function retriedWhileFailing<T>(
    { authorization, meta }: Pick<Unlanded, "authorization" | "meta">,
    attempt: () => Promise<T>,
    retried: (error: unknown) => boolean,
  ): Promise<T> {
    const until = Date.now() + RECORD_RETRY_MS;
    for (let wait = FIRST_RETRY_PAUSE_MS;; wait = Math.min(2 * wait, MAX_RETRY_PAUSE_MS)) {
      try {
        return await attempt();
      } catch (error) {
        const waitable = retried(error) && Date.now() + wait < until &&
          recordsWaiting < MAX_RECORDS_WAITING;
        if (!waitable) throw error;
        recordsWaiting++;
        logRecordRetry({
          level: "warn",
          msg: "store_record_retry",
          authorization_id: authorization.id,
          event_id: meta.eventId,
          retry_in_ms: wait,
          waiting: recordsWaiting,
        });
        try {
          // A stop retries at once: it waits for these, not for their pace.
          await pause(wait);
        } finally {
          recordsWaiting--;
        }
      }
    }
  }
  let recordsWaiting = 0;

  /** Logs a fallback that was answered but could not be recorded. */
  function loggedUnrecorded(answer: Unlanded): (error: unknown) => void {
    // After a stop gave up on it, it was logged then; what fails after is the KV being closed.
    return (error) => {
      if (!loggedAtStop.has(answer)) logUnrecorded(answer, { error });
    };
  }

  /** An answer that is not in the log: what an operator needs to account for it. */
  function logUnrecorded(
    { authorization, meta, decision }: Unlanded,
    why: { readonly error: unknown } | { readonly reason: "stopped" },
  ): void {
    unrecordedAnswers++;
    log({
      level: "error",
      msg: "store_unrecorded",
      ...why,
      authorization_id: authorization.id,
      event_id: meta.eventId,
      card_id: authorization.card.id,
      requested_amount: authorization.pending_request.amount,
      currency: authorization.pending_request.currency,
      approved: decision.approved,
      ...(decision.amount === undefined ? {} : { amount: decision.amount }),
    });
  }

  /**
   * What to answer for a store that failed (`failure`, or `undefined` when
   * the deadline passed), logged as it is answered: the pipeline's fallback,
   * or the policies' own decision if they made one (`decided`) that is no
   * more permissive than it (a decline; or, when the fallback approves, their
   * approval, which may be limited). An approving fallback stands in for a
   * decision that is unknown, never for a decline in hand. An approval to
   * answer (the fallback's, or the policies' made against counters that may
   * have moved since) is checked without the store (see
   * {@linkcode decideWithoutStore}: the counters hold what this process
   * answered but could not commit, on `chain`; `kept` is reused), and what it
   * declines or limits stands. What it reserves is counted by this process's
   * decisions from then (unless it is an earlier delivery's answer, `logged`
   * already), until its recording lands (see `inBackground`).
   */
  async function answeredFallback(
    { authorization, meta, failure, kept, chain, decided, logged = false }: {
      authorization: AuthorizationRequest;
      meta: RequestMeta;
      failure: unknown;
      kept: KeptPolicyResults;
      chain: CardChain;
      decided?: Decision;
      logged?: boolean;
    },
  ): Promise<{ decision: Decision; reservation?: Reservation }> {
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
      // An approval to answer (the fallback's, or one decided against counters that may have
      // moved since) is checked without the store: what needs no store still objects, and so do
      // the answers this process gave but could not commit; the store's failure is a reason
      // beside it.
      if (fallback.approved && answer.approved && !logged) {
        const objection = await checkedWithoutStore(authorization, meta, kept, chain, counters);
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
        unlanded.add(meta.eventId, reservation);
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
  }

  /**
   * The live pipeline's decision without the store (see
   * {@linkcode decideWithoutStore}), counting what this process answered but
   * could not commit, and, while it is made (async policies), counting this
   * request as approved in full for the decisions made meanwhile.
   */
  async function checkedWithoutStore(
    authorization: AuthorizationRequest,
    meta: RequestMeta,
    kept: KeptPolicyResults,
    chain: CardChain,
    counters: CounterRef[],
  ): Promise<Decision> {
    const root = chain.at(-1)!;
    const usage = (counter: CounterRef) =>
      unlanded.plus(
        NO_USAGE,
        counter.buckets.map((key) => chainKey(key, authorization.card.id, root)),
        meta.eventId,
      );
    const meanwhile = reservationWithoutStore(authorization, { approved: true }, counters);
    unlanded.add(meta.eventId, meanwhile);
    try {
      return await decideWithoutStore(decide, authorization, meta, kept, usage);
    } finally {
      unlanded.remove(meta.eventId, meanwhile);
    }
  }

  /** A logged answer as a decision: approved, in full or for `amount`, or declined. */
  function answerOf(
    authorization: AuthorizationRequest,
    { approved, amount }: { approved: boolean; amount: number },
  ): Decision {
    const limited = approved && amount < authorization.pending_request.amount;
    return {
      approved,
      ...(limited ? { amount } : {}),
      reasons: [],
      trace: [],
      policyVersion: decide.policyVersion,
    };
  }

  function unrecorded(
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

  async function recordShadow(live: DecisionRecord, pending: Promise<Decision>): Promise<void> {
    let decision: Decision;
    try {
      decision = await pending;
    } catch {
      return;
    }
    const shadow = shadowOf(live, decision);
    countShadow(shadow);
    // Its counts land with the record they describe, as every aggregate does: once, as a record
    // that already has its shadow (a commit that landed but reported an error) is left alone.
    await updateRecord(
      keyOfRecord(live),
      (record) => record.shadow ? undefined : { ...record, shadow },
      (operation) => aggregates.addShadow(operation, live.decided_at, shadow),
    );
  }

  function countShadow(shadow: ShadowDecision): void {
    if (!shadow.disagrees) return;
    metrics?.shadowDisagreement(shadow.reasons[0] ? formatReason(shadow.reasons[0]) : "none");
  }

  /**
   * Rewrites one stored record (and adds `alongside`'s writes to the same
   * commit), unless `change` says it is already as it should be (`undefined`),
   * or it is not there (a reference to a record stored before records were
   * keyed by time is not one). Its own read-check-write loop, not a commit
   * engine job: the engine keeps every key a job read in its versionstamp
   * cache, and a shadow pipeline rewrites a record per request (several KiB
   * each) off the answer's path, where a retry a few ms later costs nothing.
   */
  async function updateRecord(
    key: Deno.KvKey,
    change: (record: DecisionRecord) => DecisionRecord | undefined,
    alongside?: (operation: Deno.AtomicOperation) => void,
  ): Promise<void> {
    for (let attempt = 1; attempt <= 5; attempt++) {
      try {
        const entry = await kv.get<StoredRecord | RecordRef>(key);
        if (!entry.value || isRecordRef(entry.value)) return;
        const next = change(recordFromStored(entry.value));
        if (!next) return;
        const changed = fittedRecord(next);
        const operation = kv.atomic().check(entry).set(key, changed, { expireIn: retentionMs });
        alongside?.(operation);
        if ((await operation.commit()).ok) return;
      } catch (error) {
        // A record that cannot fit one KV value after every trim never will.
        if (attempt === 5 || error instanceof RangeError) throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 5 * attempt));
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
        // Counted under the card itself until its chain is known (by the requests on it meanwhile).
        const { decision, reservation } = await answeredFallback({
          authorization,
          meta,
          failure: error,
          kept,
          chain: [authorization.card.id],
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
        return unrecorded(authorization, meta, decision);
      }
      let decided: Decision | undefined;
      const jobMeta = {
        ...meta,
        started,
        chain,
        decided: (decision: Decision | undefined) => decided = decision,
        results: kept,
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
          if (result.pendingShadow) {
            inBackground(
              recordShadow(result.record, result.pendingShadow).catch((error) =>
                log({
                  level: "error",
                  msg: "shadow_unrecorded",
                  authorization_id: authorization.id,
                  error,
                })
              ),
            );
          } else if (result.record.shadow) countShadow(result.record.shadow);
          const odd = result.record.reasons.find((reason) => reason.policy === "store");
          if (odd && !result.record.fallback) {
            log({
              level: "warn",
              msg: "odd_request",
              code: odd.code,
              authorization_id: authorization.id,
              event_id: meta.eventId,
              position: odd.detail,
            });
          }
          return { record: result.record, replayed: false };
        }
        try {
          const stored = await meta.deadline.race(
            kv.get<StoredRecord>(recordKeyOf(authorization.id, result.index, result.at)),
          );
          if (stored !== TIMED_OUT && stored.value) {
            return { record: recordFromStored(stored.value), replayed: true };
          }
          failure = new Error(
            stored === TIMED_OUT
              ? "the logged request could not be read in time"
              : "the logged request expired",
          );
        } catch (error) {
          failure = error;
        }
        // What the earlier delivery answered, as its state keeps it: what it logged, not a new
        // decision (it stays logged; the fallback's recording finds it and writes nothing).
        decided = answerOf(authorization, result.answered);
      }
      // The answer is the log: what is answered now is what gets recorded.
      const { decision, reservation } = await answeredFallback({
        authorization,
        meta,
        failure,
        kept,
        chain,
        decided,
        logged: result !== TIMED_OUT && result.replayed,
      });
      // Recorded once this delivery's job is done: if its commit still lands, or landed and
      // reported an error (KV Connect can, for a write it applied; a rejection after the deadline
      // may mean "outcome unknown"), the fallback replaces it. A replay leaves the earlier
      // delivery's answer as it is (see request_job.ts). Until then, decisions here count it.
      const answer = { authorization, meta, decision, reservation };
      const correct = () => recordFallback(answer, jobMeta);
      inBackground(failure === undefined ? pending.then(correct, correct) : correct(), answer);
      return unrecorded(authorization, meta, decision);
    },

    async markAnsweredDirectly(record) {
      await updateRecord(
        keyOfRecord(record),
        (logged) => ({ ...logged, path: "respond_after_api_failure" }),
      );
    },

    get: (authorizationId) => authorizationRecord(kv, authorizationId),
    requests: (authorizationId, reconciliation) =>
      authorizationRequests(kv, authorizationId, reconciliation),

    list: (query) => listRecords(kv, query),

    ...lifecycle,

    stop(requestsAnswered = Promise.resolve()) {
      return stopping ??= (async () => {
        for (const wake of pauses) wake();
        const deadline = Deadline.after(STOP_WAIT_MS);
        // Requests still being answered may yet answer without the store: wait for them first.
        await deadline.race(requestsAnswered.catch(() => {}));
        while (landing.size > 0 && deadline.remainingMs() > 0) {
          await deadline.race(Promise.allSettled(landing.keys()));
        }
        for (const answer of landing.values()) {
          if (!answer) continue;
          loggedAtStop.add(answer);
          logUnrecorded(answer, { reason: "stopped" });
        }
        return unrecordedAnswers;
      })();
    },
  };
}

/** An answer given while the store could not commit, until it is committed. */
interface Unlanded {
  readonly authorization: AuthorizationRequest;
  readonly meta: RequestMeta;
  readonly decision: Decision;
  /** What this process's decisions count of it until it lands (see `PendingReservations`). */
  readonly reservation?: Reservation;
}
