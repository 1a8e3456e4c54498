/**
 * Stripe webhook signature verification through stripe-node's SubtleCrypto
 * provider, against one or more endpoint secrets.
 *
 * @module
 */
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
 * Creates a verifier. The secrets' HMAC keys are imported once here: stripe-node's
 * SubtleCryptoProvider imports the key on every call, so it is given a
 * `SubtleCrypto` whose `importKey` returns the already imported key for a known
 * secret. Comparison, encoding and the tolerance check stay stripe-node's.
 *
 * @example
 * ```ts
 * import { createWebhookVerifier } from "./webhook_verifier.ts";
 * const verify = await createWebhookVerifier({ secrets: ["whsec_old", "whsec_new"] });
 * // const event = await verify(await request.text(), request.headers.get("stripe-signature"));
 * ```
 */
export async function createWebhookVerifier(
  options: WebhookVerifierOptions,
): Promise<WebhookVerifier> {
  const secrets = [...options.secrets];
  if (secrets.length === 0 || secrets.some((secret) => secret.trim() === "")) {
    throw new TypeError(
      "Cannot create the webhook verifier: at least one non-empty secret is required",
    );
  }
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const provider = Stripe.createSubtleCryptoProvider(
    await keyCachingSubtle(secrets),
  );

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

/** A `SubtleCrypto` facade that serves pre-imported HMAC keys for the given secrets. */
async function keyCachingSubtle(
  secrets: readonly string[],
): Promise<SubtleCrypto> {
  const subtle = crypto.subtle;
  const encoder = new TextEncoder();
  const keys = new Map<string, CryptoKey>();
  for (const secret of secrets) {
    keys.set(
      secret,
      await subtle.importKey(
        "raw",
        encoder.encode(secret),
        { name: "HMAC", hash: "SHA-256" },
        false,
        ["sign"],
      ),
    );
  }
  const decoder = new TextDecoder();
  return {
    importKey(
      format: "raw",
      keyData: BufferSource,
      ...rest: [HmacImportParams, boolean, KeyUsage[]]
    ) {
      const cached = ArrayBuffer.isView(keyData) ? keys.get(decoder.decode(keyData)) : undefined;
      return cached ? Promise.resolve(cached) : subtle.importKey(format, keyData, ...rest);
    },
    sign: subtle.sign.bind(subtle),
    digest: subtle.digest.bind(subtle),
  } as SubtleCrypto;
}
