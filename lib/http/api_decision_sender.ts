/**
 * Migration mode: send the decision through Stripe's deprecated
 * `POST /v1/issuing/authorizations/{id}/approve|decline` API instead of the
 * webhook response, for issuers moving off that flow.
 *
 * @module
 */
import Stripe from "stripe";
import {
  type AuthorizationResponseBody,
  METADATA_MAX_KEYS,
} from "../engine/authorization_response.ts";
import { type Deadline, TIMED_OUT } from "../engine/deadline.ts";

/** Stripe's API host, used unless `STRIPE_API_BASE` says otherwise. */
export const DEFAULT_STRIPE_API_BASE = "https://api.stripe.com";
/** The API call's slice of Stripe's 2 s: after it, the webhook answers directly instead. */
export const DEFAULT_API_CALL_TIMEOUT_MS = 300;
/** Below this much time left, no call is started: it could not finish. */
const MIN_CALL_MS = 20;

/** Options of {@linkcode createApiDecisionSender}. */
export interface ApiDecisionSenderOptions {
  /** `sk_…` or `rk_…` key allowed to approve and decline Issuing authorizations. */
  readonly secretKey: string;
  /** Base URL of the Stripe API, e.g. `http://127.0.0.1:12111` for a test server. */
  readonly apiBase?: string;
  readonly timeoutMs?: number;
}

/**
 * Sends one request's decision through the API. Resolves when Stripe accepted
 * it; rejects (by the timeout or the request's deadline, whichever is sooner)
 * when it did not, so the caller can answer the webhook directly instead.
 * `requestKey` names the request within its authorization (its position in
 * `request_history`): each increment gets its own idempotency key, a
 * redelivery of one request the same.
 */
export type ApiDecisionSender = (
  authorizationId: string,
  decision: AuthorizationResponseBody,
  request: { readonly requestKey: string; readonly deadline: Deadline },
) => Promise<void>;

/**
 * Creates the sender: one stripe-node client (fetch-based, no retries: a retry
 * would not fit in Stripe's 2 s) built once. Each call carries an idempotency
 * key derived from the authorization id, the request's position and the
 * action, so a redelivered webhook cannot apply a decision twice and an
 * increment is never mistaken for its authorization's first request.
 *
 * @example
 * ```ts
 * import { createApiDecisionSender } from "./api_decision_sender.ts";
 * import { Deadline } from "../engine/deadline.ts";
 * import { equal } from "node:assert/strict";
 * const seen: string[] = [];
 * // A stand-in for api.stripe.com that records what it is sent.
 * await using api = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
 *   const { pathname } = new URL(request.url);
 *   seen.push(`${request.method} ${pathname} ${request.headers.get("idempotency-key")} ${await request.text()}`);
 *   return Response.json({ id: "iauth_123", object: "issuing.authorization" });
 * });
 * const send = createApiDecisionSender({ secretKey: "sk_test_123", apiBase: `http://127.0.0.1:${api.addr.port}` });
 * await send("iauth_123", { approved: true, amount: 10_000 }, { requestKey: "0", deadline: Deadline.after(1_000) });
 * equal(seen[0], "POST /v1/issuing/authorizations/iauth_123/approve issuing-authorizer:iauth_123:0:approve amount=10000");
 * // An increment unsets the reasons an earlier request may have left in the authorization's metadata.
 * const metadata = { policy_version: "dev", reason_1: "mcc_blocked:x (blockCategories)" };
 * await send("iauth_123", { approved: false, metadata }, { requestKey: "1", deadline: Deadline.after(1_000) });
 * equal(new URLSearchParams(seen[1].split(" ")[3]).get("metadata[reason_2]"), "");
 * ```
 */
export function createApiDecisionSender(options: ApiDecisionSenderOptions): ApiDecisionSender {
  const base = new URL(options.apiBase ?? DEFAULT_STRIPE_API_BASE);
  const timeoutMs = options.timeoutMs ?? DEFAULT_API_CALL_TIMEOUT_MS;
  const stripe = new Stripe(options.secretKey, {
    httpClient: Stripe.createFetchHttpClient(),
    protocol: base.protocol === "http:" ? "http" : "https",
    host: base.hostname,
    port: base.port || (base.protocol === "https:" ? 443 : 80),
    maxNetworkRetries: 0,
    timeout: timeoutMs,
    telemetry: false,
  });
  const authorizations = stripe.issuing.authorizations;

  return async function sendDecision(
    authorizationId,
    { approved, amount, metadata },
    { requestKey, deadline },
  ) {
    const action = approved ? "approve" : "decline";
    // Stripe merges the metadata of approve and decline calls into the authorization's
    // ("Individual keys can be unset by posting an empty value to them",
    // `AuthorizationApproveParams.metadata`): on an increment, every `reason_N` this decision does
    // not set is unset, so no reason of an earlier request is left as if it were this one's.
    if (requestKey !== "0") metadata = { ...EARLIER_REASONS_UNSET, ...metadata };
    const callDeadline = deadline.within(timeoutMs);
    const left = callDeadline.remainingMs();
    if (left < MIN_CALL_MS) {
      throw new ApiCallError("timeout", `only ${Math.round(left)} ms left for the API call`);
    }
    const requestOptions = {
      idempotencyKey: `issuing-authorizer:${authorizationId}:${requestKey}:${action}`,
      timeout: Math.ceil(left),
    };
    const call = approved
      ? authorizations.approve(
        authorizationId,
        amount === undefined ? { metadata } : { amount, metadata },
        requestOptions,
      )
      : authorizations.decline(authorizationId, { metadata }, requestOptions);
    // stripe-node's own timeout covers the HTTP exchange; the deadline bounds the whole call.
    let answer: unknown;
    try {
      answer = await callDeadline.race(call);
    } catch (error) {
      throw failedCall(error);
    }
    if (answer === TIMED_OUT) {
      throw new ApiCallError("timeout", `no answer within ${Math.round(left)} ms`);
    }
  };
}

/**
 * A failed call, by kind for the `authorizer_api_call_failures_total` metric:
 * `timeout`, `connection` (Stripe not reached), or `http_<status>` (Stripe
 * refused it, e.g. `http_401` for a key it does not know).
 *
 * @example
 * ```ts
 * import { ApiCallError } from "./api_decision_sender.ts";
 * import { equal } from "node:assert/strict";
 * equal(new ApiCallError("http_401", "Invalid API Key provided").kind, "http_401");
 * ```
 */
export class ApiCallError extends Error {
  override name = "ApiCallError";
  constructor(readonly kind: string, message: string) {
    super(message);
  }
}

/**
 * The error of a failed call as an {@linkcode ApiCallError}: its kind, and
 * its message with what stripe-node says caused it (a connection error's
 * own message is only "An error occurred with our connection to Stripe"),
 * without the key: an API (or a proxy in front of it) may quote the
 * `Authorization` header it was sent. Any Stripe secret or restricted key, of
 * the shape `STRIPE_SECRET_KEY` must have.
 */
function failedCall(error: unknown): ApiCallError {
  const stripeError = error instanceof Stripe.errors.StripeError ? error : undefined;
  const kind = stripeError?.statusCode !== undefined
    ? `http_${stripeError.statusCode}`
    : error instanceof Stripe.errors.StripeConnectionError
    ? "connection"
    : "error";
  const messages = [error instanceof Error ? error.message : String(error)];
  // stripe-node's `detail` is fetch's error, whose own message ("fetch failed") hides its cause.
  for (
    let cause: unknown = stripeError?.detail;
    cause instanceof Error && messages.length < 4;
    cause = cause.cause
  ) {
    messages.push(cause.message);
  }
  return new ApiCallError(kind, messages.join(": ").replace(SECRET_KEYS, "[key]"));
}

/** What `STRIPE_SECRET_KEY` must look like: a secret (`sk_…`) or restricted (`rk_…`) key. */
export const SECRET_KEY_SHAPE = /^(sk|rk)_(test|live)_\w+$/;
/** Any such key in a text. */
const SECRET_KEYS = new RegExp(`\\b${SECRET_KEY_SHAPE.source.slice(1, -1)}`, "g");

/** Every `reason_N` a decision can set, each unset (empty). */
const EARLIER_REASONS_UNSET: Readonly<Record<string, string>> = Object.fromEntries(
  Array.from({ length: METADATA_MAX_KEYS - 1 }, (_, i) => [`reason_${i + 1}`, ""]),
);

/**
 * Whether an authorization takes the API path when `percent` of them should:
 * a stable bucket (0–99) from the id, so a redelivery takes the same path in
 * every process. FNV-1a, hand-written because it must be synchronous and fixed
 * forever (not a security hash: the id is not secret and needs no protection).
 *
 * @example
 * ```ts
 * import { takesApiPath } from "./api_decision_sender.ts";
 * takesApiPath("iauth_1RzY0aB7WZ01zgkWq7pXa9Zt", 100); // true
 * takesApiPath("iauth_1RzY0aB7WZ01zgkWq7pXa9Zt", 0);   // false
 * ```
 */
export function takesApiPath(authorizationId: string, percent: number): boolean {
  let hash = 0x811c9dc5;
  for (let i = 0; i < authorizationId.length; i++) {
    hash = Math.imul(hash ^ authorizationId.charCodeAt(i), 0x01000193);
  }
  return (hash >>> 0) % 100 < percent;
}
