import { authorizationResponseBody } from "../lib/authorization_response.ts";
import { createDecide } from "../lib/decide.ts";
import type { Policy } from "../lib/policy.ts";
import { defaultPipeline } from "../policies/mod.ts";
import { assert, assertEquals } from "./_assert.ts";
import { startTestServer } from "./_helpers.ts";
import { authorizationOf, SCENARIOS } from "./fixtures/events.ts";

Deno.test("every snapshot scenario, signed and sent over HTTP, gets the same decision as in-process", async (t) => {
  await using server = await startTestServer();
  for (const [scenario, event] of Object.entries(SCENARIOS)) {
    await t.step(scenario, async () => {
      const response = await server.postEvent(event);
      assertEquals(response.status, 200);
      const body = await response.json();
      const authorization = authorizationOf(event);
      const decide = createDecide(defaultPipeline, { policyVersion: body.metadata.policy_version });
      const expected = authorizationResponseBody(
        await decide(authorization),
        authorization.pending_request,
      );
      assertEquals(body, JSON.parse(JSON.stringify(expected)));
    });
  }
});

Deno.test("a hanging policy is answered with the fallback within the budget, and logged", async () => {
  const hangs: Policy = function hangs() {
    return new Promise(() => {});
  };
  await using server = await startTestServer({ DECISION_BUDGET_MS: "100" }, {
    policies: [...defaultPipeline, hangs],
  });
  const started = performance.now();
  const response = await server.postEvent(SCENARIOS.ordinary_grocery);
  const elapsed = performance.now() - started;
  const body = await response.json();
  assertEquals(response.status, 200);
  assertEquals(body.approved, false);
  assertEquals(body.metadata.reason_1, "fallback:timeout (hangs)");
  assert(elapsed < 1_000, `answered well inside Stripe's 2 s (${elapsed} ms)`);
  assert(
    server.logs.some((record) => record.msg === "policy_fallback" && record.policy === "hangs"),
  );
});

Deno.test("FALLBACK_DECISION=approve approves when a policy throws", async () => {
  const throws: Policy = function throws() {
    throw new Error("bug");
  };
  await using server = await startTestServer({ FALLBACK_DECISION: "approve" }, {
    policies: [throws],
  });
  const body = await (await server.postEvent(SCENARIOS.gambling)).json();
  assertEquals([body.approved, body.metadata.reason_1], [true, "fallback:error (throws)"]);
});
