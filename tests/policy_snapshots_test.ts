/**
 * Policy snapshot tests: every scenario through the default pipeline, compared
 * with `tests/__snapshots__/`. After an intended change to `policies/mod.ts`
 * run `deno task test:update` and review the `.snap` diff like code: these
 * snapshots are the only expectations written for the default pipeline
 * (`default_pipeline_http_test.ts` derives its own from it; the others use
 * `tests/fixtures/pipelines/reference.ts` or build their own).
 */
import { authorizationResponseBody } from "../lib/engine/authorization_response.ts";
import { createDecide, formatReason } from "../lib/engine/decide.ts";
import type { Policy } from "../lib/engine/policy.ts";
import { defaultPipeline } from "../policies/mod.ts";
import { assertEquals } from "./_assert.ts";
import { referencePipeline } from "./fixtures/pipelines/reference.ts";
import { ALL_SCENARIOS as SCENARIOS, authorizationOf } from "../fixtures/events.ts";

const NOW = new Date("2026-11-25T12:00:00Z");
// Pinned: the real version hashes policies/, which would churn every snapshot on any edit.
const POLICY_VERSION = "snapshot";

/** What users see of a decision: the webhook answer and the reasons with their policies. */
async function decisionView(
  policies: readonly Policy[],
  scenario: string,
  { budgetMs, usedToday = 0 }: { budgetMs?: number; usedToday?: number } = {},
) {
  const decide = createDecide(policies, { policyVersion: POLICY_VERSION, budgetMs });
  const authorization = authorizationOf(SCENARIOS[scenario]);
  const decision = await decide(authorization, {
    now: NOW,
    usage: () => ({ amount: usedToday, count: 1 }),
  });
  return {
    response: authorizationResponseBody(decision, authorization.pending_request),
    reasons: decision.reasons.map((reason) => `${reason.policy}: ${formatReason(reason)}`),
  };
}

Deno.test("defaultPipeline decisions match their snapshots", async (t) => {
  for (const scenario of Object.keys(SCENARIOS)) {
    await t.step(scenario, async (t) => {
      await t.assertSnapshot(await decisionView(defaultPipeline, scenario));
    });
  }
});

Deno.test("defaultPipeline with 4,990.00 USD already approved on the card today", async (t) => {
  for (
    const scenario of ["ordinary_grocery", "over_cap_controllable", "fuel_controllable_over_hold"]
  ) {
    await t.step(scenario, async (t) => {
      await t.assertSnapshot(await decisionView(defaultPipeline, scenario, { usedToday: 499_000 }));
    });
  }
});

Deno.test("a policy that throws or hangs yields the fallback decision", async (t) => {
  await t.step("throws", async (t) => {
    const throws: Policy = function throws() {
      throw new Error("bug in a policy");
    };
    await t.assertSnapshot(await decisionView([...referencePipeline, throws], "ordinary_grocery"));
  });
  await t.step("hangs", async (t) => {
    const hangs: Policy = function hangs() {
      return new Promise(() => {});
    };
    await t.assertSnapshot(
      await decisionView([...referencePipeline, hangs], "ordinary_grocery", { budgetMs: 20 }),
    );
  });
});

Deno.test("the reference pipeline's rules, stated plainly", async () => {
  const approved = async (scenario: string) =>
    (await decisionView(referencePipeline, scenario)).response;
  assertEquals((await approved("gambling")).approved, false);
  assertEquals((await approved("over_cap")).approved, false);
  assertEquals((await approved("over_cap_controllable")).amount, 100_000);
  assertEquals((await approved("fuel_controllable_over_hold")).amount, 10_000);
  assertEquals((await approved("fuel_controllable_under_hold")).approved, true);
  assertEquals((await approved("fuel_not_controllable")).approved, true);
  assertEquals((await approved("ordinary_grocery")).approved, true);
  assertEquals((await approved("unknown_currency")).approved, false);
});
