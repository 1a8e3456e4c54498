/**
 * Stripe webhook signature verification through stripe-node's SubtleCrypto
 * provider, against one or more endpoint secrets.
 *
 * @module
 */
import { createHmac } from "node:crypto";
import Stripe from "stripe";
import { RequestError } from "./request_error.ts";

/** Stripe's own default: an event signed more than 5 minutes ago is refused. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** Options of {@linkcode createWebhookVerifier}. */
export interface WebhookVerifierOptions {
  /** Endpoint secrets (`whsec_…`); two while one is rolled. */
  readonly secrets: readonly string[];
  /** Largest accepted age of the signature timestamp. Default {@linkcode DEFAULT_TOLERANCE_SECONDS}. */
  readonly toleranceSeconds?: number;
}

/**
 * Verifies a raw body against its `Stripe-Signature` header and returns the
 * event, or throws a {@linkcode RequestError} (status 400) with a one-line
 * reason that never repeats the header or the secret.
 */
export type WebhookVerifier = (
  payload: string,
  signatureHeader: string | null,
  receivedAtMs?: number,
) => Promise<Stripe.Event>;

// stripe-node's messages, mapped to short reasons of our own: its messages
// carry documentation links and its errors carry the header and payload.
const SIGNATURE_REASONS: readonly (readonly [string, string])[] = [
  ["No webhook payload", "empty body"],
  ["Unable to extract timestamp", "malformed Stripe-Signature header"],
  [
    "No signatures found with expected scheme",
    "Stripe-Signature header has no v1 signature",
  ],
  [
    "No signatures found matching",
    "no signature matches the payload and secret",
  ],
  [
    "Timestamp outside the tolerance",
    "signature timestamp outside the tolerance",
  ],
];
const NO_MATCH = SIGNATURE_REASONS[3][1];

/**
 * Creates a verifier: stripe-node's `constructEventAsync` with its
 * SubtleCryptoProvider, over a `SubtleCrypto` that prepares the secrets once
 * (see `inThreadHmacSubtle`), tried secret by secret.
 *
 * @example
 * ```ts
 * import { createWebhookVerifier } from "./webhook_verifier.ts";
 * const verify = createWebhookVerifier({ secrets: ["whsec_old", "whsec_new"] });
 * // const payload = await readBodyText(request, DEFAULT_MAX_BODY_BYTES, DEFAULT_BODY_READ_TIMEOUT_MS);
 * // const event = await verify(payload, request.headers.get("stripe-signature"));
 * ```
 */
export function createWebhookVerifier(options: WebhookVerifierOptions): WebhookVerifier {
  const secrets = [...options.secrets];
  if (secrets.length === 0 || secrets.some((secret) => secret.trim() === "")) {
    throw new TypeError(
      "Cannot create the webhook verifier: at least one non-empty secret is required",
    );
  }
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const provider = Stripe.createSubtleCryptoProvider(inThreadHmacSubtle(secrets));

  return async function verify(
    payload,
    signatureHeader,
    receivedAtMs = Date.now(),
  ) {
    if (!signatureHeader) {
      throw new RequestError(400, "missing Stripe-Signature header");
    }
    let reason = NO_MATCH;
    for (const secret of secrets) {
      try {
        const event: unknown = await Stripe.webhooks.constructEventAsync(
          payload,
          signatureHeader,
          secret,
          tolerance,
          provider,
          receivedAtMs,
        );
        if (!isEvent(event)) {
          throw new RequestError(400, "body is not a Stripe event");
        }
        return event;
      } catch (error) {
        if (error instanceof RequestError) throw error;
        if (error instanceof SyntaxError) {
          throw new RequestError(400, "body is not valid JSON");
        }
        // Thrown after a valid signature, for a payload that is no webhook event.
        if (
          !(error instanceof Stripe.errors.StripeSignatureVerificationError)
        ) {
          throw new RequestError(400, "body is not a Stripe event");
        }
        reason = reasonFor(error.message);
        // Only a mismatch can depend on the secret; anything else is final.
        if (reason !== NO_MATCH) break;
      }
    }
    throw new RequestError(400, reason);
  };
}

/** Signed JSON is not necessarily an event: check what the rest of the service reads. */
function isEvent(value: unknown): value is Stripe.Event {
  if (typeof value !== "object" || value === null) return false;
  const { id, type, data } = value as Record<string, unknown>;
  return typeof id === "string" && typeof type === "string" &&
    typeof data === "object" && data !== null;
}

function reasonFor(message: string): string {
  for (const [prefix, reason] of SIGNATURE_REASONS) {
    if (message.startsWith(prefix)) return reason;
  }
  return "invalid signature";
}

/**
 * The `SubtleCrypto` stripe-node's SubtleCryptoProvider is given. For the
 * configured secrets, `importKey` returns a handle made once and `sign`
 * computes the HMAC-SHA256 in-thread with `node:crypto`: stripe-node's provider
 * imports the key on every call, and a Web Crypto `sign` per event costs more
 * than an in-thread HMAC (the verify group of `deno task bench`). Hex encoding, the constant-time
 * comparison and the tolerance check stay stripe-node's. Other keys fall
 * through to Web Crypto.
 */
function inThreadHmacSubtle(secrets: readonly string[]): SubtleCrypto {
  const subtle = crypto.subtle;
  const decoder = new TextDecoder();
  const handleBySecret = new Map<string, CryptoKey>();
  const secretByHandle = new Map<CryptoKey, string>();
  for (const secret of secrets) {
    const handle = Object.freeze({
      type: "secret",
      algorithm: { name: "HMAC" },
    }) as unknown as CryptoKey;
    handleBySecret.set(secret, handle);
    secretByHandle.set(handle, secret);
  }
  return {
    importKey(
      format: "raw",
      keyData: BufferSource,
      ...rest: [HmacImportParams, boolean, KeyUsage[]]
    ) {
      const handle = ArrayBuffer.isView(keyData)
        ? handleBySecret.get(decoder.decode(keyData))
        : undefined;
      return handle ? Promise.resolve(handle) : subtle.importKey(format, keyData, ...rest);
    },
    sign(algorithm: AlgorithmIdentifier, key: CryptoKey, data: BufferSource) {
      const secret = secretByHandle.get(key);
      if (secret === undefined) return subtle.sign(algorithm, key, data);
      const mac = createHmac("sha256", secret).update(data as Uint8Array).digest();
      return Promise.resolve(mac.buffer.slice(mac.byteOffset, mac.byteOffset + mac.byteLength));
    },
    digest: subtle.digest.bind(subtle),
  } as SubtleCrypto;
}
