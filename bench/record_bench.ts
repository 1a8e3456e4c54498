/**
 * What storing one decision record costs before Deno KV writes it: V8's
 * serializer over the record as an object (what KV does with any value but
 * bytes; here with `request` as JSON text, as records were stored before),
 * against the record's JSON as UTF-8 bytes (kept by KV as they are). And
 * what one rope costs it: a string V8 keeps as its parts (a template
 * literal's result past 12 characters), which takes `JSON.stringify` off its
 * fast path for the whole record (so `formatReason` joins its parts).
 */
import { serialize } from "node:v8";
import { createDecide, type Decision } from "../lib/engine/decide.ts";
import { storedRecord, toRecord } from "../lib/store/decision_record.ts";
import { defaultPipeline } from "../policies/mod.ts";
import { authorizationOf, SCENARIOS } from "../fixtures/events.ts";

const authorization = authorizationOf(SCENARIOS.fuel_controllable_over_hold);
const decision = createDecide(defaultPipeline, { policyVersion: "bench" })(
  authorization,
) as Decision;
const record = toRecord(authorization, decision, {
  eventId: "evt_bench",
  index: 0,
  position: 0,
  decidedAt: new Date(),
  latencyMs: 1,
  path: "respond",
  held: { amount: 0, requests: 0 },
  reservation: { keys: [["usage", "card", "ic_bench", "daily", 0]], amount: 0, count: 0 },
});

Deno.bench(
  "record: V8-serialized object, request as JSON text (baseline)",
  { group: "record", baseline: true },
  () => {
    serialize({ ...record, request: JSON.stringify(record.request) });
  },
);

Deno.bench("record: its JSON as UTF-8 bytes (stored)", { group: "record" }, () => {
  storedRecord(record);
});

/** The record with its first reason's metadata value as a template literal builds it: a rope. */
function withRope(): typeof record {
  const text = record.response.metadata!.reason_1;
  const [code, rest] = [text.slice(0, text.indexOf(":")), text.slice(text.indexOf(":") + 1)];
  return {
    ...record,
    response: {
      ...record.response,
      metadata: { ...record.response.metadata, reason_1: `${code}:${rest}` },
    },
  };
}
const roped = withRope();

Deno.bench("record's JSON, every string flat (baseline)", { group: "rope", baseline: true }, () => {
  JSON.stringify(record);
});

Deno.bench("record's JSON, one metadata value a rope", { group: "rope" }, () => {
  JSON.stringify(roped);
});
