/**
 * All Deno KV access: the durable decision log, idempotency, velocity
 * reservations, reconciliation with what Stripe did, and decision queries.
 *
 * Keys:
 * - `["decision", authorizationId]` → {@linkcode DecisionRecord} (expires after the retention)
 * - `["decisions_by_card", cardId, decidedAtMs, authorizationId]`, `["decisions_by_time", decidedAtMs, authorizationId]` → authorizationId
 * - `["usage", scope, scopeId, window, categories, currency, bucket]` → {@linkcode Usage}
 *
 * @module
 */
import type Stripe from "stripe";
import {
  type AuthorizationResponseBody,
  authorizationResponseBody,
} from "../engine/authorization_response.ts";
import {
  type Decide,
  type Decision,
  fallbackDecision,
  formatReason,
  type Reason,
  type TraceEntry,
} from "../engine/decide.ts";
import { createAggregateWriter } from "./aggregates.ts";
import type { Logger } from "../telemetry/log.ts";
import type { Metrics } from "../telemetry/metrics.ts";
import type { AuthorizationRequest } from "../engine/policy.ts";
import { type CounterRef, NO_USAGE, type Usage } from "../engine/velocity.ts";

/** How a decision reached Stripe. */
export type DecisionPath = "respond" | "api" | "respond_after_api_failure";

/** What Stripe did with an authorization we decided (or never saw). */
export interface Reconciliation {
  /** `agreed`, `mismatch`, `webhook_timeout`, `webhook_error`, or `stripe_only` (never reached us). */
  readonly outcome: "agreed" | "mismatch" | "webhook_timeout" | "webhook_error" | "stripe_only";
  readonly stripe_approved: boolean;
  readonly stripe_amount: number;
  /** The last `request_history[].reason`, e.g. `webhook_approved`. */
  readonly stripe_reason: string | null;
  readonly status: string;
  readonly at: string;
}

/** What the shadow pipeline would have decided (never enforced). */
export interface ShadowDecision {
  readonly approved: boolean;
  readonly amount: number | null;
  readonly reasons: readonly Reason[];
  readonly trace: readonly TraceEntry[];
  /** Whether it differs from the live decision (approval or amount). */
  readonly disagrees: boolean;
}

/** Amount and count an authorization holds in its velocity counters. */
export interface Reservation {
  readonly keys: readonly Deno.KvKey[];
  readonly amount: number;
  readonly count: number;
  readonly expireInMs?: number;
}

/** One logged decision, as stored and as the decision queries return it. */
export interface DecisionRecord {
  readonly authorization_id: string;
  readonly event_id: string | null;
  readonly card_id: string;
  readonly cardholder_id: string | null;
  readonly requested_amount: number;
  readonly currency: string;
  readonly merchant_category: string;
  readonly merchant_country: string | null;
  readonly merchant_name: string | null;
  readonly approved: boolean;
  /** The amount held when a policy limited an amount-controllable request. */
  readonly amount: number | null;
  readonly reasons: readonly Reason[];
  /** Set when the fallback decision was answered: `error`, `timeout`, `store_error`, `store_timeout`. */
  readonly fallback?: string;
  readonly trace: readonly TraceEntry[];
  readonly policy_version: string;
  readonly decided_at: string;
  readonly latency_ms: number;
  readonly path: DecisionPath | "stripe_only";
  /** The webhook answer, replayed as is on redelivery. */
  readonly response: AuthorizationResponseBody;
  readonly reservation: Reservation;
  readonly reconciliation?: Reconciliation;
  readonly shadow?: ShadowDecision;
  /**
   * The authorization as received, for audits and replays, with the expanded
   * cardholder reduced to id, type, status and metadata and no shipping
   * address: the log keeps no name, email, phone, address or date of birth.
   */
  readonly request: AuthorizationRequest;
}

/** Options of {@linkcode createDecisionStore}. */
export interface DecisionStoreOptions {
  readonly kv: Deno.Kv;
  readonly decide: Decide;
  readonly log: Logger;
  /** How long decisions are kept, in ms. */
  readonly retentionMs: number;
  /** Time for the whole decide-and-commit, in ms; past it, the fallback is answered. */
  readonly budgetMs: number;
  readonly fallback: "approve" | "decline";
  readonly policyVersion: string;
  /** The shadow pipeline, if any: decided beside the live one, logged, never enforced. */
  readonly shadowDecide?: Decide;
  readonly metrics?: Metrics;
}

/** What the webhook needs to answer: the record, and whether it was decided before. */
export interface RecordedDecision {
  readonly record: DecisionRecord;
  readonly replayed: boolean;
  /** Set when the store failed: the decision answered but not stored. */
  readonly unrecorded?: true;
}

/** The decision log and its queries. */
export interface DecisionStore {
  /** Decides (or replays) one request and makes it durable before resolving. */
  decide(
    authorization: AuthorizationRequest,
    meta: { readonly eventId: string; readonly receivedAt: number; readonly path: DecisionPath },
  ): Promise<RecordedDecision>;
  /** Records that the API path failed and the webhook answered instead. */
  markAnsweredDirectly(authorizationId: string): Promise<void>;
  get(authorizationId: string): Promise<DecisionRecord | null>;
  /** Newest first, optionally for one card and from a time on. */
  list(
    query: { readonly card?: string; readonly since?: Date; readonly limit: number },
  ): Promise<DecisionRecord[]>;

  /** Applies a verified `issuing_authorization.created` or `.updated` event. */
  reconcile(
    authorization: Stripe.Issuing.Authorization,
    type: "created" | "updated",
  ): Promise<DecisionRecord>;
}

const MAX_CHECKS = 100; // Deno KV's limit per atomic operation
const MAX_MUTATIONS = 1_000;
const MAX_GET_MANY = 10;
const MAX_ATTEMPTS = 8;
/** Records read per round trip by `decisionLog`. */
const EXPORT_PAGE = 100;
/** Bounds the optimistic counter cache; clearing it only costs reads. */
const MAX_KNOWN_COUNTERS = 100_000;

interface Pending {
  readonly authorization: AuthorizationRequest;
  readonly now: Date;
  readonly eventId: string;
  readonly started: number;
  readonly path: DecisionPath;
  readonly counters: CounterRef[];
  readonly resolve: (value: RecordedDecision) => void;
  readonly reject: (error: unknown) => void;
  abandoned: boolean;
}

/**
 * Creates the store over an open `Deno.Kv`.
 *
 * Decisions are group-committed: while one atomic commit is in flight, new
 * requests queue; the next commit takes all of them (within KV's limits). A
 * batch reads every counter and decision key it needs, decides each request
 * in arrival order against those values (so two requests on one card in one
 * batch see each other's reservations), and commits decisions and counters
 * in one atomic operation that checks every versionstamp it read. If another
 * process changed any of them, the batch is read and decided again. So a
 * decision is durable before its answer leaves, limits hold across processes
 * sharing the KV, and durability costs one commit per batch, not per request.
 *
 * @example
 * ```ts
 * import { createDecisionStore } from "./decision_store.ts";
 * // const store = createDecisionStore({ kv: await Deno.openKv(":memory:"), decide, log, retentionMs, budgetMs: 1500, fallback: "decline", policyVersion });
 * // const { record, replayed } = await store.decide(authorization, { eventId, receivedAt: Date.now(), path: "respond" });
 * ```
 */
export function createDecisionStore(options: DecisionStoreOptions): DecisionStore {
  const { kv, decide, shadowDecide, metrics, log, retentionMs, budgetMs } = options;
  const queue: Pending[] = [];
  let flushing = false;
  /** Counters as this process last read or wrote them (see commitBatch). */
  const knownCounters = new Map<string, { value: Usage | null; versionstamp: string | null }>();
  const aggregates = createAggregateWriter(kv);

  async function flush(): Promise<void> {
    flushing = true;
    try {
      while (queue.length > 0) {
        const batch = takeBatch(queue);
        if (batch.length === 0) continue;
        try {
          const results = await commitBatch(batch);
          batch.forEach((item, i) => item.resolve(results[i]));
        } catch (error) {
          for (const item of batch) item.reject(error);
        }
      }
    } finally {
      flushing = false;
    }
  }

  async function commitBatch(batch: Pending[]): Promise<RecordedDecision[]> {
    const counterKeys = uniqueKeys(
      batch.flatMap((item) => item.counters.flatMap((counter) => counter.buckets)),
    );
    const decisionKeys = uniqueKeys(batch.map((item) => decisionKey(item.authorization.id)));
    // Bounded between batches, never during one (its entries are read below).
    if (knownCounters.size >= MAX_KNOWN_COUNTERS) knownCounters.clear();
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      // First try optimistically: counters as this process last saw them, and new
      // authorizations assumed undecided. The commit checks both, so a stale guess
      // (another process, a redelivery) only costs a retry that reads everything.
      const optimistic = attempt === 1;
      const unknown = optimistic
        ? counterKeys.filter((key) => !knownCounters.has(keyId(key)))
        : counterKeys;
      const entries = await getMany(kv, optimistic ? unknown : [...decisionKeys, ...unknown]);
      const values = new Map<string, unknown>();
      const operation = kv.atomic();
      for (const entry of entries) {
        if (entry.key[0] === "usage") {
          remember(entry.key, entry.value as Usage | null, entry.versionstamp);
        } else {
          values.set(keyId(entry.key), entry.value);
          operation.check(entry);
        }
      }
      if (optimistic) {
        for (const key of decisionKeys) operation.check({ key, versionstamp: null });
      }
      for (const key of counterKeys) {
        const known = knownCounters.get(keyId(key))!;
        values.set(keyId(key), known.value);
        operation.check({ key, versionstamp: known.versionstamp });
      }

      const results: RecordedDecision[] = [];
      const decidedInBatch = new Map<string, DecisionRecord>();
      const dirtyCounters = new Map<string, { key: Deno.KvKey; expireInMs?: number }>();
      const pendingShadows: [DecisionRecord, Promise<Decision>][] = [];
      for (const item of batch) {
        const { authorization } = item;
        const earlier =
          (values.get(keyId(decisionKey(authorization.id))) as DecisionRecord | null) ??
            decidedInBatch.get(authorization.id);
        if (earlier) {
          results.push({ record: earlier, replayed: true });
          continue;
        }
        const usage = (counter: CounterRef): Usage =>
          sumUsage(counter.buckets.map((key) => values.get(keyId(key))));
        const pending = decide(authorization, { now: item.now, usage });
        const decision = pending instanceof Promise ? await pending : pending;
        // The shadow sees the same counters, before this request's reservation.
        const shadowPending = shadowDecide?.(authorization, { now: item.now, usage });
        const reservation = reserve(decision, authorization, item.counters);
        for (const key of reservation.keys) {
          const id = keyId(key);
          const current = (values.get(id) as Usage | null) ?? NO_USAGE;
          values.set(id, {
            amount: current.amount + reservation.amount,
            count: current.count + reservation.count,
          });
          dirtyCounters.set(id, { key, expireInMs: reservation.expireInMs });
        }
        let record = toRecord(authorization, decision, {
          eventId: item.eventId,
          decidedAt: item.now,
          latencyMs: performance.now() - item.started,
          path: item.path,
          reservation,
        });
        if (shadowPending instanceof Promise) pendingShadows.push([record, shadowPending]);
        else if (shadowPending) record = { ...record, shadow: shadowOf(record, shadowPending) };
        decidedInBatch.set(authorization.id, record);
        results.push({ record, replayed: false });
        writeRecord(operation, record, retentionMs);
      }
      for (const [id, { key, expireInMs }] of dirtyCounters) {
        operation.set(key, values.get(id), expireInMs ? { expireIn: expireInMs } : undefined);
      }
      aggregates.addDecisions(operation, results.flatMap((r) => r.replayed ? [] : [r.record]));
      const committed = await operation.commit();
      if (committed.ok) {
        for (const [id, { key }] of dirtyCounters) {
          remember(key, values.get(id) as Usage, committed.versionstamp);
        }
        // Counted once committed, so a retried batch counts nothing twice.
        for (const { record, replayed } of results) {
          if (!replayed && record.shadow) countShadow(record.shadow);
        }
        // An async shadow never delays the answer: recorded when it settles.
        for (const [live, pending] of pendingShadows) {
          pending.then((shadow) => recordShadow(live, shadow), () => {});
        }
        return results;
      }
      for (const key of counterKeys) knownCounters.delete(keyId(key));
    }
    throw new Error(`decision batch kept conflicting after ${MAX_ATTEMPTS} attempts`);
  }

  async function recordShadow(live: DecisionRecord, decision: Decision): Promise<void> {
    const shadow = shadowOf(live, decision);
    countShadow(shadow);
    await updateRecord(kv, live.authorization_id, (record) => ({ ...record, shadow }), retentionMs);
    const operation = kv.atomic();
    aggregates.addShadow(operation, live.decided_at, shadow);
    await operation.commit();
  }

  function countShadow(shadow: ShadowDecision): void {
    if (!shadow.disagrees) return;
    metrics?.shadowDisagreement(shadow.reasons[0] ? formatReason(shadow.reasons[0]) : "none");
  }

  function remember(key: Deno.KvKey, value: Usage | null, versionstamp: string | null): void {
    knownCounters.set(keyId(key), { value, versionstamp });
  }

  function fallbackRecord(
    authorization: AuthorizationRequest,
    eventId: string,
    now: Date,
    kind: string,
  ): RecordedDecision {
    const decision = fallbackDecision({
      approved: options.fallback === "approve",
      policy: "store",
      kind,
      trace: [],
      policyVersion: options.policyVersion,
    });
    const reservation = { keys: [], amount: 0, count: 0 };
    const record = toRecord(authorization, decision, {
      eventId,
      decidedAt: now,
      latencyMs: 0,
      path: "respond",
      reservation,
    });
    return { record, replayed: false, unrecorded: true };
  }

  return {
    async decide(authorization, { eventId, receivedAt, path }) {
      const now = new Date(receivedAt);
      let counters: CounterRef[];
      try {
        counters = [
          ...decide.counters(authorization, now),
          ...shadowDecide?.counters(authorization, now) ?? [],
        ];
      } catch (error) {
        log({ level: "error", msg: "policy_fallback", kind: "error", policy: "counters", error });
        return fallbackRecord(authorization, eventId, now, "error");
      }
      const { promise, resolve, reject } = Promise.withResolvers<RecordedDecision>();
      const item: Pending = {
        authorization,
        now,
        eventId,
        started: performance.now(),
        path,
        counters,
        resolve,
        reject,
        abandoned: false,
      };
      queue.push(item);
      if (!flushing) void flush();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const expired = new Promise<"timeout">((done) =>
        timer = setTimeout(() => done("timeout"), budgetMs)
      );
      try {
        const outcome = await Promise.race([promise, expired]);
        if (outcome === "timeout") {
          item.abandoned = true;
          log({
            level: "error",
            msg: "store_fallback",
            kind: "timeout",
            authorization_id: authorization.id,
          });
          return fallbackRecord(authorization, eventId, now, "store_timeout");
        }
        return outcome;
      } catch (error) {
        log({
          level: "error",
          msg: "store_fallback",
          kind: "error",
          authorization_id: authorization.id,
          error,
        });
        return fallbackRecord(authorization, eventId, now, "store_error");
      } finally {
        clearTimeout(timer);
      }
    },

    async markAnsweredDirectly(authorizationId) {
      await updateRecord(
        kv,
        authorizationId,
        (record) => ({ ...record, path: "respond_after_api_failure" }),
        retentionMs,
      );
    },

    async get(authorizationId) {
      return (await kv.get<DecisionRecord>(decisionKey(authorizationId))).value;
    },

    async list({ card, since, limit }) {
      const prefix = card ? ["decisions_by_card", card] : ["decisions_by_time"];
      const selector = since ? { prefix, start: [...prefix, since.getTime()] } : { prefix };
      const ids: string[] = [];
      for await (const entry of kv.list<string>(selector, { reverse: true, limit })) {
        ids.push(entry.value);
      }
      return await recordsOf(kv, ids);
    },

    async reconcile(authorization, type) {
      const settled = settledAmount(authorization);
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        const entry = await kv.get<DecisionRecord>(decisionKey(authorization.id));
        let record = entry.value;
        if (!record) {
          // Never reached us (or expired): log it as Stripe's alone, holding what Stripe holds.
          const now = new Date(authorization.created * 1000);
          const stripeDecision: Decision = {
            approved: authorization.approved,
            reasons: [],
            trace: [],
            policyVersion: "",
          };
          const asRequest = asAuthorizationRequest(authorization);
          record = toRecord(asRequest, stripeDecision, {
            eventId: null,
            decidedAt: now,
            latencyMs: 0,
            path: "stripe_only",
            reservation: {
              ...counterKeys(decide.counters(asRequest, now)),
              amount: 0,
              count: 0,
            },
          });
        }
        const { reservation } = record;
        const target = { amount: settled, count: settled > 0 ? 1 : 0 };
        const counterEntries = await getMany(kv, reservation.keys);
        const operation = kv.atomic().check(entry);
        for (const counter of counterEntries) {
          const usage = (counter.value as Usage | null) ?? NO_USAGE;
          operation.check(counter).set(counter.key, {
            amount: Math.max(0, usage.amount + target.amount - reservation.amount),
            count: Math.max(0, usage.count + target.count - reservation.count),
          }, reservation.expireInMs ? { expireIn: reservation.expireInMs } : undefined);
        }
        const updated: DecisionRecord = {
          ...record,
          reservation: { ...reservation, ...target },
          reconciliation: type === "created" || !record.reconciliation
            ? reconciliation(record, authorization)
            : {
              ...record.reconciliation,
              status: authorization.status,
              at: new Date().toISOString(),
            },
        };
        writeRecord(operation, updated, retentionMs);
        if (!record.reconciliation) {
          aggregates.addReconciliation(
            operation,
            record.decided_at,
            updated.reconciliation!.outcome,
          );
        }
        if ((await operation.commit()).ok) {
          for (const key of reservation.keys) knownCounters.delete(keyId(key));
          const { outcome } = updated.reconciliation!;
          if (type === "created") metrics?.reconciled(outcome);
          log({
            level: outcome === "agreed" ? "info" : "warn",
            msg: "reconciled",
            event_type: `issuing_authorization.${type}`,
            authorization_id: authorization.id,
            outcome,
            status: authorization.status,
            reserved_amount: target.amount,
          });
          return updated;
        }
      }
      throw new Error(`reconciliation of ${authorization.id} kept conflicting`);
    },
  };
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

/** A decided authorization seen as the request it was, so velocity policies can name its counters. */
function asAuthorizationRequest(authorization: Stripe.Issuing.Authorization): AuthorizationRequest {
  return {
    ...authorization,
    pending_request: authorization.pending_request ?? {
      amount: authorization.amount,
      amount_details: authorization.amount_details,
      currency: authorization.currency,
      is_amount_controllable: false,
      merchant_amount: authorization.merchant_amount,
      merchant_currency: authorization.merchant_currency,
      network_risk_score: null,
    },
  };
}

/**
 * Every decision in the log, oldest first: what `deno task export` writes.
 *
 * @example
 * ```ts
 * import { decisionLog } from "./decision_store.ts";
 * // for await (const record of decisionLog(kv)) console.log(JSON.stringify(record));
 * ```
 */
export async function* decisionLog(kv: Deno.Kv): AsyncIterable<DecisionRecord> {
  let ids: string[] = [];
  for await (const entry of kv.list<string>({ prefix: ["decisions_by_time"] })) {
    ids.push(entry.value);
    if (ids.length === EXPORT_PAGE) {
      yield* await recordsOf(kv, ids);
      ids = [];
    }
  }
  yield* await recordsOf(kv, ids);
}

/** The records of these authorizations, in order, skipping any that expired. */
async function recordsOf(kv: Deno.Kv, ids: readonly string[]): Promise<DecisionRecord[]> {
  const entries = await getMany(kv, ids.map(decisionKey));
  return entries.flatMap((entry) => entry.value ? [entry.value as DecisionRecord] : []);
}

/** The amount an authorization should hold in the limits: nothing once declined, reversed or expired. */
function settledAmount(authorization: Stripe.Issuing.Authorization): number {
  if (
    !authorization.approved || authorization.status === "reversed" ||
    authorization.status === "expired"
  ) return 0;
  const captured = (authorization.transactions ?? []).reduce(
    (sum, transaction) => sum + Math.abs(transaction.amount),
    0,
  );
  return authorization.status === "closed" && captured > 0 ? captured : authorization.amount;
}

function reconciliation(
  record: DecisionRecord,
  authorization: Stripe.Issuing.Authorization,
): Reconciliation {
  const stripeReason: string | null = authorization.request_history.at(-1)?.reason ?? null;
  const outcome: Reconciliation["outcome"] = record.path === "stripe_only"
    ? "stripe_only"
    : stripeReason === "webhook_timeout"
    ? "webhook_timeout"
    : stripeReason === "webhook_error"
    ? "webhook_error"
    : record.approved === authorization.approved
    ? "agreed"
    : "mismatch";
  return {
    outcome,
    stripe_approved: authorization.approved,
    stripe_amount: authorization.amount,
    stripe_reason: stripeReason,
    status: authorization.status,
    at: new Date().toISOString(),
  };
}

function reserve(
  decision: Decision,
  authorization: AuthorizationRequest,
  counters: CounterRef[],
): Reservation {
  const keys = counterKeys(counters);
  if (!decision.approved) return { ...keys, amount: 0, count: 0 };
  return { ...keys, amount: decision.amount ?? authorization.pending_request.amount, count: 1 };
}

function counterKeys(counters: CounterRef[]): { keys: Deno.KvKey[]; expireInMs?: number } {
  const byId = new Map(counters.map((counter) => [keyId(counter.current), counter]));
  const longest = Math.max(
    0,
    ...[...byId.values()].map((counter) => counter.expireInMs ?? Infinity),
  );
  return {
    keys: [...byId.values()].map((counter) => counter.current),
    expireInMs: Number.isFinite(longest) && longest > 0 ? longest : undefined,
  };
}

function toRecord(
  authorization: AuthorizationRequest,
  decision: Decision,
  meta: {
    eventId: string | null;
    decidedAt: Date;
    latencyMs: number;
    path: DecisionRecord["path"];
    reservation: Reservation;
  },
): DecisionRecord {
  const request = authorization.pending_request;
  const requested = request?.amount ?? authorization.amount;
  const response = request
    ? authorizationResponseBody(decision, request)
    : { approved: decision.approved } satisfies AuthorizationResponseBody;
  return {
    request: withoutCardholderDetails(authorization),
    authorization_id: authorization.id,
    event_id: meta.eventId,
    card_id: authorization.card.id,
    cardholder_id: authorization.card.cardholder?.id ?? null,
    requested_amount: requested,
    currency: request?.currency ?? authorization.currency,
    merchant_category: authorization.merchant_data.category,
    merchant_country: authorization.merchant_data.country,
    merchant_name: authorization.merchant_data.name,
    approved: decision.approved,
    amount: decision.amount ?? null,
    reasons: decision.reasons,
    ...(decision.fallback ? { fallback: decision.fallback } : {}),
    trace: decision.trace,
    policy_version: decision.policyVersion,
    decided_at: meta.decidedAt.toISOString(),
    latency_ms: Math.round(meta.latencyMs * 1_000) / 1_000,
    path: meta.path,
    response,
    reservation: meta.reservation,
  };
}

/** The authorization without personal data: the cardholder reduced to ids, no shipping address. */
function withoutCardholderDetails(authorization: AuthorizationRequest): AuthorizationRequest {
  const { card } = authorization;
  if (!card?.cardholder) return authorization;
  const { id, object, type, status, metadata } = card.cardholder;
  return {
    ...authorization,
    card: {
      ...card,
      cardholder: { id, object, type, status, metadata } as typeof card.cardholder,
      shipping: null,
    },
  };
}

function writeRecord(
  operation: Deno.AtomicOperation,
  record: DecisionRecord,
  retentionMs: number,
): void {
  const at = Date.parse(record.decided_at);
  const id = record.authorization_id;
  operation
    .set(decisionKey(id), record, { expireIn: retentionMs })
    .set(["decisions_by_card", record.card_id, at, id], id, { expireIn: retentionMs })
    .set(["decisions_by_time", at, id], id, { expireIn: retentionMs });
}

async function updateRecord(
  kv: Deno.Kv,
  authorizationId: string,
  change: (record: DecisionRecord) => DecisionRecord,
  retentionMs: number,
): Promise<void> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const entry = await kv.get<DecisionRecord>(decisionKey(authorizationId));
    if (!entry.value) return;
    const result = await kv.atomic().check(entry).set(entry.key, change(entry.value), {
      expireIn: retentionMs,
    }).commit();
    if (result.ok) return;
  }
}

/** Takes the longest prefix of the queue whose reads and writes fit one atomic operation. */
function takeBatch(queue: Pending[]): Pending[] {
  const batch: Pending[] = [];
  let checks = 0, mutations = 0;
  while (queue.length > 0) {
    const item = queue[0];
    if (item.abandoned) {
      queue.shift();
      continue;
    }
    const reads = 1 + item.counters.reduce((sum, counter) => sum + counter.buckets.length, 0);
    const writes = 3 + item.counters.length;
    if (batch.length > 0 && (checks + reads > MAX_CHECKS || mutations + writes > MAX_MUTATIONS)) {
      break;
    }
    checks += reads;
    mutations += writes;
    batch.push(queue.shift()!);
  }
  return batch;
}

async function getMany(
  kv: Deno.Kv,
  keys: readonly Deno.KvKey[],
): Promise<Deno.KvEntryMaybe<unknown>[]> {
  const chunks: Promise<Deno.KvEntryMaybe<unknown>[]>[] = [];
  for (let i = 0; i < keys.length; i += MAX_GET_MANY) {
    chunks.push(kv.getMany(keys.slice(i, i + MAX_GET_MANY)));
  }
  return (await Promise.all(chunks)).flat();
}

function uniqueKeys(keys: Deno.KvKey[]): Deno.KvKey[] {
  return [...new Map(keys.map((key) => [keyId(key), key])).values()];
}

function sumUsage(values: unknown[]): Usage {
  let amount = 0, count = 0;
  for (const value of values as (Usage | null | undefined)[]) {
    if (value) {
      amount += value.amount;
      count += value.count;
    }
  }
  return { amount, count };
}

function decisionKey(authorizationId: string): Deno.KvKey {
  return ["decision", authorizationId];
}

function keyId(key: Deno.KvKey): string {
  return JSON.stringify(key);
}
