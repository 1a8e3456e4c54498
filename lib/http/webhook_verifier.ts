/**
 * Stripe webhook signature verification: stripe-node's `constructEventAsync`
 * with a crypto provider that keys HMAC once per secret, against one or more
 * endpoint secrets, plus the checks stripe-node leaves out.
 *
 * @module
 */
import { createHash, type Hash } from "node:crypto";
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

const NO_MATCH = "no signature matches the payload and secret";
// stripe-node's messages, mapped to short reasons of our own: its messages
// carry documentation links and its errors carry the header and payload. Its
// timestamp errors cannot reach here: `t` and the tolerance are checked first.
const SIGNATURE_REASONS: readonly (readonly [string, string])[] = [
  ["No webhook payload", "empty body"],
  ["No signatures found with expected scheme", "Stripe-Signature header has no v1 signature"],
  ["No signatures found matching", NO_MATCH],
];

/**
 * Creates a verifier: stripe-node's `constructEventAsync` with a
 * {@linkcode PreparedKeyCryptoProvider} over the configured secrets, tried
 * secret by secret. Beside it, two checks stripe-node 23.1.0 does not make
 * (its `parseHeader` reads `t` with `parseInt`, so `t=abc` is `NaN` and skips
 * the age check, and it only refuses timestamps in the past): `t` must be one
 * decimal integer within the tolerance in both directions. The HMAC covers the
 * payload exactly as given: a body decoded without dropping a BOM
 * (`readBodyText`) still carries it, so a BOM-prefixed replay fails.
 *
 * @example
 * ```ts
 * import { createWebhookVerifier } from "./webhook_verifier.ts";
 * import assert from "node:assert/strict";
 * const verify = createWebhookVerifier({ secrets: ["whsec_known_answer_secret"] });
 * const body = '{"id":"evt_known","object":"event","type":"issuing_card.created","data":{"object":{}}}';
 * const header = "t=1700000000,v1=ecc5d0827849843b73dd755c908e527a9fccf5424f468bb749c7a1d111bf6b6a";
 * const event = await verify(body, header, 1_700_000_000_000);
 * assert.equal(event.id, "evt_known");
 * await assert.rejects(verify(`\uFEFF${body}`, header, 1_700_000_000_000), /no signature matches/);
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
  if (!Number.isInteger(tolerance) || tolerance < 1) {
    throw new RangeError(
      `Cannot create the webhook verifier: toleranceSeconds must be a positive integer, got ${tolerance}`,
    );
  }
  const provider = new PreparedKeyCryptoProvider(secrets);

  return async function verify(
    payload,
    signatureHeader,
    receivedAtMs = Date.now(),
  ) {
    if (!signatureHeader) {
      throw new RequestError(400, "missing Stripe-Signature header");
    }
    const timestamp = timestampOf(signatureHeader);
    if (timestamp === undefined) {
      throw new RequestError(400, "malformed Stripe-Signature header");
    }
    if (Math.abs(Math.floor(receivedAtMs / 1000) - timestamp) > tolerance) {
      throw new RequestError(400, "signature timestamp outside the tolerance");
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
 * The one `t=` of a `Stripe-Signature` header as a Unix time in seconds, or
 * `undefined` when it is missing, repeated or not a plain decimal integer.
 */
function timestampOf(header: string): number | undefined {
  const values = header.split(",").filter((item) => item.startsWith("t=")).map((item) =>
    item.slice(2)
  );
  if (values.length !== 1 || !/^\d{1,15}$/.test(values[0])) return undefined;
  return Number(values[0]);
}

/**
 * A `Stripe.CryptoProvider` (stripe-node's extension point) computing
 * HMAC-SHA256 in-thread with `node:crypto`, keyed once per secret.
 * stripe-node's SubtleCryptoProvider imports the key on every event and signs
 * through Web Crypto's asynchronous `sign`; this costs less than half of that
 * per event (the verify group of `deno task bench`). Only the constant-time
 * comparison of signatures stays stripe-node's (`t` and the tolerance are
 * checked before it is called).
 *
 * HMAC is built here from `node:crypto`'s SHA-256, as RFC 2104 defines it,
 * for one reason: the two keyed hash states (the key XOR ipad and opad) are
 * made once per secret and copied per event, where Deno's `createHmac` sets
 * up a new HMAC on every event in JavaScript (a stream, the key exported,
 * padded and XORed): `deno task bench:handler`'s "verifier alone" takes
 * 34–36 µs of the JS thread per 3.9 KB event with it, against 50–54 µs with
 * `createHmac` in an A/B against the code before it (BENCHMARKS.md, "What
 * changed"). The tests hold it to `createHmac` for
 * arbitrary secrets and payloads and to Web Crypto's HMAC for keys around the
 * 64-byte block.
 *
 * @example
 * ```ts
 * import { PreparedKeyCryptoProvider } from "./webhook_verifier.ts";
 * import assert from "node:assert/strict";
 * // stripe-node's own sample values (CryptoProvider.computeHMACSignature's documentation):
 * const provider = new PreparedKeyCryptoProvider(["test_secret"]);
 * assert.equal(
 *   provider.computeHMACSignature("", "test_secret"),
 *   "f7f9bd47fb987337b5796fdc1fdb9ba221d0d5396814bfcaf9521f43fd8927fd",
 * );
 * assert.equal(
 *   await provider.computeHMACSignatureAsync("\ud83d\ude00", "test_secret"),
 *   "837da296d05c4fe31f61d5d7ead035099d9585a5bcde87de952012a78f0b0c43",
 * );
 * ```
 */
export class PreparedKeyCryptoProvider extends Stripe.CryptoProvider {
  readonly #keyed: ReadonlyMap<string, KeyedSha256>;

  /** Keys HMAC-SHA256 once per secret (its UTF-8 bytes, as stripe-node's providers use them). */
  constructor(secrets: readonly string[]) {
    super();
    this.#keyed = new Map(secrets.map((secret) => [secret, keyedSha256(secret)]));
  }

  /** HMAC-SHA256 of `payload` (UTF-8) under `secret`, in hex. */
  override computeHMACSignature(payload: string, secret: string): string {
    const { inner, outer } = this.#keyed.get(secret) ?? keyedSha256(secret);
    return outer.copy().update(inner.copy().update(payload, "utf8").digest()).digest("hex");
  }

  /** As {@linkcode computeHMACSignature}: stripe-node's asynchronous path calls this one. */
  override computeHMACSignatureAsync(payload: string, secret: string): Promise<string> {
    return Promise.resolve(this.computeHMACSignature(payload, secret));
  }

  /** SHA-256 of `data`. */
  override computeSHA256Async(data: Uint8Array): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(createHash("sha256").update(data).digest()));
  }
}

/** SHA-256 states that have hashed a secret's key XOR ipad (`inner`) and XOR opad (`outer`). */
interface KeyedSha256 {
  readonly inner: Hash;
  readonly outer: Hash;
}

/** SHA-256's block size, in bytes: RFC 2104's `B`. */
const SHA256_BLOCK_BYTES = 64;

/** RFC 2104's keyed states for `secret`: a key longer than a block is hashed first. */
function keyedSha256(secret: string): KeyedSha256 {
  let key: Uint8Array = new TextEncoder().encode(secret);
  if (key.length > SHA256_BLOCK_BYTES) key = createHash("sha256").update(key).digest();
  const block = new Uint8Array(SHA256_BLOCK_BYTES);
  block.set(key);
  return {
    inner: createHash("sha256").update(block.map((byte) => byte ^ 0x36)),
    outer: createHash("sha256").update(block.map((byte) => byte ^ 0x5c)),
  };
}
