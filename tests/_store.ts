/**
 * A decision store over a KV, deciding with the reference pipeline unless
 * given another `decide`, as the store and query tests need it.
 *
 * @module
 */
import { createDecide, type Decide } from "../lib/engine/decide.ts";
import { Deadline } from "../lib/engine/deadline.ts";
import type { AuthorizationRequest } from "../lib/engine/policy.ts";
import {
  createDecisionStore,
  type DecisionStore,
  type RecordedDecision,
  type RequestMeta,
} from "../lib/store/decision_store.ts";
import { referencePipeline } from "./fixtures/pipelines/reference.ts";
import { authorizationOf } from "../fixtures/events.ts";
import type Stripe from "stripe";

/** A store on `kv` with test defaults: a day's retention, declining fallbacks, quiet logs. */
export function testStore(
  kv: Deno.Kv,
  decide: Decide = createDecide(referencePipeline, { policyVersion: "test" }),
): DecisionStore {
  return createDecisionStore({
    kv,
    decide,
    log: () => {},
    retentionMs: 86_400_000,
  });
}

/**
 * Decides and records `authorization` as the webhook would, received at
 * `receivedAt`, with 5 s to spare and a 4 KB event unless `meta` says otherwise.
 */
export function recordRequest(
  store: DecisionStore,
  authorization: AuthorizationRequest,
  receivedAt = Date.now(),
  meta: Partial<RequestMeta> = {},
): Promise<RecordedDecision> {
  return store.decideAndRecord(authorization, {
    eventId: `evt_${authorization.id}`,
    receivedAt,
    deadline: Deadline.after(5_000),
    path: "respond",
    eventBytes: 4_000,
    ...meta,
  });
}

/**
 * Decides and records a request `event` as the webhook would, under its own
 * event id (see {@linkcode recordRequest}).
 */
export function recordEvent(
  store: DecisionStore,
  event: Stripe.Event,
  receivedAt = Date.now(),
  meta: Partial<RequestMeta> = {},
): Promise<RecordedDecision> {
  return recordRequest(store, authorizationOf(event), receivedAt, { eventId: event.id, ...meta });
}

/**
 * Reads `read()` until `done` holds of it (what the store records in the
 * background after an answer), every 20 ms; throws naming `what` after `ms`.
 */
export async function pollUntil<T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  ms = 2_000,
): Promise<T> {
  const until = performance.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (performance.now() > until) throw new Error(`${what} within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
