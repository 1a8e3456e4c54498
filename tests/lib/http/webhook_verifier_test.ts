import { RequestError } from "../../../lib/http/request_error.ts";
import { createWebhookVerifier } from "../../../lib/http/webhook_verifier.ts";
import { assertEquals, assertRejects, assertThrows } from "../../_assert.ts";
import { signWithHmac, signWithStripe } from "../../_helpers.ts";

// Known answer, computed independently (Python's hmac module):
// HMAC-SHA256(key = SECRET, message = "1700000000." + BODY).
const SECRET = "whsec_known_answer_secret";
const BODY =
  '{"id":"evt_known","object":"event","type":"issuing_card.created","data":{"object":{}}}';
const TIMESTAMP = 1_700_000_000;
const V1 = "ecc5d0827849843b73dd755c908e527a9fccf5424f468bb749c7a1d111bf6b6a";
const HEADER = `t=${TIMESTAMP},v1=${V1}`;
const AT_TIMESTAMP_MS = TIMESTAMP * 1000;

Deno.test("both test signers produce the known-answer signature", async () => {
  assertEquals(await signWithHmac(BODY, SECRET, TIMESTAMP), HEADER);
  assertEquals(await signWithStripe(BODY, SECRET, TIMESTAMP), HEADER);
});

Deno.test("createWebhookVerifier() accepts the known answer and the event it signs", async () => {
  const verify = createWebhookVerifier({ secrets: [SECRET] });
  const event = await verify(BODY, HEADER, AT_TIMESTAMP_MS);
  assertEquals([event.id, event.type], ["evt_known", "issuing_card.created"]);
});

Deno.test("createWebhookVerifier() accepts it with the right secret second in the list", async () => {
  const verify = createWebhookVerifier({ secrets: ["whsec_other", SECRET] });
  assertEquals((await verify(BODY, HEADER, AT_TIMESTAMP_MS)).id, "evt_known");
});

Deno.test("createWebhookVerifier() refuses a one-digit change, a stale timestamp and a missing header", async () => {
  const verify = createWebhookVerifier({ secrets: [SECRET], toleranceSeconds: 300 });
  const flipped = HEADER.slice(0, -1) + (HEADER.endsWith("a") ? "b" : "a");
  await assertRejects(
    () => verify(BODY, flipped, AT_TIMESTAMP_MS),
    RequestError,
    "no signature matches",
  );
  await assertRejects(
    () => verify(BODY, HEADER, AT_TIMESTAMP_MS + 301_000),
    RequestError,
    "tolerance",
  );
  await assertRejects(
    () => verify(BODY, null, AT_TIMESTAMP_MS),
    RequestError,
    "missing Stripe-Signature",
  );
});

Deno.test("createWebhookVerifier() needs a non-empty secret", () => {
  assertThrows(
    () => createWebhookVerifier({ secrets: [] }),
    TypeError,
    "at least one non-empty secret",
  );
  assertThrows(
    () => createWebhookVerifier({ secrets: [" "] }),
    TypeError,
    "at least one non-empty secret",
  );
});
