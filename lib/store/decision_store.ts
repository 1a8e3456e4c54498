/**
 * The decision store: decides each authorization request inside the commit
 * that records it (so the velocity counters it read are still true when its
 * reservation lands), recognises redeliveries, reconciles with Stripe's
 * lifecycle events, and serves the log's reads. All Deno KV access lives in
 * this folder:
 *
 * - commit_engine.ts: group commits within KV's limits, retries, isolation;
 * - card_chain.ts: a card's replacement chain, whose first card names its counters;
 * - decision_record.ts: one logged request, its keys and trimming;
 * - authorization_state.ts: per authorization, its requests and what they hold;
 * - reconciliation.ts: lifecycle events merged in any order, outcomes;
 * - decision_log.ts: bounded reads.
 *
 * Counters: `["usage", scope, scopeId, window, categories, currency, bucket]`
 * → {@linkcode Usage}; a card's counters are named after the first card of
 * its `replacement_for` chain (card_chain.ts).
 *
 * @module
 */
import { Deadline, TIMED_OUT } from "../engine/deadline.ts";
import { type Decide, type Decision, formatReason, type Reason } from "../engine/decide.ts";
import { type AuthorizationRequest, type Held, NOTHING_HELD } from "../engine/policy.ts";
import type { CounterRef, Usage } from "../engine/velocity.ts";
import type { Logger } from "../telemetry/log.ts";
import { type AggregateShare, createAggregateWriter } from "./aggregates.ts";
import type { Metrics } from "../telemetry/metrics.ts";
import {
  authorizationKey,
  type AuthorizationState,
  findRequest,
  heldBefore,
  isFull,
  isRequestHistory,
  positionOf,
  type RequestEntry,
  requestFingerprint,
} from "./authorization_state.ts";
import {
  type BatchView,
  type CommitEngine,
  type CommitJob,
  createCommitEngine,
  DeadlineExceededError,
  isTimeout,
  type JobStep,
  keyId,
  uniqueKeys,
} from "./commit_engine.ts";
import {
  type DecisionPath,
  type DecisionRecord,
  isRecordRef,
  keyOfRecord,
  RECORD_MUTATIONS,
  recordFromStored,
  recordKeyOf,
  type RecordRef,
  recordWrite,
  type Reservation,
  type ShadowDecision,
  type StoredRecord,
  storedRecord,
  toRecord,
} from "./decision_record.ts";
import { addToCounters, counterKeys, sumUsage } from "./counters.ts";
import {
  type CardChain,
  chainGrowth,
  chainKey,
  chainReaders,
  createCardChains,
  linkKeys,
  onChain,
  replacementLinks,
} from "./card_chain.ts";
import {
  authorizationRecord,
  authorizationRequests,
  type ListQuery,
  listRecords,
} from "./decision_log.ts";
import { applySnapshot, BACKGROUND_MS, createLifecycle, type Lifecycle } from "./lifecycle.ts";
import { isFinal } from "./reconciliation.ts";

export type {
  DecisionPath,
  DecisionRecord,
  Reconciliation,
  Reservation,
  ShadowDecision,
} from "./decision_record.ts";
export { decisionLog, type ListQuery } from "./decision_log.ts";

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
const COMMIT_MARGIN_MS = 25;
/**
 * Mutations a request adds besides its keys: the record and its share of the
 * batch's aggregates (merged per batch; a batch that
 * still overflows KV's limit is split by the commit engine).
 */
const REQUEST_MUTATIONS = RECORD_MUTATIONS + 8;
/** A request's meta as its job needs it: when deciding started, and its card's chain. */
type JobMeta = RequestMeta & { readonly started: number; readonly chain: CardChain };

/** A decided request before it is committed. */
interface Decided {
  readonly decision: Decision;
  readonly shadow?: Decision | Promise<Decision>;
  /** The counter values the decision read, to tell whether it still holds. */
  readonly usageSeen: string;
  readonly held: Held;
}

/** What committing one request gives: a redelivery's logged index, or the new record. */
type RequestOutcome =
  | { readonly replayed: true; readonly index: number; readonly at: number | undefined }
  | {
    readonly replayed: false;
    readonly record: DecisionRecord;
    readonly pendingShadow?: Promise<Decision>;
  };

/** A request job's outcome: the request's, or that its card's chain grew (nothing written). */
type JobOutcome = RequestOutcome | { readonly chainGrew: true };

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
  const engine: CommitEngine<AggregateShare> = createCommitEngine<AggregateShare>(kv, {
    // A few lock waits are normal with several processes on one file: only persistent ones are logged.
    onRetry: (error, attempt) => {
      if (attempt >= 4) log({ level: "warn", msg: "store_retry", attempt, error });
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
   * The job that decides and records one request. `answered` is a decision
   * already answered (a fallback) to record as is: it replaces what this same
   * delivery may have committed (its commit landed late, or landed and
   * reported an error), never what another delivery of the request answered.
   */
  function requestJob(
    authorization: AuthorizationRequest,
    meta: JobMeta,
    counters: CounterRef[],
    deadline: Deadline,
    answered?: Decision,
  ): CommitJob<JobOutcome, AggregateShare> {
    const authKey = authorizationKey(authorization.id);
    const now = new Date(meta.receivedAt);
    const position = positionOf(authorization);
    const fingerprint = requestFingerprint(authorization);
    const root = meta.chain.at(-1)!;
    // Reserved under the chain's first card; read under every card of the chain too, as each may
    // have been its first while the chain was known only in part.
    const readers = chainReaders(meta.chain, counters);
    // An ordinary card (a chain of one) reads each key as it is.
    const under = readers.length === 1
      ? undefined
      : (rootKey: Deno.KvKey) => uniqueKeys(readers.map((card) => chainKey(rootKey, root, card)));
    const buckets = uniqueKeys(
      counters.flatMap((counter) => under ? counter.buckets.flatMap(under) : counter.buckets),
    );
    const reserveInto = counterKeys(counters);
    const growth = chainGrowth(meta.chain);
    // Written through the batch's view: a later job in the batch, or a batch after it, sees them.
    const links = replacementLinks(authorization.card).map(([card, replaced]) =>
      [linkKeys(card)[0], replaced] as const
    );
    const history: readonly unknown[] = Array.isArray(authorization.request_history)
      ? authorization.request_history
      : [];
    // An entry Stripe could not have held is declined as inconsistent, and holds nothing here.
    const pastRequests = isRequestHistory(history) ? history : undefined;
    let decided: Decided | undefined;
    let deciding: Promise<unknown> | undefined;

    return {
      keys: [authKey, ...buckets, ...growth.keys, ...links.map(([key]) => key)],
      mutations: REQUEST_MUTATIONS,
      bytes: meta.eventBytes + 4 * 1024,
      deadline,
      likelyAbsent: position === 0 ? authKey : undefined,
      run(view: BatchView): JobStep<JobOutcome, AggregateShare> {
        const state = view.get<AuthorizationState>(authKey);
        const earlier = findRequest(state, meta.eventId, fingerprint);
        // Another delivery's answer stays: Stripe may have applied it, and releasing what it
        // reserved for a duplicate's fallback could free a limit it still holds.
        if (earlier && (!answered || earlier.at !== now.getTime())) {
          return { done: { replayed: true, index: earlier.index, at: earlier.at } };
        }
        // The chain's first card was since found to replace another: decided on the whole chain.
        if (growth.grew(view)) return { done: { chainGrew: true } };
        const index = earlier?.index ?? state?.requests.length ?? 0;
        // Full: declined (or a fallback answered) reserving nothing, logged, left out of the state.
        const full = !earlier && isFull(state);
        const held = pastRequests ? heldBefore(state, pastRequests, position ?? 0) : NOTHING_HELD;
        // Policies name their counters by this card; the job reads them along its chain.
        const rooted = (key: Deno.KvKey) => chainKey(key, authorization.card.id, root);
        const usage = (counter: CounterRef): Usage =>
          sumUsage(
            under
              ? counter.buckets.flatMap((key) => under(rooted(key)).map((read) => view.get(read)))
              : counter.buckets.map((key) => view.get<Usage>(rooted(key))),
          );
        // Only an async decision is kept across runs: it holds if the counters it read still do.
        const usageSeen = () => JSON.stringify(buckets.map((key) => view.get<Usage>(key)));
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
          const input = { now, usage, held, deadline: policyDeadline };
          const decision = decide(authorization, input);
          const shadow = shadowDecide?.(authorization, input);
          if (decision instanceof Promise) {
            // Awaited outside the serial section; used if the counters it read still hold.
            const seen = usageSeen();
            deciding = decision.then((d) => {
              decided = { decision: d, shadow, usageSeen: seen, held };
              deciding = undefined;
            });
            return { defer: deciding };
          }
          outcome = { decision, shadow, held };
        }
        const { decision } = outcome;
        const requested = authorization.pending_request.amount;
        const amount = decision.approved ? decision.amount ?? requested : 0;
        const reservation: Reservation = {
          ...reserveInto,
          amount: full ? 0 : amount,
          count: decision.approved && held.requests === 0 && !full ? 1 : 0,
        };
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
          path: meta.path,
          held,
          reservation,
          eventBytes: meta.eventBytes,
        });
        const shadow = outcome.shadow instanceof Promise || !outcome.shadow
          ? undefined
          : shadowOf(record0, outcome.shadow);
        const record: DecisionRecord = {
          ...record0,
          ...(shadow ? { shadow } : {}),
          ...(earlier
            ? { superseded: { approved: earlier.approved, amount: earlier.amount } }
            : {}),
        };
        // Serialized here, in the job: a record that cannot be fails this request alone.
        const writeRecord = recordWrite(record, retentionMs);
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
            // Stripe's lifecycle arrived first (our answer was late): its snapshot still decides
            // what the authorization holds, and this request now has an outcome. Only the
            // counters this job read can move.
            const jobKeys = new Set(buckets.map(keyId));
            applySnapshot(
              view,
              next,
              state.stripe,
              now,
              retentionMs,
              (request) => request.reservation.keys.every((key) => jobKeys.has(keyId(key))),
            );
          } else view.set(authKey, next, retentionMs);
        }
        return {
          done: {
            replayed: false,
            record,
            pendingShadow: outcome.shadow instanceof Promise ? outcome.shadow : undefined,
          },
          // A fallback that supersedes a committed decision was counted when that committed:
          // sums only grow, so the counters keep the first outcome rather than count it twice.
          shared: record.superseded ? undefined : { decided: record },
          write(operation: Deno.AtomicOperation) {
            // A fallback replacing this delivery's own record writes it under the same key.
            writeRecord(operation);
          },
        };
      },
    };
  }

  /**
   * Submits the request's job, and again on its card's chain read anew (within
   * the job's deadline) while that chain grew as the request was decided.
   */
  async function submitRequest(
    authorization: AuthorizationRequest,
    meta: JobMeta,
    deadline: Deadline,
    answered?: Decision,
  ): Promise<RequestOutcome> {
    let chain = meta.chain;
    while (true) {
      const counters = countersOf(authorization, new Date(meta.receivedAt), chain);
      const job = requestJob(
        authorization,
        chain === meta.chain ? meta : { ...meta, chain },
        counters,
        deadline,
        answered,
      );
      const outcome = await engine.submit(job);
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

  /** Commits a fallback that was answered, in the background; logs if it cannot. */
  function recordFallback(
    authorization: AuthorizationRequest,
    meta: JobMeta,
    decision: Decision,
  ): void {
    const deadline = Deadline.after(BACKGROUND_MS);
    // A fallback is answered in the response, whichever path the request was to take.
    const inResponse = { ...meta, path: "respond" as const };
    submitRequest(authorization, inResponse, deadline, decision).then(
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
      loggedUnrecorded(authorization, meta, decision),
    );
  }

  /** Logs a fallback that was answered but could not be recorded. */
  function loggedUnrecorded(
    authorization: AuthorizationRequest,
    meta: RequestMeta,
    decision: Decision,
  ): (error: unknown) => void {
    return (error) =>
      log({
        level: "error",
        msg: "store_unrecorded",
        authorization_id: authorization.id,
        event_id: meta.eventId,
        approved: decision.approved,
        error,
      });
  }

  function fallbackFor(kind: string): Decision {
    return decide.fallback("store", kind);
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
      eventBytes: meta.eventBytes,
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
   * keyed by time is not one).
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
        const changed = storedRecord(next);
        const operation = kv.atomic().check(entry).set(key, changed, { expireIn: retentionMs });
        alongside?.(operation);
        if ((await operation.commit()).ok) return;
      } catch (error) {
        if (attempt === 5) throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 5 * attempt));
    }
  }

  return {
    async decideAndRecord(authorization, meta) {
      const started = performance.now();
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
        const timedOut = isTimeout(error);
        log({
          level: "error",
          msg: "store_fallback",
          kind: timedOut ? "timeout" : "error",
          authorization_id: authorization.id,
          error,
        });
        const decision = fallbackFor(timedOut ? "store_timeout" : "store_error");
        // The answer is the log: recorded and reserved like any fallback once the chain is known
        // (read once more if reading it failed).
        Promise.resolve(resolving).catch(() => chains.of(authorization.card)).then((late) =>
          recordFallback(authorization, { ...meta, started, chain: late }, decision)
        ).catch(loggedUnrecorded(authorization, meta, decision));
        return unrecorded(authorization, meta, decision);
      }
      const jobMeta = { ...meta, started, chain };
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
            recordShadow(result.record, result.pendingShadow).catch((error) =>
              log({
                level: "error",
                msg: "shadow_unrecorded",
                authorization_id: authorization.id,
                error,
              })
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
      }
      // The answer is the log: the fallback answered now is what gets recorded.
      const timedOut = failure === undefined || isTimeout(failure);
      const kind = timedOut ? "store_timeout" : "store_error";
      const decision = fallbackFor(kind);
      log({
        level: "error",
        msg: "store_fallback",
        kind: timedOut ? "timeout" : "error",
        authorization_id: authorization.id,
        event_id: meta.eventId,
        ...(failure ? { error: failure } : {}),
      });
      // Recorded once this delivery's job is done: if its commit still lands, or landed and
      // reported an error (KV Connect can, for a write it applied; a rejection after the deadline
      // may mean "outcome unknown"), the fallback replaces it. A replay leaves the earlier
      // delivery's answer as it is (see requestJob).
      const correct = () => recordFallback(authorization, jobMeta, decision);
      if (failure === undefined) pending.then(correct, correct);
      else correct();
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
  };
}

/**
 * A request the store declines itself (failing closed): odd input that no
 * policy should see. One reason says what was odd.
 */
function oddity(
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

function shadowOf(live: DecisionRecord, decision: Decision): ShadowDecision {
  const amount = decision.amount ?? null;
  return {
    approved: decision.approved,
    amount,
    reasons: decision.reasons,
    trace: decision.trace,
    disagrees: decision.approved !== live.approved || (decision.approved && amount !== live.amount),
  };
}
