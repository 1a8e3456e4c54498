import { RequestError } from "../../../lib/http/request_error.ts";
import { createHmac } from "node:crypto";
import fc from "fast-check";
import {
  createWebhookVerifier,
  PreparedKeyCryptoProvider,
} from "../../../lib/http/webhook_verifier.ts";
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

Deno.test("PreparedKeyCryptoProvider passes stripe-node's own test vector and the known answer", async () => {
  // The sample values in stripe-node's CryptoProvider documentation.
  const provider = new PreparedKeyCryptoProvider(["test_secret", SECRET]);
  assertEquals(
    provider.computeHMACSignature("", "test_secret"),
    "f7f9bd47fb987337b5796fdc1fdb9ba221d0d5396814bfcaf9521f43fd8927fd",
  );
  assertEquals(
    await provider.computeHMACSignatureAsync("\ud83d\ude00", "test_secret"),
    "837da296d05c4fe31f61d5d7ead035099d9585a5bcde87de952012a78f0b0c43",
  );
  assertEquals(await provider.computeHMACSignatureAsync(`${TIMESTAMP}.${BODY}`, SECRET), V1);
});

Deno.test("PreparedKeyCryptoProvider's HMAC equals node:crypto's createHmac for arbitrary secrets and payloads", () => {
  // Code points of any plane, and lone surrogates (which UTF-8 encodes as U+FFFD on both sides);
  // secrets up to 100 of them: UTF-8 lengths on both sides of SHA-256's 64-byte block.
  const unit = fc.oneof(
    fc.string({ unit: "binary", minLength: 1, maxLength: 1 }),
    fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code)),
  );
  const text = (maxLength: number) => fc.string({ unit, maxLength, size: "max" });
  fc.assert(
    fc.property(
      text(100).filter((s) => s !== ""),
      fc.array(text(2_000), { maxLength: 3 }),
      (secret, payloads) => {
        const provider = new PreparedKeyCryptoProvider([secret]);
        for (const payload of payloads) {
          const expected = createHmac("sha256", secret).update(payload, "utf8").digest("hex");
          assertEquals(provider.computeHMACSignature(payload, secret), expected);
        }
      },
    ),
    { numRuns: 300 },
  );
  // A secret it was not made with is keyed on the spot, not refused.
  const other = new PreparedKeyCryptoProvider(["whsec_one"]);
  assertEquals(
    other.computeHMACSignature("payload", "whsec_two"),
    createHmac("sha256", "whsec_two").update("payload").digest("hex"),
  );
});

Deno.test("PreparedKeyCryptoProvider's HMAC equals Web Crypto's for keys around the 64-byte block", async () => {
  // Web Crypto is the independent path (stripe-node's SubtleCryptoProvider uses it); in Deno,
  // createHmac shares node:crypto's hash ops with the provider.
  const encoder = new TextEncoder();
  for (const length of [1, 63, 64, 65, 128]) {
    const secret = "k".repeat(length);
    const key = await crypto.subtle.importKey(
      "raw",
      encoder.encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const provider = new PreparedKeyCryptoProvider([secret]);
    for (const payload of ["", `${TIMESTAMP}.${BODY}`, "\ud800 lone \udfff"]) {
      const signature = await crypto.subtle.sign("HMAC", key, encoder.encode(payload));
      assertEquals(
        provider.computeHMACSignature(payload, secret),
        Array.from(new Uint8Array(signature), (byte) => byte.toString(16).padStart(2, "0")).join(
          "",
        ),
        `secret of ${length} bytes, payload ${JSON.stringify(payload)}`,
      );
    }
  }
});

Deno.test("createWebhookVerifier() is stricter than stripe-node about the timestamp and the bytes", async (t) => {
  const verify = createWebhookVerifier({ secrets: [SECRET], toleranceSeconds: 300 });
  const mac = (message: string) => createHmac("sha256", SECRET).update(message).digest("hex");

  await t.step(
    "t=abc with a MAC over NaN.<body> is malformed (stripe-node skips the age check)",
    async () => {
      await assertRejects(
        () => verify(BODY, `t=abc,v1=${mac(`NaN.${BODY}`)}`, AT_TIMESTAMP_MS),
        RequestError,
        "malformed Stripe-Signature header",
      );
    },
  );
  await t.step("a t that is not one plain integer is malformed", async () => {
    for (const t of ["1700000000.5", "+1700000000", "1e9", "", "1700000000,t=1700000000"]) {
      await assertRejects(
        () => verify(BODY, `t=${t},v1=${mac(`${t}.${BODY}`)}`, AT_TIMESTAMP_MS),
        RequestError,
        "malformed Stripe-Signature header",
      );
    }
  });
  await t.step("a validly signed future timestamp past the tolerance is refused", async () => {
    const future = TIMESTAMP + 301;
    await assertRejects(
      () => verify(BODY, `t=${future},v1=${mac(`${future}.${BODY}`)}`, AT_TIMESTAMP_MS),
      RequestError,
      "outside the tolerance",
    );
    const soon = TIMESTAMP + 300;
    assertEquals(
      (await verify(BODY, `t=${soon},v1=${mac(`${soon}.${BODY}`)}`, AT_TIMESTAMP_MS)).id,
      "evt_known",
    );
  });
  await t.step("a BOM-prefixed body signed without it is refused", async () => {
    await assertRejects(
      () => verify(`\uFEFF${BODY}`, HEADER, AT_TIMESTAMP_MS),
      RequestError,
      "no signature matches",
    );
  });
});
