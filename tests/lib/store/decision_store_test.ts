import { createDecide } from "../../../lib/engine/decide.ts";
import { Deadline } from "../../../lib/engine/deadline.ts";
import { createDecisionStore, decisionLog } from "../../../lib/store/decision_store.ts";
import { referencePipeline } from "../../fixtures/pipelines/reference.ts";
import { assertEquals } from "../../_assert.ts";
import { authorizationEvent, authorizationOf } from "../../../fixtures/events.ts";

Deno.test("decisionLog() yields every decision, oldest first, across read pages", async () => {
  using kv = await Deno.openKv(":memory:");
  const store = createDecisionStore({
    kv,
    decide: createDecide(referencePipeline, { policyVersion: "test" }),
    log: () => {},
    retentionMs: 86_400_000,
    fallback: "decline",
    policyVersion: "test",
  });
  const start = Date.parse("2026-11-25T00:00:00Z");
  for (let i = 0; i < 250; i++) {
    const authorization = authorizationOf(authorizationEvent("online", { id: `iauth_log_${i}` }));
    await store.decideAndRecord(authorization, {
      eventId: `evt_log_${i}`,
      receivedAt: start + i * 1_000,
      deadline: Deadline.after(10_000),
      path: "respond",
      eventBytes: 4_000,
    });
  }
  const ids: string[] = [];
  for await (const record of decisionLog(kv)) ids.push(record.authorization_id);
  assertEquals(ids, Array.from({ length: 250 }, (_, i) => `iauth_log_${i}`));
});
