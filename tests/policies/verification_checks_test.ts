import { verificationChecks } from "../../policies/verification_checks.ts";
import { assertEquals, assertThrows } from "../_assert.ts";
import { verdictOf } from "./_decide_one.ts";

Deno.test("verificationChecks()", async (t) => {
  const policy = verificationChecks({
    cvc_check: ["mismatch"],
    expiry_check: ["mismatch"],
    address_postal_code_check: ["mismatch", "not_provided"],
  });
  await t.step("declines an online purchase with a wrong CVC or expiry date", () => {
    assertEquals(verdictOf(policy, "online", { verification_data: { cvc_check: "mismatch" } }), {
      outcome: "decline",
      code: "verification_failed",
      detail: "cvc_check:mismatch",
    });
    assertEquals(
      verdictOf(policy, "online", { verification_data: { expiry_check: "mismatch" } }).outcome,
      "decline",
    );
  });
  await t.step("declines not_provided only where configured", () => {
    assertEquals(
      verdictOf(policy, "online", {
        verification_data: { address_postal_code_check: "not_provided" },
      }),
      {
        outcome: "decline",
        code: "verification_failed",
        detail: "address_postal_code_check:not_provided",
      },
    );
    // The recorded purchase has address_line1_check: not_provided, which is not configured.
    assertEquals(verdictOf(policy, "online"), { outcome: "abstain" });
  });
  await t.step("refuses unknown checks and results at start-up", () => {
    assertThrows(
      () => verificationChecks({ cvv_check: ["mismatch"] } as never),
      RangeError,
      "cvv_check",
    );
    assertThrows(
      () => verificationChecks({ cvc_check: ["match"] } as never),
      RangeError,
      "cvc_check",
    );
    assertThrows(() => verificationChecks({}), RangeError, "never decline");
  });
});
