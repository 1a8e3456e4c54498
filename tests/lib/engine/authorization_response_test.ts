import {
  authorizationResponseBody,
  decisionMetadata,
  METADATA_MAX_KEY_LENGTH,
  METADATA_MAX_KEYS,
  METADATA_MAX_VALUE_LENGTH,
} from "../../../lib/engine/authorization_response.ts";
import type { Decision, Reason } from "../../../lib/engine/decide.ts";
import { assert, assertEquals } from "../../_assert.ts";

function decision(reasons: Reason[], extra: Partial<Decision> = {}): Decision {
  return { approved: false, reasons, trace: [], policyVersion: "abc123def456", ...extra };
}

Deno.test("decisionMetadata() carries the policy version and each reason with its policy", () => {
  assertEquals(
    decisionMetadata(
      decision([{
        policy: "blockCategories",
        code: "mcc_blocked",
        detail: "betting_casino_gambling",
      }]),
    ),
    {
      policy_version: "abc123def456",
      reason_1: "mcc_blocked:betting_casino_gambling (blockCategories)",
    },
  );
});

Deno.test("decisionMetadata() stays within Stripe's limits instead of failing", () => {
  const many = Array.from({ length: 120 }, (_, i) => ({ policy: `p${i}`, code: "x".repeat(600) }));
  const metadata = decisionMetadata(decision(many));
  const keys = Object.keys(metadata);
  assertEquals(keys.length, METADATA_MAX_KEYS);
  for (const [key, value] of Object.entries(metadata)) {
    assert(key.length <= METADATA_MAX_KEY_LENGTH && !/[[\]]/.test(key), key);
    assert(value.length <= METADATA_MAX_VALUE_LENGTH, `${key} is ${value.length} long`);
  }
  assertEquals(metadata.reason_49, "and 72 more reasons");
  assert(metadata.reason_1.endsWith("…"));
});

Deno.test("authorizationResponseBody() sends amount only when controllable and below the request", () => {
  const limited = decision([], { approved: true, amount: 5_000 });
  assertEquals(
    authorizationResponseBody(limited, { amount: 8_000, is_amount_controllable: true }).amount,
    5_000,
  );
  assertEquals(
    "amount" in
      authorizationResponseBody(limited, { amount: 8_000, is_amount_controllable: false }),
    false,
  );
  assertEquals(
    "amount" in authorizationResponseBody(limited, { amount: 5_000, is_amount_controllable: true }),
    false,
  );
  assertEquals(
    "amount" in
      authorizationResponseBody({ ...limited, approved: false }, {
        amount: 8_000,
        is_amount_controllable: true,
      }),
    false,
  );
});

Deno.test("authorizationResponseBody() never answers an amount below the cashback: it declines instead", () => {
  const limited = decision([], { approved: true, amount: 100_000 });
  const cashback = (cashback_amount: number) => ({
    amount: 150_000,
    is_amount_controllable: true,
    amount_details: { atm_fee: null, cashback_amount },
  });
  assertEquals(authorizationResponseBody(limited, cashback(120_000)).approved, false);
  assertEquals(authorizationResponseBody(limited, cashback(120_000)).amount, undefined);
  assertEquals(authorizationResponseBody(limited, cashback(80_000)).amount, 100_000);
});

Deno.test("authorizationResponseBody() asks for a fraud challenge only on a decline that asked for one (public preview)", () => {
  const request = { amount: 8_000, is_amount_controllable: false };
  const challenged = decision([{ policy: "maxNetworkRisk", code: "network_risk_high" }], {
    sendFraudChallenges: ["sms"],
  });
  assertEquals(authorizationResponseBody(challenged, request), {
    approved: false,
    metadata: {
      policy_version: "abc123def456",
      reason_1: "network_risk_high (maxNetworkRisk)",
    },
    send_fraud_challenges: ["sms"],
  });
  const plain = authorizationResponseBody(decision([]), request);
  assertEquals("send_fraud_challenges" in plain, false);
});
