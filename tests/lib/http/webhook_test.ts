import { createWebhook } from "../../../lib/http/webhook.ts";
import { createWebhookVerifier } from "../../../lib/http/webhook_verifier.ts";
import { createDecide } from "../../../lib/engine/decide.ts";
import { createDecisionStore, type DecisionStore } from "../../../lib/store/decision_store.ts";
import { createMetrics } from "../../../lib/telemetry/metrics.ts";
import { assert, assertEquals } from "../../_assert.ts";
import { signWithHmac, TEST_SECRET } from "../../_helpers.ts";
import { authorizationEvent } from "../../../fixtures/events.ts";

Deno.test("the store budgets a request's commit by the body's UTF-8 bytes, not its characters", async () => {
  using kv = await Deno.openKv(":memory:");
  const log = () => {};
  const store = createDecisionStore({
    kv,
    decide: createDecide([], { policyVersion: "dev" }),
    log,
    retentionMs: 86_400_000,
  });
  const budgets: number[] = [];
  const budgeted: DecisionStore = {
    ...store,
    decideAndRecord(authorization, meta) {
      budgets.push(meta.eventBytes);
      return store.decideAndRecord(authorization, meta);
    },
  };
  const webhook = createWebhook({
    verify: createWebhookVerifier({ secrets: [TEST_SECRET] }),
    store: budgeted,
    log,
    metrics: createMetrics(),
    maxBodyBytes: 262_144,
    bodyReadTimeoutMs: 1_000,
    answerWithinMs: 1_800,
  });
  // A merchant name of 5,000 CJK characters: 15,000 bytes in UTF-8.
  const event = authorizationEvent("online", { merchant_data: { name: "東".repeat(5_000) } });
  const body = JSON.stringify(event);
  const bytes = new TextEncoder().encode(body).length;
  const signature = await signWithHmac(body, TEST_SECRET);
  const post = (headers: Record<string, string>) =>
    webhook(
      new Request("http://localhost/webhook", {
        method: "POST",
        headers: { "stripe-signature": signature, ...headers },
        body,
      }),
    );
  // As it arrives over HTTP: with its Content-Length.
  assertEquals((await post({ "content-length": String(bytes) })).status, 200);
  // Without one (chunked), at least its bytes.
  assertEquals((await post({})).status, 200);
  assertEquals(budgets[0], bytes);
  assert(budgets[1] >= bytes, `${budgets[1]} < ${bytes}`);
});
