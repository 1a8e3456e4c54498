/**
 * The app's answer to a request a stop cuts short: the store closed under
 * it is the stop's doing, logged as such, never as an internal error.
 */
import { createApp } from "../../../lib/http/app.ts";
import { createWebhookVerifier } from "../../../lib/http/webhook_verifier.ts";
import { createDecide } from "../../../lib/engine/decide.ts";
import { createDecisionStore, type DecisionStore } from "../../../lib/store/decision_store.ts";
import { createMetrics } from "../../../lib/telemetry/metrics.ts";
import type { LogRecord } from "../../../lib/telemetry/log.ts";
import { lifecycleEvent, requestEvent } from "../../../fixtures/lifecycle.ts";
import { assertEquals } from "../../_assert.ts";
import { signWithHmac, TEST_SECRET } from "../../_helpers.ts";

for (
  const [kind, closed] of [
    ["its handle gone", new Deno.errors.BadResource("Bad resource ID")],
    ["an operation in flight as it closed", new TypeError("Database is closed.")],
  ] as const
) {
  Deno.test(`a lifecycle event whose store closed under it (${kind}) during a stop is cut short, not an internal error`, async () => {
    using kv = await Deno.openKv(":memory:");
    const logs: LogRecord[] = [];
    const log = (record: LogRecord) => logs.push(record);
    const decide = createDecide([], { policyVersion: "test" });
    const live = createDecisionStore({ kv, decide, log, retentionMs: 86_400_000 });
    const stopping = (stopped: boolean): DecisionStore => ({
      ...live,
      stopping: stopped,
      reconcile: () => Promise.reject(closed),
    });
    const event = JSON.stringify(lifecycleEvent(
      requestEvent({ id: "iauth_cut_short" }),
      "issuing_authorization.updated",
      { status: "closed", approved: true, amount: 0, requests: [{ amount: 1_000 }] },
    ));
    for (const stopped of [true, false]) {
      const app = createApp({
        verify: createWebhookVerifier({ secrets: [TEST_SECRET] }),
        store: stopping(stopped),
        log,
        metrics: createMetrics(),
        webhookPath: "/webhook",
        versions: { service: "test", policies: "test" },
        maxBodyBytes: 262_144,
        bodyReadTimeoutMs: 1_000,
        answerWithinMs: 1_800,
      });
      const response = await app.fetch(
        new Request("http://localhost/webhook", {
          method: "POST",
          headers: { "stripe-signature": await signWithHmac(event, TEST_SECRET) },
          body: event,
        }),
      );
      // Stripe redelivers a lifecycle event answered 5xx.
      assertEquals(response.status, 503);
      await response.body?.cancel();
    }
    // Only while stopping is a closed store the stop's doing.
    assertEquals(logs.map(({ level, msg }) => [level, msg]), [
      ["warn", "cut_short_by_stop"],
      ["error", "internal_error"],
    ]);
  });
}
