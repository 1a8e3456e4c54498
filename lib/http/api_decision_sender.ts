/**
 * Migration mode: send the decision through Stripe's deprecated
 * `POST /v1/issuing/authorizations/{id}/approve|decline` API instead of the
 * webhook response, for issuers moving off that flow.
 *
 * @module
 */
import Stripe from "stripe";
import type { AuthorizationResponseBody } from "../engine/authorization_response.ts";

/** Stripe's API host, used unless `STRIPE_API_BASE` says otherwise. */
export const DEFAULT_STRIPE_API_BASE = "https://api.stripe.com";
/** The API call's slice of Stripe's 2 s: after it, the webhook answers directly instead. */
export const DEFAULT_API_CALL_TIMEOUT_MS = 300;

/** Options of {@linkcode createApiDecisionSender}. */
export interface ApiDecisionSenderOptions {
  /** `sk_…` or `rk_…` key allowed to approve and decline Issuing authorizations. */
  readonly secretKey: string;
  /** Base URL of the Stripe API, e.g. `http://127.0.0.1:12111` for a test server. */
  readonly apiBase?: string;
  readonly timeoutMs?: number;
}

/**
 * Sends one decision through the API. Resolves when Stripe accepted it; rejects
 * (after at most the timeout) when it did not, so the caller can answer the
 * webhook directly instead.
 */
export type ApiDecisionSender = (
  authorizationId: string,
  decision: AuthorizationResponseBody,
) => Promise<void>;

/**
 * Creates the sender: one stripe-node client (fetch-based, no retries: a retry
 * would not fit in Stripe's 2 s) built once. Each call carries an idempotency
 * key derived from the authorization id and the action, so a redelivered
 * webhook cannot apply a decision twice.
 *
 * @example
 * ```ts
 * import { createApiDecisionSender } from "./api_decision_sender.ts";
 * const send = createApiDecisionSender({ secretKey: "sk_test_…", apiBase: "http://127.0.0.1:12111" });
 * // await send("iauth_123", { approved: true, amount: 10_000, metadata: { policy_version: "3f2a9c1b7d4e" } });
 * // → POST /v1/issuing/authorizations/iauth_123/approve  amount=10000&metadata[policy_version]=3f2a9c1b7d4e
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

  return async function sendDecision(authorizationId, { approved, amount, metadata }) {
    const action = approved ? "approve" : "decline";
    const requestOptions = { idempotencyKey: `issuing-authorizer:${authorizationId}:${action}` };
    // stripe-node's own timeout covers the HTTP exchange; this bounds the whole call, whatever it awaits.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    const call = approved
      ? authorizations.approve(
        authorizationId,
        amount === undefined ? { metadata } : { amount, metadata },
        requestOptions,
      )
      : authorizations.decline(authorizationId, { metadata }, requestOptions);
    call.catch(() => {}); // a late failure after the deadline is already handled
    try {
      await Promise.race([call, deadline]);
    } finally {
      clearTimeout(timer);
    }
  };
}

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
