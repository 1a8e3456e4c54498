/**
 * A decision store over a KV, deciding with the reference pipeline unless
 * given another `decide`, as the store and query tests need it.
 *
 * @module
 */
import { createDecide, type Decide } from "../lib/engine/decide.ts";
import { createDecisionStore, type DecisionStore } from "../lib/store/decision_store.ts";
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
    fallback: "decline",
    policyVersion: "test",
  });
}
