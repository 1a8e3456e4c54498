import { createUnlandedAnswers } from "../../../lib/store/unlanded_answers.ts";
import { PendingReservations } from "../../../lib/store/counters.ts";
import { Deadline } from "../../../lib/engine/deadline.ts";
import type { LogRecord } from "../../../lib/telemetry/log.ts";
import { assert, assertEquals } from "../../_assert.ts";
import { authorizationEvent, authorizationOf } from "../../../fixtures/events.ts";

Deno.test("a stop retries what was answered without hammering a store that refuses every write", async () => {
  const logs: LogRecord[] = [];
  const answers = createUnlandedAnswers({
    log: (record) => logs.push(record),
    pending: new PendingReservations(),
  });
  const authorization = authorizationOf(authorizationEvent());
  const meta = {
    eventId: "evt_full",
    receivedAt: Date.now(),
    deadline: Deadline.after(0),
    path: "respond" as const,
    eventBytes: 4_000,
  };
  const decision = { approved: true, reasons: [], trace: [], policyVersion: "dev" };
  let attempts = 0;
  // A full disk: every attempt fails at once (after a turn of the event loop, as a KV op does).
  const recording = answers.retriedWhileFailing({ authorization, meta }, async () => {
    attempts++;
    await new Promise((resolve) => setTimeout(resolve, 0));
    throw new TypeError("database or disk is full");
  }, () => true);
  answers.inBackground(recording.catch(() => {}), { authorization, meta, decision });
  await new Promise((resolve) => setTimeout(resolve, 10));
  const started = performance.now();
  assertEquals(await answers.stop(), 1, "logged as not recorded at the stop's end");
  const seconds = (performance.now() - started) / 1_000;
  // Before: about 5,000 attempts a second until the stop gave up (4 s).
  assert(attempts / seconds < 40, `${attempts} attempts in ${seconds.toFixed(1)} s`);
  const retries = logs.filter((record) => record.msg === "store_record_retry");
  assert(retries.slice(1).every((record) => record.retry_in_ms === 50), "says the pause it takes");
});
