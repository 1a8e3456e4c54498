import { threeDSecure } from "../../policies/three_d_secure.ts";
import { assertEquals, assertThrows } from "../_assert.ts";
import { verdictOf } from "./_decide_one.ts";

Deno.test("threeDSecure()", async (t) => {
  const policy = threeDSecure({
    declineResults: ["failed", "required"],
    declineAcquirerExemptions: ["transaction_risk_analysis"],
  });
  await t.step("declines a failed 3-D Secure authentication", () => {
    assertEquals(
      verdictOf(policy, "online", { verification_data: { three_d_secure: { result: "failed" } } }),
      { outcome: "decline", code: "three_d_secure_failed", detail: "failed" },
    );
  });
  await t.step("abstains on an authenticated purchase and without 3-D Secure data", () => {
    assertEquals(
      verdictOf(policy, "online", {
        verification_data: { three_d_secure: { result: "authenticated" } },
      }),
      { outcome: "abstain" },
    );
    assertEquals(verdictOf(policy, "fuel"), { outcome: "abstain" });
  });
  await t.step("declines an exemption the acquirer claimed, not one the issuer claimed", () => {
    const exemption = (claimed_by: string) => ({
      verification_data: {
        authentication_exemption: { claimed_by, type: "transaction_risk_analysis" },
      },
    });
    assertEquals(verdictOf(policy, "online", exemption("acquirer")), {
      outcome: "decline",
      code: "authentication_exemption_not_allowed",
      detail: "transaction_risk_analysis",
    });
    assertEquals(verdictOf(policy, "online", exemption("issuer")), { outcome: "abstain" });
  });
  await t.step("refuses unknown results and an empty configuration at start-up", () => {
    assertThrows(() => threeDSecure({ declineResults: ["fail" as never] }), RangeError, '"fail"');
    assertThrows(() => threeDSecure({}), RangeError, "declineResults");
  });
});
