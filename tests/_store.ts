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
