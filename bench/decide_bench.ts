/** `decide` on the default pipeline, against an empty pipeline as the baseline. */
import { createDecide } from "../lib/engine/decide.ts";
import { defaultPipeline } from "../policies/mod.ts";
import { authorizationOf, SCENARIOS } from "../fixtures/events.ts";

const now = new Date("2026-11-25T12:00:00Z");
const authorizations = Object.values(SCENARIOS).map(authorizationOf);
const empty = createDecide([], { policyVersion: "bench" });
const pipeline = createDecide(defaultPipeline, { policyVersion: "bench" });
let i = 0;

Deno.bench("decide: empty pipeline (baseline)", { group: "decide", baseline: true }, () => {
  empty(authorizations[i++ % authorizations.length], { now });
});

Deno.bench("decide: default pipeline", { group: "decide" }, () => {
  pipeline(authorizations[i++ % authorizations.length], { now });
});
