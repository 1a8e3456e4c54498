import { authorizationResponseBody } from "../lib/engine/authorization_response.ts";
import { createDecide } from "../lib/engine/decide.ts";
import type { Policy } from "../lib/engine/policy.ts";
import { defaultPipeline } from "../policies/mod.ts";
import { assertEquals } from "./_assert.ts";
import { startTestServer } from "./_helpers.ts";
import {
  ALL_SCENARIOS as SCENARIOS,
  AMOUNT_SCENARIOS,
  authorizationEvent,
  authorizationOf,
} from "../fixtures/events.ts";
import { requestEvent } from "../fixtures/lifecycle.ts";
import { amountCap } from "../policies/amount_cap.ts";
import { blockCategories } from "../policies/block_categories.ts";
import { maxNetworkRisk } from "../policies/max_network_risk.ts";

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

Deno.test("FALLBACK_DECISION=approve approves when a policy throws, but not what another policy blocks", async () => {
  const throws: Policy = function throws() {
    throw new Error("bug");
  };
  await using server = await startTestServer({ FALLBACK_DECISION: "approve" }, {
    policies: [throws, blockCategories(["betting_casino_gambling"])],
  });
  const groceries = await (await server.postEvent(SCENARIOS.ordinary_grocery)).json();
  assertEquals([groceries.approved, groceries.metadata.reason_1], [
    true,
    "fallback:error (throws)",
  ]);
  const gambling = await (await server.postEvent(SCENARIOS.gambling)).json();
  // The failure is a reason beside the block: a policy failing on every request still shows.
  assertEquals([gambling.approved, gambling.metadata.reason_1, gambling.metadata.reason_2], [
    false,
    "mcc_blocked:betting_casino_gambling (blockCategories)",
    "fallback:error (throws)",
  ]);
});

Deno.test("over HTTP, a policy's fraud challenge reaches Stripe as send_fraud_challenges, and a confirmed retry is approved", async () => {
  await using server = await startTestServer({}, {
    policies: [maxNetworkRisk({ maxScore: 75, challenge: true })],
  });
  const risky = (id: string, verified: boolean | null) =>
    authorizationEvent("online", {
      id,
      pending_request: { network_risk_score: 91 },
      verified_by_fraud_challenge: verified,
    });
  const body = await (await server.postEvent(risky("iauth_risky", null))).json();
  assertEquals([body.approved, body.send_fraud_challenges, body.metadata.reason_1], [
    false,
    ["sms"],
    "network_risk_high:91 (maxNetworkRisk)",
  ]);
  const redelivered = await (await server.postEvent(risky("iauth_risky", null))).json();
  assertEquals(redelivered, body, "a redelivery gets the identical answer, challenge included");
  const retry = await (await server.postEvent(risky("iauth_risky_retry", true))).json();
  assertEquals([retry.approved, "send_fraud_challenges" in retry], [true, false]);
});

Deno.test("over HTTP, amountCap bounds the authorization's total: a controllable increment gets at most what is left", async () => {
  await using server = await startTestServer({}, { policies: [amountCap({ usd: 100_000 })] });
  const first = requestEvent({ id: "iauth_fuel_topups", pending_request: { amount: 90_000 } });
  assertEquals((await (await server.postEvent(first)).json()).approved, true);
  const increment = requestEvent(
    { id: "iauth_fuel_topups", pending_request: { amount: 30_000, is_amount_controllable: true } },
    [{ amount: 90_000 }],
  );
  const body = await (await server.postEvent(increment)).json();
  assertEquals([body.approved, body.amount], [true, 10_000]);
});

Deno.test("over HTTP, cash back is never partially approved", async () => {
  await using server = await startTestServer({}, { policies: [amountCap({ usd: 100_000 })] });
  const body = await (await server.postEvent(AMOUNT_SCENARIOS.cashback_over_cap)).json();
  assertEquals([body.approved, body.amount], [false, undefined]);
  assertEquals(body.metadata.reason_2, "limit_below_cashback:120000 (engine)");
});
