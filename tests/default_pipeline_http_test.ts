import { authorizationResponseBody } from "../lib/engine/authorization_response.ts";
import { createDecide } from "../lib/engine/decide.ts";
import type { Policy } from "../lib/engine/policy.ts";
import { defaultPipeline } from "../policies/mod.ts";
import { assertEquals } from "./_assert.ts";
import { startTestServer } from "./_helpers.ts";
import { ALL_SCENARIOS as SCENARIOS, authorizationOf } from "../fixtures/events.ts";

Deno.test("every snapshot scenario, signed and sent over HTTP, gets the same decision as in-process", async (t) => {
  await using server = await startTestServer({}, { policies: defaultPipeline });
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
