/**
 * The webhook flow, top to bottom: read → verify → decide-and-record →
 * answer. Authorization requests are decided; lifecycle and transaction
 * events reconcile what Stripe did; a new card is linked to the card it
 * replaces; anything else is acknowledged.
 *
 * @module
 */
import type Stripe from "stripe";
import { Deadline } from "../engine/deadline.ts";
import { formatReason, outcomeOf } from "../engine/decide.ts";
import type { AuthorizationRequest } from "../engine/policy.ts";
import { StateFullError } from "../store/authorization_state.ts";
import type { DecisionPath, DecisionStore } from "../store/decision_store.ts";
import type { Logger } from "../telemetry/log.ts";
import type { Metrics } from "../telemetry/metrics.ts";
import { ApiCallError, type ApiDecisionSender, takesApiPath } from "./api_decision_sender.ts";
import { jsonResponse } from "./json_response.ts";
import { readBody } from "./request_body.ts";
import { RequestError } from "./request_error.ts";
import { stripeVersionFor } from "./stripe_version.ts";
import type { WebhookVerifier } from "./webhook_verifier.ts";

/** What {@linkcode createWebhook} needs. */
export interface WebhookOptions {
  readonly verify: WebhookVerifier;
  readonly store: DecisionStore;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** Pinned `Stripe-Version` for answers; else each event's `api_version`. */
  readonly stripeApiVersion?: string;
  readonly maxBodyBytes: number;
  /** The most the body read may take (it also stops at the request's deadline). */
  readonly bodyReadTimeoutMs: number;
  /** Time from arrival to the answer: Stripe's 2 s minus the network margin (see config.ts). */
  readonly answerWithinMs: number;
  /** Migration mode: send this share of decisions through the deprecated API. */
  readonly apiMode?: {
    readonly send: ApiDecisionSender;
    readonly percent: number;
    /** The API call's slice, kept free at the end of the deadline. */
    readonly timeoutMs: number;
  };
  /** Adds attributes to the request's trace span, when tracing is on. */
  readonly annotateSpan?: (
    attributes: Record<string, string | number | boolean | string[]>,
  ) => void;
}

/**
 * Builds the webhook handler. One {@linkcode Deadline} is made at arrival and
 * shared by every step: the body read, the policies, the store's commit and
 * the API call all stop by it, so the answer leaves within Stripe's 2 s
 * whatever each step took.
 *
 * Deciding happens inside the store's commit batch, not before it: the
 * decision depends on the velocity counters (and on earlier requests of the
 * same authorization), and only a decision made on the values the commit
 * checks can reserve without overspending when requests on one card arrive
 * together, in this process or another. So the store reads, decides and
 * records in one step (`decideAndRecord`), and the answer leaves only once
 * the decision is durable.
 *
 * @example
 * ```ts
 * import { createWebhook } from "./webhook.ts";
 * import { createWebhookVerifier } from "./webhook_verifier.ts";
 * import { createDecide } from "../engine/decide.ts";
 * import { createDecisionStore } from "../store/decision_store.ts";
 * import { createMetrics } from "../telemetry/metrics.ts";
 * import { rejects } from "node:assert/strict";
 * using kv = await Deno.openKv(":memory:");
 * const decide = createDecide([], { policyVersion: "dev" });
 * const log = () => {};
 * const webhook = createWebhook({
 *   verify: createWebhookVerifier({ secrets: ["whsec_example"] }),
 *   store: createDecisionStore({ kv, decide, log, retentionMs: 86_400_000 }),
 *   log, metrics: createMetrics(), maxBodyBytes: 262_144, bodyReadTimeoutMs: 1_000, answerWithinMs: 1_800,
 * });
 * // A signed event is answered 200 with { approved, … } (see createService's example); anything else is a RequestError.
 * const forged = new Request("http://localhost/webhook", {
 *   method: "POST", headers: { "stripe-signature": "t=1,v1=00" }, body: "{}",
 * });
 * await rejects(webhook(forged), { status: 400 });
 * ```
 */
export function createWebhook(options: WebhookOptions): (request: Request) => Promise<Response> {
  const { verify, store, log, metrics, apiMode, annotateSpan } = options;
  // The read starts with the deadline, so it stops by this: a whole number of ms, fixed once,
  // as its 408 reason is a metrics label.
  const bodyReadTimeoutMs = Math.min(options.bodyReadTimeoutMs, options.answerWithinMs);

  /**
   * 1. Read, within `bodyReadTimeoutMs`. 2. Verify: a bad signature, a stale
   * timestamp or a malformed body is a 400. In a function of its own so that
   * the body's text ends with it: a suspended async function keeps its
   * locals, and a request waiting for its commit held its body's text beside
   * its event, about a seventh of what it kept (`bench/inflight_heap.ts`),
   * copied by each scavenge it lived through.
   */
  async function verifiedEvent(request: Request, receivedAt: number) {
    const { text, bytes } = await readBody(request, options.maxBodyBytes, bodyReadTimeoutMs);
    const event = await verify(text, request.headers.get("stripe-signature"), receivedAt);
    checkEvent(event);
    return { event, bytes };
  }

  return async function webhook(request) {
    const receivedAt = Date.now();
    const started = performance.now();
    const deadline = Deadline.after(options.answerWithinMs, started);
    const { event, bytes: payloadBytes } = await verifiedEvent(request, receivedAt);
    switch (event.type) {
      case "issuing_authorization.request":
        break;
      case "issuing_authorization.created":
      case "issuing_authorization.updated":
        await refusingFullState(store.reconcile(
          lifecycleAuthorizationOf(event),
          event.type === "issuing_authorization.created" ? "created" : "updated",
        ));
        return jsonResponse({ received: true });
      case "issuing_transaction.created":
        await refusingFullState(store.recordTransaction(transactionOf(event)));
        return jsonResponse({ received: true });
      case "issuing_card.created":
        await store.recordCard(cardOf(event));
        return jsonResponse({ received: true });
      default:
        log({ level: "info", msg: "event_received", event_id: event.id, type: event.type });
        return jsonResponse({ received: true });
    }

    // 3. Decide and record, in one commit (see above). The API path keeps its slice free.
    const authorization = authorizationRequestOf(event);
    const chosenPath: DecisionPath = apiMode && takesApiPath(authorization.id, apiMode.percent)
      ? "api"
      : "respond";
    const storeDeadline = chosenPath === "api"
      ? new Deadline(deadline.at - apiMode!.timeoutMs)
      : deadline;
    const { record, replayed, unrecorded } = await store.decideAndRecord(authorization, {
      eventId: event.id,
      receivedAt,
      deadline: storeDeadline,
      path: chosenPath,
      eventBytes: payloadBytes,
    });

    // 4. Answer: through the API (one call per request), else in the response.
    let path = unrecorded ? "respond" : record.path;
    if (apiMode && path === "api" && !replayed) {
      try {
        await apiMode.send(authorization.id, record.response, {
          requestKey: `${record.position}`,
          deadline,
        });
      } catch (error) {
        // Stripe honours a direct answer, so the decision still lands.
        path = "respond_after_api_failure";
        log({ level: "warn", msg: "api_call_failed", authorization_id: authorization.id, error });
        metrics.apiCallFailed(error instanceof ApiCallError ? error.kind : "error");
        // The answer's path is logged within the request's deadline, or after it: the answer is not
        // held past Stripe's 2 s for it (the decision it logs is the same either way).
        const marked = store.markAnsweredDirectly(record).catch((error) =>
          log({
            level: "error",
            msg: "store_update_failed",
            authorization_id: authorization.id,
            event_id: event.id,
            path,
            error,
          })
        );
        await deadline.race(marked);
      }
    }
    const latencyMs = performance.now() - started;
    const reasons = record.reasons.map(formatReason);
    // A redelivery is answered again, but it is not a new decision.
    if (!replayed) {
      metrics.decision(outcomeOf(record), reasons, latencyMs / 1_000);
      if (record.fallback) metrics.fallback(record.fallback);
    }
    annotateSpan?.({
      "issuing.authorization_id": authorization.id,
      "issuing.event_id": event.id,
      "issuing.card_id": record.card_id,
      "issuing.approved": record.approved,
      "issuing.requested_amount": record.requested_amount,
      "issuing.currency": record.currency,
      "issuing.reasons": reasons,
      "issuing.policy_version": record.policy_version,
      "issuing.decision_path": path,
      "issuing.replayed": replayed,
      "issuing.request_position": record.position,
      ...(record.amount === null ? {} : { "issuing.amount": record.amount }),
    });
    log({
      level: "info",
      msg: "decision",
      event_id: event.id,
      authorization_id: authorization.id,
      position: record.position,
      card_id: record.card_id,
      approved: record.approved,
      amount: record.amount ?? undefined,
      requested_amount: record.requested_amount,
      currency: record.currency,
      reasons,
      policy_version: record.policy_version,
      latency_ms: Math.round(latencyMs * 1_000) / 1_000,
      path,
      replayed,
    });
    // After a successful API call, answer without a decision: one method per request, as Stripe
    // advises. A redelivery is answered with the decision whatever path it took: whether its API
    // call landed is not known here (marking it answered directly may have failed too), and "in
    // the event both methods are used on the same authorization, the API call takes precedence
    // over the direct response" (Stripe, "Issuing real-time authorizations"), so it never answers
    // twice and never leaves Stripe without an answer. It is not sent to the API again.
    const acknowledgeOnly = path === "api" && !replayed;
    return jsonResponse(acknowledgeOnly ? { received: true } : record.response, 200, {
      "stripe-version": stripeVersionFor(options.stripeApiVersion, event.api_version),
    });
  };
}

/**
 * The checks every verified event gets before its type is read (replays
 * too): an id Stripe could send (stored with each request it carries), and
 * JSON no deeper than Stripe's (see {@linkcode MAX_EVENT_DEPTH}). Throws a
 * 400 {@linkcode RequestError} naming what is wrong.
 *
 * @example
 * ```ts
 * import { checkEvent } from "./webhook.ts";
 * import { authorizationEvent } from "../../fixtures/events.ts";
 * import { throws } from "node:assert/strict";
 * checkEvent(authorizationEvent("online") as never);
 * throws(() => checkEvent({ id: "evt_".padEnd(300, "x") } as never), { status: 400 });
 * ```
 */
export function checkEvent(event: Stripe.Event): void {
  if (!isId(event.id)) throw new RequestError(400, "event id is not one Stripe sends");
  if (nestedDeeperThan(event, MAX_EVENT_DEPTH)) {
    throw new RequestError(400, `event nested deeper than ${MAX_EVENT_DEPTH} levels`);
  }
}

/**
 * Stripe: "You can safely assume object IDs we generate will never exceed 255
 * characters" (API upgrades, backwards-compatible changes). A longer one is not
 * Stripe's, and would not fit in a Deno KV key (2 KiB).
 */
const MAX_ID_LENGTH = 255;

function isId(value: unknown): value is string {
  return isShortText(value, MAX_ID_LENGTH) && value.length > 0;
}

/** An expandable reference (Stripe's `string | Object`), absent, or `null`. */
function isReference(value: unknown): boolean {
  return value == null || isId(value) ||
    (typeof value === "object" && isId((value as { id?: unknown }).id));
}

/**
 * A lifecycle event its authorization's state cannot hold (hundreds of
 * requests or thousands of transactions listed) is refused with a 400: no
 * authorization of Stripe's has them, and a 5xx would be retried for days.
 */
async function refusingFullState(merged: Promise<unknown>): Promise<void> {
  try {
    await merged;
  } catch (error) {
    if (error instanceof StateFullError) throw new RequestError(400, error.message);
    throw error;
  }
}

/** Unix seconds that `Date` can hold (absent counts: the store reads `created ?? 0`). */
function isUnixTime(value: unknown): boolean {
  return value === undefined ||
    (Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= 8.64e12);
}

/**
 * Merchant data whose category, name and country (kept in the log, and what
 * its filters match) are text as stripe-node types them, and whose network id
 * (a part of per-merchant counters' keys) is Stripe-sized.
 */
function isMerchantData(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  const { category, name, country, network_id } = value as Record<string, unknown>;
  return typeof category === "string" && (name == null || typeof name === "string") &&
    (country == null || typeof country === "string") &&
    (network_id == null || isShortText(network_id, MAX_ID_LENGTH));
}

/**
 * How deep an event's JSON nests at most. Stripe's objects nest a few levels
 * (an event's authorization's card's cardholder's address), expanded
 * references add a level each, up to four ("Expanding responses"), and
 * metadata values are strings; 32 leaves room for what Stripe adds. A much
 * deeper body is not Stripe's, and its record may not serialize (V8's
 * `JSON.stringify` recurses, and runs out of stack at some thousands of
 * levels, fewer on a busy stack): its answer could not be logged.
 */
const MAX_EVENT_DEPTH = 32;

/** Whether `value` holds objects or arrays more than `levels` deep; recurses at most that far. */
function nestedDeeperThan(value: unknown, levels: number): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (levels === 0) return true;
  if (Array.isArray(value)) return value.some((item) => nestedDeeperThan(item, levels - 1));
  // `for…in`, not `Object.values` as `deepFreeze` walks: on objects not frozen it is the cheaper
  // walk (`guard` in request_guard_bench.ts).
  for (const key in value) {
    if (nestedDeeperThan((value as Record<string, unknown>)[key], levels - 1)) return true;
  }
  return false;
}

/**
 * What the authorization's stored state keeps of a lifecycle event is bounded
 * so it fits one Deno KV value: a status or a reason is a code
 * (`webhook_approved`), a reason message a sentence.
 */
const MAX_CODE_LENGTH = 64;
const MAX_MESSAGE_LENGTH = 1_000;
const MAX_CURRENCY_LENGTH = 16;

/**
 * Text up to `max` UTF-16 units, well-formed: a lone surrogate becomes U+FFFD
 * in UTF-8, where Deno KV keys are compared, so two ids differing only there
 * would name one key (and a JSON body can carry one, as `\ud800`).
 */
function isShortText(value: unknown, max: number): value is string {
  return typeof value === "string" && value.length <= max && value.isWellFormed();
}

/** A currency code (ISO 4217's are three letters; it is a part of counters' keys). */
function isCurrency(value: unknown): boolean {
  return isShortText(value, MAX_CURRENCY_LENGTH);
}

/** Absent, or a list of objects (Stripe's lists hold objects, never `null`). */
function isObjectList(value: unknown): boolean {
  return value === undefined ||
    (Array.isArray(value) && value.every((item) => typeof item === "object" && item !== null));
}

function authorizationOf(event: Stripe.Event): Stripe.Issuing.Authorization {
  const object = (event.data as { object?: unknown }).object as
    | Partial<Stripe.Issuing.Authorization>
    | undefined;
  if (
    typeof object !== "object" || object === null || object.object !== "issuing.authorization" ||
    !isId(object.id) || !isId(object.card?.id) || !isReference(object.card.replacement_for) ||
    !isReference(object.card.cardholder) || !isUnixTime(object.created) ||
    !(object.currency === undefined || isCurrency(object.currency)) ||
    !isMerchantData(object.merchant_data)
  ) {
    throw new RequestError(400, "event has no issuing authorization");
  }
  return object as Stripe.Issuing.Authorization;
}

/**
 * The authorization of a lifecycle event, whose `request_history` and
 * `transactions` reconciliation reads. (On a request, a `request_history`
 * Stripe could not have sent is the store's to decline: a 400 would leave the
 * answer to Stripe's timeout setting.)
 */
function lifecycleAuthorizationOf(event: Stripe.Event): Stripe.Issuing.Authorization {
  const authorization = authorizationOf(event);
  const { status, request_history: history, transactions } = authorization;
  if (
    !isObjectList(history) || !isObjectList(transactions) ||
    !isShortText(status, MAX_CODE_LENGTH) ||
    !(history ?? []).every(({ reason, reason_message: message, created }) =>
      isShortText(reason, MAX_CODE_LENGTH) &&
      (message == null || isShortText(message, MAX_MESSAGE_LENGTH)) &&
      // Dated into the windows of the requests Stripe decided without us.
      isUnixTime(created)
    ) ||
    !(transactions ?? []).every((transaction) => isId(transaction.id))
  ) {
    throw new RequestError(400, "event has no issuing authorization");
  }
  return authorization;
}

/**
 * The authorization of an `issuing_authorization.request` event, checked for
 * the fields the engine relies on. A signed event without them is malformed
 * (400); odd but well-typed requests (a negative or zero increment, a
 * missing or inconsistent `request_history`) are declined by the store.
 * Replays check recorded events by it too.
 *
 * @example
 * ```ts
 * import { authorizationRequestOf } from "./webhook.ts";
 * import { authorizationEvent } from "../../fixtures/events.ts";
 * import { equal, throws } from "node:assert/strict";
 * const event = authorizationEvent("online", { id: "iauth_1" });
 * equal(authorizationRequestOf(event as never).id, "iauth_1");
 * throws(() => authorizationRequestOf({ data: { object: { id: "iauth_1" } } } as never), {
 *   status: 400,
 *   message: "event has no issuing authorization",
 * });
 * ```
 */
export function authorizationRequestOf(event: Stripe.Event): AuthorizationRequest {
  const authorization = authorizationOf(event);
  const request = authorization.pending_request;
  if (
    typeof request !== "object" || request === null || !Number.isSafeInteger(request.amount) ||
    !isCurrency(request.currency) || !isCurrency(request.merchant_currency) ||
    typeof request.is_amount_controllable !== "boolean" || !hasWholeAmountDetails(request)
  ) {
    throw new RequestError(400, "event has no issuing authorization with a pending_request");
  }
  return authorization as AuthorizationRequest;
}

/**
 * Whether the request's amount details, if it has any, are whole amounts of at
 * least 0 (stripe-node: `amount_details.cashback_amount` and `atm_fee`,
 * `number | null`): the engine and the answer compare limits with the cash
 * back, policies with the ATM fee, and only a number compares as a number.
 */
function hasWholeAmountDetails(request: Stripe.Issuing.Authorization.PendingRequest): boolean {
  const details: unknown = request.amount_details;
  if (details === null || details === undefined) return true;
  if (typeof details !== "object") return false;
  const { cashback_amount, atm_fee } = details as Record<string, unknown>;
  return isWholeOrNone(cashback_amount) && isWholeOrNone(atm_fee);
}

function isWholeOrNone(amount: unknown): boolean {
  return amount === null || amount === undefined ||
    (Number.isSafeInteger(amount) && (amount as number) >= 0);
}

function transactionOf(event: Stripe.Event): Stripe.Issuing.Transaction {
  const object = (event.data as { object?: unknown }).object as
    | Partial<Stripe.Issuing.Transaction>
    | undefined;
  if (
    typeof object !== "object" || object === null || object.object !== "issuing.transaction" ||
    !isId(object.id) || !Number.isSafeInteger(object.amount) || !isCurrency(object.currency) ||
    object.card == null || !isReference(object.card) || !isReference(object.cardholder) ||
    !isReference(object.authorization) || !isUnixTime(object.created) ||
    !isMerchantData(object.merchant_data)
  ) {
    throw new RequestError(400, "event has no issuing transaction");
  }
  return object as Stripe.Issuing.Transaction;
}

function cardOf(event: Stripe.Event): Stripe.Issuing.Card {
  const object = (event.data as { object?: unknown }).object as
    | Partial<Stripe.Issuing.Card>
    | undefined;
  if (
    typeof object !== "object" || object === null || object.object !== "issuing.card" ||
    !isId(object.id) || !isReference(object.replacement_for)
  ) {
    throw new RequestError(400, "event has no issuing card");
  }
  return object as Stripe.Issuing.Card;
}
