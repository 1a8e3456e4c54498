/** Operations through the real service: `/metrics`, and shadow pipelines. */
import type { Policy } from "../lib/engine/policy.ts";
import { blockCategories } from "../policies/block_categories.ts";
import { referencePipeline } from "./fixtures/pipelines/reference.ts";
import { assert, assertEquals } from "./_assert.ts";
import { startTestServer } from "./_helpers.ts";
import { SCENARIOS } from "../fixtures/events.ts";

const ADMIN_TOKEN = "operations-admin-token-0123456789";
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

/** The metric samples as `name{labels}` → value. */
async function scrape(url: string): Promise<Map<string, number>> {
  const response = await fetch(`${url}/metrics`, { headers: admin });
  assertEquals(response.headers.get("content-type"), "text/plain; version=0.0.4");
  const samples = new Map<string, number>();
  for (const line of (await response.text()).split("\n")) {
    if (line && !line.startsWith("#")) {
      const at = line.lastIndexOf(" ");
      samples.set(line.slice(0, at), Number(line.slice(at + 1)));
    }
  }
  return samples;
}

Deno.test("/metrics counters move by the right amounts after known requests", async () => {
  const throwsOnJpy: Policy = function throwsOnJpy(authorization) {
    if (authorization.pending_request.currency === "jpy") throw new Error("bug");
    return { outcome: "abstain" };
  };
  await using server = await startTestServer({ ADMIN_TOKEN }, {
    policies: [throwsOnJpy, ...referencePipeline],
  });
  const before = await scrape(server.url);
  assertEquals(before.get('authorizer_decisions_total{outcome="approved"}'), undefined);

  for (const scenario of ["ordinary_grocery", "fuel_controllable_under_hold"]) {
    await (await server.postEvent(SCENARIOS[scenario])).body?.cancel();
  }
  await (await server.postEvent(SCENARIOS.fuel_controllable_over_hold)).body?.cancel();
  for (const scenario of ["gambling", "gambling_over_cap", "unknown_currency"]) {
    await (await server.postEvent(SCENARIOS[scenario])).body?.cancel();
  }
  await (await server.postEvent(SCENARIOS.gambling)).body?.cancel(); // a redelivery: not a new decision
  await (await server.postEvent(SCENARIOS.gambling, { secret: "whsec_forged" })).body?.cancel();
  await (await fetch(`${server.url}/nowhere/${crypto.randomUUID()}`)).body?.cancel();

  const after = await scrape(server.url);
  assertEquals(after.get('authorizer_decisions_total{outcome="approved"}'), 2);
  assertEquals(after.get('authorizer_decisions_total{outcome="limited"}'), 1);
  assertEquals(after.get('authorizer_decisions_total{outcome="declined"}'), 3);
  assertEquals(
    after.get('authorizer_decision_reasons_total{reason="mcc_blocked:betting_casino_gambling"}'),
    2,
  );
  assertEquals(after.get('authorizer_decision_reasons_total{reason="amount_over_cap:usd"}'), 1);
  assertEquals(
    after.get('authorizer_decision_reasons_total{reason="partial_hold:automated_fuel_dispensers"}'),
    1,
  );
  assertEquals(after.get('authorizer_fallbacks_total{kind="error"}'), 1);
  assertEquals(
    after.get(
      'authorizer_rejected_requests_total{reason="no signature matches the payload and secret"}',
    ),
    1,
  );
  assertEquals(after.get('authorizer_rejected_requests_total{reason="http_404"}'), 1);
  assertEquals(after.get("authorizer_decision_latency_seconds_count"), 6);
  assertEquals(after.get('authorizer_decision_latency_seconds_bucket{le="+Inf"}'), 6);
});

Deno.test("/metrics is an admin route", async () => {
  await using server = await startTestServer({ ADMIN_TOKEN });
  const response = await fetch(`${server.url}/metrics`);
  assertEquals(response.status, 401);
  await response.body?.cancel();
});

Deno.test("a shadow pipeline is logged beside the live decision and never changes the answer", async (t) => {
  const stricter = [...referencePipeline, blockCategories(["grocery_stores_supermarkets"])];
  const hangs: Policy = function hangs() {
    return new Promise(() => {});
  };

  await t.step(
    "a disagreement is logged and counted by reason; the answer is the live one",
    async () => {
      await using server = await startTestServer({ ADMIN_TOKEN }, { shadowPolicies: stricter });
      const response = await (await server.postEvent(SCENARIOS.ordinary_grocery)).json();
      assertEquals(response.approved, true, "the live pipeline approves groceries");
      const record =
        await (await fetch(`${server.url}/decisions/iauth_grocery`, { headers: admin })).json();
      assertEquals(record.approved, true);
      assertEquals(record.shadow.approved, false);
      assertEquals(record.shadow.disagrees, true);
      assertEquals(record.shadow.reasons, [{
        policy: "blockCategories",
        code: "mcc_blocked",
        detail: "grocery_stores_supermarkets",
      }]);
      assertEquals(record.shadow.trace.length, 5);

      await (await server.postEvent(SCENARIOS.gambling)).body?.cancel();
      const gambling =
        await (await fetch(`${server.url}/decisions/iauth_gambling`, { headers: admin })).json();
      assertEquals(gambling.shadow.disagrees, false, "both decline gambling");

      const samples = await scrape(server.url);
      assertEquals(
        samples.get(
          'authorizer_shadow_disagreements_total{reason="mcc_blocked:grocery_stores_supermarkets"}',
        ),
        1,
      );
    },
  );

  await t.step("a shadow policy that hangs never delays the answer", async () => {
    await using server = await startTestServer({ ADMIN_TOKEN, DECISION_BUDGET_MS: "100" }, {
      shadowPolicies: [hangs],
    });
    const started = performance.now();
    const response = await (await server.postEvent(SCENARIOS.ordinary_grocery)).json();
    const elapsed = performance.now() - started;
    assertEquals(response.approved, true);
    assert(elapsed < 1_000, `answered in ${elapsed} ms`);
    // The shadow falls back on its own budget, and is recorded once it does.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const record = await (await fetch(`${server.url}/decisions/iauth_grocery`, { headers: admin }))
      .json();
    assertEquals(record.shadow.reasons, [{ policy: "hangs", code: "fallback", detail: "timeout" }]);
    assert(
      server.logs.some((line) => line.msg === "shadow_policy_fallback" && line.policy === "hangs"),
    );
  });
});
