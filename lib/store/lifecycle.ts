/**
 * Stripe's lifecycle events applied to the store, in any order and any number
 * of times: `issuing_authorization.created`/`.updated` reconcile an
 * authorization with what Stripe holds, `issuing_transaction.created` links a
 * capture or refund to its authorization (or counts one that names none), and
 * `issuing_card.created` links a replacement card to its chain.
 *
 * @module
 */
import type Stripe from "stripe";
import { Deadline } from "../engine/deadline.ts";
import { type AuthorizationRequest, NOTHING_HELD } from "../engine/policy.ts";
import type { Logger } from "../telemetry/log.ts";
import type { Metrics } from "../telemetry/metrics.ts";
import type { AggregateShare } from "./aggregates.ts";
import {
  authorizationKey,
  type AuthorizationState,
  fittingState,
  isFull,
  MAX_REQUESTS,
  type RequestEntry,
  type StripeSnapshot,
} from "./authorization_state.ts";
import { linkKeys, replacementLinks } from "./card_chain.ts";
import {
  BACKGROUND_MS,
  type CommitEngine,
  type CommitJob,
  type JobStep,
  KV_LIMITS,
  submitAskingKeys,
  uniqueKeys,
} from "./commit_engine.ts";
import { applySnapshot, offTarget, type SnapshotApplied } from "./apply_snapshot.ts";
import { addToCounters, keysOfEntries, type ReservedKeys } from "./counters.ts";
import {
  type DecisionRecord,
  type Reconciliation,
  RECORD_MUTATIONS,
  recordWrite,
  toRecord,
} from "./decision_record.ts";
import {
  asAuthorizationRequest,
  mergeSnapshots,
  snapshotOf,
  transactionAsRequest,
  withTransactions,
} from "./reconciliation.ts";

/** Mutations of a first reconciliation outcome: its minute and hour sums. */
const OUTCOME_MUTATIONS = 2;

/** What the lifecycle needs of the store. */
export interface LifecycleOptions {
  /** The store's KV, for what needs no batch (a card's links). */
  readonly kv: Deno.Kv;
  /** The store's commit engine, shared with its requests. */
  readonly engine: CommitEngine<AggregateShare>;
  /** The counters a request reserves into at a time: its card chain's, on every pipeline. */
  readonly reservedKeys: (request: AuthorizationRequest, at: Date) => Promise<ReservedKeys>;
  /** How long decisions are kept, in ms. */
  readonly retentionMs: number;
  /** Where each event's outcome is logged. */
  readonly log: Logger;
  /** Where a changed reconciliation outcome is counted. */
  readonly metrics?: Metrics;
}

/** Settling what a request left of Stripe's snapshot (see `unsettled` in request_job.ts). */
export interface Settling {
  /**
   * Moves the reservations an authorization's stored snapshot still leaves
   * off target, a commit at a time.
   */
  settle(authorizationId: string): Promise<void>;
}

/** The store's handling of Stripe's lifecycle events (see {@linkcode createLifecycle}). */
export interface Lifecycle {
  /** Applies a verified `issuing_authorization.created` or `.updated` event. */
  reconcile(
    authorization: Stripe.Issuing.Authorization,
    type: "created" | "updated",
  ): Promise<Reconciliation>;
  /** Applies a verified `issuing_transaction.created` event; see the README for which counts. */
  recordTransaction(transaction: Stripe.Issuing.Transaction): Promise<"applied" | "ignored">;
  /**
   * Applies a verified `issuing_card.created` event: a replacement card is
   * linked to its chain's first card before it is ever used, so a chain stays
   * whole even through a card that never made a request.
   */
  recordCard(card: Stripe.Issuing.Card): Promise<void>;
}

/**
 * Creates the handlers of Stripe's lifecycle events over the store's commit
 * engine.
 *
 * @example
 * ```ts
 * import { createLifecycle } from "./lifecycle.ts";
 * import { linkKeys } from "./card_chain.ts";
 * import { createCommitEngine } from "./commit_engine.ts";
 * import { equal } from "node:assert/strict";
 * using kv = await Deno.openKv(":memory:");
 * const lifecycle = createLifecycle({
 *   kv, engine: createCommitEngine(kv), retentionMs: 86_400_000, log: () => {},
 *   reservedKeys: () => Promise.resolve({ keys: [], expireInMs: [] }),
 * });
 * await lifecycle.recordCard({ id: "ic_2", replacement_for: "ic_1" } as never);
 * equal((await kv.get(linkKeys("ic_2")[0])).value, "ic_1");
 * ```
 */
export function createLifecycle(options: LifecycleOptions): Lifecycle & Settling {
  const { kv, engine, reservedKeys, retentionMs, log, metrics } = options;

  /** Runs a job whose keys depend on state it reads: resubmitted with the keys it asks for. */
  function withKeys<T>(
    first: readonly Deno.KvKey[],
    job: (keys: readonly Deno.KvKey[]) => CommitJob<unknown, AggregateShare>,
  ): Promise<T> {
    return submitAskingKeys(engine, first, job, 4) as Promise<T>;
  }

  /** The counters a job applying `snapshot` to `entries` must read beyond `keys` (see `keysOfEntries`). */
  function keysToMove(
    entries: readonly RequestEntry[],
    snapshot: StripeSnapshot,
    keys: readonly Deno.KvKey[],
  ): Deno.KvKey[] {
    return keysOfEntries(offTarget(entries, snapshot), keys, KV_LIMITS.checks - keys.length);
  }

  /**
   * Moves the reservations an authorization's stored snapshot still leaves
   * off target (`unsettled`: their counters were more than one commit
   * checks, 25 days of increments under six counters), a commit at a time,
   * each reading the counters of as many of them as fit, the newest first.
   */
  async function settle(authorizationId: string): Promise<void> {
    const authKey = authorizationKey(authorizationId);
    for (let step = 1;; step++) {
      const settled = await withKeys<SnapshotApplied | "again" | undefined>([authKey], (keys) => ({
        keys,
        mutations: 0,
        bytes: 8 * 1024,
        deadline: Deadline.after(BACKGROUND_MS),
        run(view) {
          const state = view.get<AuthorizationState>(authKey);
          const moving = state?.stripe ? offTarget(state.requests, state.stripe) : [];
          if (moving.length === 0) return { done: undefined };
          const needKeys = keysToMove(state!.requests, state!.stripe!, keys);
          if (needKeys.length > 0) return { done: { needKeys } };
          // Another commit moved the requests this step asked for (another event of this
          // authorization settling, one of our requests): the next step asks anew.
          if (!moving.some((entry) => entry.reservation.keys.every((key) => view.has(key)))) {
            return { done: "again" };
          }
          return { done: applySnapshot(view, state!, state!.stripe!, new Date(), retentionMs) };
        },
      }));
      if (settled === undefined || (settled !== "again" && !settled.unsettled)) return;
      if (step === MAX_SETTLE_STEPS) {
        throw new Error(`the reservations did not settle in ${MAX_SETTLE_STEPS} commits`);
      }
    }
  }

  /**
   * Merges a transaction that names its authorization into the authorization's
   * Stripe snapshot, by id, and re-applies it (counters, reconciliation).
   * Stripe may capture an authorization after it expired, with no lifecycle
   * event documented to follow, so lifecycle events alone could miss it;
   * merged by id, the same transaction listed later in `transactions` is not
   * counted twice. Before any lifecycle event of its authorization (no
   * snapshot yet), it is kept in the state and merged into the first
   * snapshot. Resolves with the reconciliation it changed, `"kept"`, or
   * `undefined` when nothing changed (already merged, and nothing left to
   * settle: a redelivery after a settle failed settles the rest).
   */
  async function linkTransaction(
    authorizationId: string,
    transaction: Stripe.Issuing.Transaction,
  ): Promise<SnapshotApplied | "kept" | undefined> {
    const authKey = authorizationKey(authorizationId);
    const amount = Number.isSafeInteger(transaction.amount) ? transaction.amount : 0;
    const now = new Date();
    return await withKeys<SnapshotApplied | "kept" | undefined>([authKey], (keys) => ({
      keys,
      mutations: OUTCOME_MUTATIONS,
      bytes: 8 * 1024,
      deadline: Deadline.after(BACKGROUND_MS),
      run(view) {
        const state = view.get<AuthorizationState>(authKey);
        if (!state?.stripe) {
          if (state?.early_transactions?.[transaction.id] === amount) return { done: undefined };
          const card = transaction.card;
          view.set(
            authKey,
            fittingState({
              authorization_id: authorizationId,
              card_id: typeof card === "string" ? card : card.id,
              decided_at: new Date((transaction.created ?? 0) * 1000).toISOString(),
              requests: [],
              ...state,
              early_transactions: { ...state?.early_transactions, [transaction.id]: amount },
            }),
            retentionMs,
          );
          return { done: "kept" };
        }
        const snapshot = withTransactions(state.stripe, { [transaction.id]: amount });
        // Merged already: applied again only to settle what an earlier commit left (a redelivery
        // after settling failed).
        if (snapshot === state.stripe && offTarget(state.requests, snapshot).length === 0) {
          return { done: undefined };
        }
        const needKeys = keysToMove(state.requests, snapshot, keys);
        if (needKeys.length > 0) return { done: { needKeys } };
        const applied = applySnapshot(view, state, snapshot, now, retentionMs);
        fittingState(view.get<AuthorizationState>(authKey)!);
        return snapshotStep(applied);
      },
    }));
  }

  /** The step of a job that applied a snapshot: a first outcome is counted with its batch. */
  function snapshotStep(applied: SnapshotApplied): JobStep<SnapshotApplied, AggregateShare> {
    return {
      done: applied,
      shared: applied.firstOutcome ? { firstOutcome: applied.firstOutcome } : undefined,
    };
  }

  return {
    settle,
    async reconcile(authorization, type) {
      const asRequest = asAuthorizationRequest(authorization);
      const created = new Date((authorization.created ?? 0) * 1000);
      // Each request Stripe decided without us is held in its own windows, at its own time (an
      // increment its network fallback approved days later counts on that day): the first at
      // the authorization's creation, as its `created` says, each later one at its own `created`
      // (stripe-node's RequestHistory: "Time at which the object was created").
      const listed = historyPositions(authorization);
      // (One without a time of its own, which Stripe never sends, at the authorization's.)
      const timeOf = (position: number) => {
        const at = position === 0 ? 0 : authorization.request_history[position].created;
        return at > 0 ? new Date(at * 1000) : created;
      };
      const keysOf = await Promise.all(
        listed.map((position) => reservedKeys(asRequest, timeOf(position))),
      );
      // The first always; later ones while their counters add at most `MAX_STRIPE_ONLY_KEYS` to it.
      const positions: number[] = [];
      const keysAt: ReservedKeys[] = [];
      listed.forEach((position, i) => {
        const added = extraKeys(keysOf[0].keys, [...keysAt, keysOf[i]].slice(1));
        if (position > 0 && added > MAX_STRIPE_ONLY_KEYS) return;
        positions.push(position);
        keysAt.push(keysOf[i]);
      });
      const authKey = authorizationKey(authorization.id);
      const now = new Date();
      const result = await withKeys<SnapshotApplied>(
        uniqueKeys([authKey, ...keysAt.flatMap(({ keys }) => keys)]),
        (keys) => ({
          keys,
          mutations: RECORD_MUTATIONS * positions.length + OUTCOME_MUTATIONS,
          bytes: 8 * 1024 * (1 + positions.length),
          deadline: Deadline.after(BACKGROUND_MS),
          run(view) {
            const state = view.get<AuthorizationState>(authKey);
            const entries = [...state?.requests ?? []];
            const stripeOnly: DecisionRecord[] = [];
            positions.forEach((position, i) => {
              if (entries.some((entry) => entry.position === position)) return;
              // The first of an authorization that never reached us always has one. A later one
              // only while the state stays in bounds: in size, and in the counters it reserved in,
              // which each of our later requests reads. Past them, what Stripe holds for it is held
              // with the newest request, as one entry holds it.
              const ours = entries.filter((entry) => !entry.stripe_only || entry.position === 0);
              const stripeOnlyLater = entries.filter((entry) =>
                entry.stripe_only && entry.position > 0
              );
              const inBounds = !isFull({ ...state!, requests: entries }) &&
                extraKeys(
                    ours.flatMap((entry) => entry.reservation.keys),
                    [...stripeOnlyLater.map((entry) => entry.reservation), keysAt[i]],
                  ) <= MAX_STRIPE_ONLY_KEYS;
              if (entries.length > 0 && !inBounds) return;
              const approved = position === 0
                ? authorization.approved
                : authorization.request_history[position].approved;
              const at = timeOf(position);
              const reservation = { ...keysAt[i], amount: 0, count: 0 };
              const index = entries.length;
              stripeOnly.push(toRecord(asRequest, {
                approved,
                reasons: [],
                trace: [],
                policyVersion: "",
              }, {
                eventId: null,
                index,
                position,
                decidedAt: at,
                latencyMs: 0,
                path: "stripe_only",
                held: NOTHING_HELD,
                reservation,
              }));
              entries.push({
                index,
                event_id: null,
                position,
                fingerprint: "stripe_only",
                approved,
                amount: 0,
                reservation,
                stripe_only: true,
                at: at.getTime(),
              });
            });
            // Transactions that named it before its first lifecycle event join its first snapshot.
            const snapshot = withTransactions(
              mergeSnapshots(state?.stripe, snapshotOf(authorization)),
              state?.early_transactions ?? {},
            );
            const needKeys = keysToMove(entries, snapshot, keys);
            if (needKeys.length > 0) return { done: { needKeys } };
            const applied = applySnapshot(
              view,
              {
                authorization_id: authorization.id,
                card_id: authorization.card.id,
                decided_at: created.toISOString(),
                ...state,
                requests: entries,
              },
              snapshot,
              now,
              retentionMs,
            );
            // What Stripe's event adds must fit (requests and settling after are bounded by it).
            fittingState(view.get<AuthorizationState>(authKey)!);
            const writes = stripeOnly.map((record) => recordWrite(record, retentionMs).write);
            return {
              ...snapshotStep(applied),
              write: writes.length > 0
                ? (operation: Deno.AtomicOperation) => writes.forEach((write) => write(operation))
                : undefined,
            };
          },
        }),
      );
      const { reconciliation, changed } = result;
      if (changed) metrics?.reconciled(reconciliation.outcome);
      log({
        level: reconciliation.outcome === "agreed" ? "info" : "warn",
        msg: "reconciled",
        event_type: `issuing_authorization.${type}`,
        authorization_id: authorization.id,
        outcome: reconciliation.outcome,
        status: reconciliation.status,
        stripe_amount: reconciliation.stripe_amount,
      });
      // Counted and logged first: a settle that fails leaves the outcome as committed.
      if (result.unsettled) await settle(authorization.id);
      return reconciliation;
    },

    async recordCard(card) {
      const links = replacementLinks(card);
      if (links.length === 0) return;
      const operation = kv.atomic();
      for (const [replacement, replaced] of links) {
        operation.set(linkKeys(replacement)[0], replaced);
      }
      await operation.commit();
    },

    async recordTransaction(transaction) {
      if (transaction.authorization) {
        const authorizationId = typeof transaction.authorization === "string"
          ? transaction.authorization
          : transaction.authorization.id;
        const linked = await linkTransaction(authorizationId, transaction);
        log({
          level: "info",
          msg: linked === undefined ? "transaction_redelivered" : "transaction_linked",
          transaction_id: transaction.id,
          authorization_id: authorizationId,
          ...(linked && linked !== "kept"
            ? { outcome: linked.reconciliation.outcome }
            : { kept_until_lifecycle: linked === "kept" }),
        });
        if (linked && linked !== "kept" && linked.changed) {
          metrics?.reconciled(linked.reconciliation.outcome);
        }
        if (linked && linked !== "kept" && linked.unsettled) await settle(authorizationId);
        return linked === undefined ? "ignored" : "applied";
      }
      const asRequest = transactionAsRequest(transaction);
      const at = new Date((transaction.created ?? 0) * 1000);
      const target = await reservedKeys(asRequest, at);
      const key = ["transaction", transaction.id];
      // Captures are negative in Stripe's sign (your balance), refunds positive.
      const spend = -transaction.amount;
      const count = transaction.type === "capture" ? 1 : 0;
      const applied = await engine.submit({
        keys: [key, ...target.keys],
        mutations: 0,
        bytes: 1024,
        deadline: Deadline.after(BACKGROUND_MS),
        run(view) {
          if (view.get(key)) return { done: false };
          addToCounters(view, { ...target, amount: spend, count });
          view.set(key, { spend, count, at: at.toISOString() }, retentionMs);
          return { done: true };
        },
      });
      log({
        level: applied ? "warn" : "info",
        msg: applied ? "transaction_counted" : "transaction_redelivered",
        transaction_id: transaction.id,
        type: transaction.type,
        card_id: asRequest.card.id,
        spend,
      });
      return applied ? "applied" : "ignored";
    },
  };
}

/**
 * Requests of one authorization a reconciliation holds on their own when they
 * never reached us, at most this many: each costs a record in its commit.
 * Past them (a hotel stay of dozens of increments Stripe decided alone), what
 * Stripe holds is held with the newest request we have.
 */
const MAX_STRIPE_ONLY_REQUESTS = 16;
/**
 * Counters the later requests an authorization held for Stripe alone may add
 * to those its own requests reserve in, at most: each request of ours that
 * comes later reads the counters its authorization reserved in, beside its
 * own (and its card chain's), as many as Deno KV's 100 checks per commit
 * allow, the newest first. Two days' worth of six counters; past it, such a
 * request is held with the newest one, as it was before they had entries of
 * their own.
 */
const MAX_STRIPE_ONLY_KEYS = 12;

/**
 * Commits a settling takes at most: each moves one request at least, and a
 * state holds at most `MAX_REQUESTS`; the rest for steps that ask anew after
 * another commit moved what they read.
 */
const MAX_SETTLE_STEPS = 2 * MAX_REQUESTS;

/** How many keys of `reservations` are not among `base`. */
function extraKeys(
  base: readonly Deno.KvKey[],
  reservations: readonly { readonly keys: readonly Deno.KvKey[] }[],
): number {
  const entries = reservations.map((reservation, position) => ({ position, reservation }));
  return keysOfEntries(entries, base, Infinity).length;
}

/**
 * The positions of `authorization`'s `request_history` a reconciliation
 * checks for requests that never reached us: the first always (a snapshot
 * that lists none still holds it), then every later one, up to
 * {@linkcode MAX_STRIPE_ONLY_REQUESTS}.
 */
function historyPositions(authorization: Stripe.Issuing.Authorization): number[] {
  const listed = Array.isArray(authorization.request_history)
    ? authorization.request_history.length
    : 0;
  return Array.from(
    { length: Math.min(Math.max(listed, 1), MAX_STRIPE_ONLY_REQUESTS) },
    (_, i) => i,
  );
}
