/**
 * Signature verification: a bare Web Crypto HMAC (baseline), stripe-node's
 * SubtleCrypto provider as documented (imports the key on every call), and
 * this service's verifier (stripe-node's `constructEventAsync` through a
 * `Stripe.CryptoProvider` that keys HMAC once per secret, plus its strict
 * timestamp checks).
 */
import Stripe from "stripe";
import { createWebhookVerifier } from "../lib/http/webhook_verifier.ts";
import { signWithHmac, TEST_SECRET } from "../tests/_helpers.ts";
import { authorizationEvent } from "../fixtures/events.ts";

const payload = JSON.stringify(authorizationEvent());
const header = await signWithHmac(payload, TEST_SECRET);
const encoder = new TextEncoder();
const key = await crypto.subtle.importKey(
  "raw",
  encoder.encode(TEST_SECRET),
  { name: "HMAC", hash: "SHA-256" },
  false,
  [
    "sign",
  ],
);
const provider = Stripe.createSubtleCryptoProvider();
const verify = createWebhookVerifier({ secrets: [TEST_SECRET] });

Deno.bench(
  "verify: Web Crypto HMAC-SHA256 only (baseline)",
  { group: "verify", baseline: true },
  async () => {
    await crypto.subtle.sign("HMAC", key, encoder.encode(`1.${payload}`));
  },
);

Deno.bench("verify: stripe-node constructEventAsync, default SubtleCrypto provider", {
  group: "verify",
}, async () => {
  await Stripe.webhooks.constructEventAsync(payload, header, TEST_SECRET, 300, provider);
});

Deno.bench(
  "verify: this service's verifier (CryptoProvider, keyed once per secret)",
  { group: "verify" },
  async () => {
    await verify(payload, header);
  },
);
