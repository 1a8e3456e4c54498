import { createDecide, type Decision } from "../../lib/engine/decide.ts";
import { describePipeline } from "../../lib/engine/policy.ts";
import { metadataMatches } from "../../policies/metadata_matches.ts";
import { spendLimit } from "../../policies/spend_limit.ts";
import { countLimit } from "../../policies/count_limit.ts";
import { when } from "../../policies/when.ts";
import { assertEquals, assertThrows } from "../_assert.ts";
import { authorizationEvent, authorizationOf } from "../../fixtures/events.ts";
import { NOW, verdictOf } from "./_decide_one.ts";

const spent = () => ({ amount: 95_000, count: 3 });
const gold = { card: { metadata: { tier: "gold" } }, pending_request: { amount: 10_000 } };

Deno.test("when() scopes a policy to the requests a condition selects", async (t) => {
  const goldLimit = when(
    metadataMatches({ card: { tier: "gold" } }),
    spendLimit({ window: "daily", maxAmount: { usd: 100_000 } }),
  );
  await t.step("runs the policy where the condition holds", () => {
    assertEquals(verdictOf(goldLimit, "online", gold, spent), {
      outcome: "decline",
      code: "spend_limit_exceeded",
      detail: "daily:usd",
    });
  });
  await t.step("abstains elsewhere, and reads and reserves no counter there", () => {
    assertEquals(verdictOf(goldLimit, "online", { pending_request: { amount: 10_000 } }, spent), {
      outcome: "abstain",
    });
    const other = authorizationOf(authorizationEvent("online"));
    assertEquals(goldLimit.counters(other, NOW), []);
    assertEquals(
      goldLimit.counters(authorizationOf(authorizationEvent("online", gold)), NOW).length,
      1,
    );
  });
  await t.step("keeps the policy's name in reasons and shows the condition in the pipeline", () => {
    const decision = createDecide([goldLimit], { policyVersion: "t" })(
      authorizationOf(authorizationEvent("online", gold)),
      { usage: spent },
    ) as Decision;
    assertEquals(decision.reasons[0].policy, "spendLimit");
    assertEquals(describePipeline([goldLimit])[0].config, {
      when: "metadataMatches",
      condition: { card: { tier: "gold" } },
      policy: { window: "daily", maxAmount: { usd: 100_000 } },
    });
  });
  await t.step("cardholder metadata and per-merchant velocity compose", () => {
    const perMerchant = when(
      metadataMatches({ cardholder: { employee_id: "E-1042" } }),
      countLimit({ window: { rollingMinutes: 60 }, maxCount: 3, perMerchant: true }),
    );
    assertEquals(verdictOf(perMerchant, "online", {}, spent).outcome, "decline");
    const [counter] = perMerchant.counters(authorizationOf(authorizationEvent("online")), NOW);
    assertEquals(String(counter.current[2]).endsWith("@1234567890"), true);
  });
  await t.step("refuses what is not a condition and a policy", () => {
    assertThrows(() => when("gold" as never, goldLimit), TypeError, "when(condition, policy)");
    assertThrows(() => metadataMatches({}), RangeError, "at least one key");
    assertThrows(() => metadataMatches({ card: { tier: 1 as never } }), TypeError, "string");
  });
});
