/**
 * The HTTP surface: routes, the webhook flow (read → verify → decide →
 * answer), error mapping and request logs. No I/O of its own beyond the
 * request, so it runs the same under `Deno.serve`, `deno serve` and Deploy.
 *
 * @module
 */
import Stripe from "stripe";
import { type ApiDecisionSender, takesApiPath } from "./api_decision_sender.ts";
import { authorizationResponseBody } from "./authorization_response.ts";
import { type Decide, type Decision, formatReason } from "./decide.ts";
import type { Logger } from "./log.ts";
import type { AuthorizationRequest } from "./policy.ts";
import { readBodyText } from "./request_body.ts";
import { RequestError } from "./request_error.ts";
import type { WebhookVerifier } from "./webhook_verifier.ts";

/** What {@linkcode createApp} wires together. */
export interface AppOptions {
  readonly verify: WebhookVerifier;
  readonly decide: Decide;
  readonly log: Logger;
  /** Where Stripe POSTs events, e.g. `/webhook`. */
  readonly webhookPath: string;
  /** Pinned `Stripe-Version` for answers; else each event's `api_version`. */
  readonly stripeApiVersion?: string;
  readonly maxBodyBytes: number;
  readonly bodyReadTimeoutMs: number;
  /** Reported by `GET /healthz`. */
  readonly versions: { readonly service: string; readonly policies: string };
  /** Migration mode: send this share of decisions through the deprecated API. */
  readonly apiMode?: { readonly send: ApiDecisionSender; readonly percent: number };
}

/**
 * How a decision reached Stripe: the webhook response, the API call, or the
 * webhook response after the API call failed.
 */
export type DecisionPath = "respond" | "api" | "respond_after_api_failure";

/** A `fetch` handler, as `Deno.serve` and `deno serve` take. */
export interface App {
  fetch(request: Request): Promise<Response>;
}

const JSON_HEADERS = { "content-type": "application/json" } as const;

/**
 * Builds the service's request handler.
 *
 * Routes: `POST <webhookPath>` (Stripe events), `GET /healthz`. A known path
 * with another method → 405 with `Allow`; anything else → 404. Client errors
 * are JSON `{ "error": "<one-line reason>" }`.
 *
 * @example
 * ```ts
 * import { createApp } from "./app.ts";
 * // const app = createApp({ verify, decide, log, webhookPath: "/webhook", ... });
 * // Deno.serve({ port: 8000 }, app.fetch);
 * ```
 */
export function createApp(options: AppOptions): App {
  const {
    verify,
    decide,
    log,
    webhookPath,
    stripeApiVersion,
    maxBodyBytes,
    bodyReadTimeoutMs,
    apiMode,
  } = options;
  const health = JSON.stringify({
    status: "ok",
    version: options.versions.service,
    policy_version: options.versions.policies,
  });

  async function handleWebhook(request: Request): Promise<Response> {
    const receivedAt = Date.now();
    const started = performance.now();
    const payload = await readBodyText(
      request,
      maxBodyBytes,
      bodyReadTimeoutMs,
    );
    const event = await verify(
      payload,
      request.headers.get("stripe-signature"),
      receivedAt,
    );
    if (event.type !== "issuing_authorization.request") {
      log({
        level: "info",
        msg: "event_received",
        event_id: event.id,
        type: event.type,
      });
      return json(200, { received: true });
    }
    const authorization = authorizationRequestOf(event);
    const pending = decide(authorization, new Date(receivedAt));
    const decision: Decision = pending instanceof Promise ? await pending : pending;
    const body = authorizationResponseBody(decision, authorization.pending_request);
    let path: DecisionPath = "respond";
    if (apiMode && takesApiPath(authorization.id, apiMode.percent)) {
      try {
        await apiMode.send(authorization.id, body);
        path = "api";
      } catch (error) {
        // Stripe honours a direct answer, so the decision still lands.
        path = "respond_after_api_failure";
        log({ level: "warn", msg: "api_call_failed", authorization_id: authorization.id, error });
      }
    }
    log({
      level: "info",
      msg: "decision",
      event_id: event.id,
      authorization_id: authorization.id,
      approved: body.approved,
      amount: body.amount,
      requested_amount: authorization.pending_request.amount,
      currency: authorization.pending_request.currency,
      reasons: decision.reasons.map(formatReason),
      policy_version: decision.policyVersion,
      latency_ms: round(performance.now() - started),
      path,
    });
    // After a successful API call, answer without a decision: one method per request, as Stripe advises.
    return new Response(path === "api" ? '{"received":true}' : JSON.stringify(body), {
      headers: {
        ...JSON_HEADERS,
        "stripe-version": stripeApiVersion ?? event.api_version ??
          Stripe.API_VERSION,
      },
    });
  }

  return {
    async fetch(request) {
      const { pathname } = new URL(request.url);
      try {
        if (pathname === webhookPath) {
          if (request.method !== "POST") throw new MethodNotAllowed("POST");
          return await handleWebhook(request);
        }
        if (pathname === "/healthz") {
          if (request.method !== "GET" && request.method !== "HEAD") {
            throw new MethodNotAllowed("GET, HEAD");
          }
          return new Response(health, { headers: JSON_HEADERS });
        }
        throw new RequestError(404, `no route for ${pathname}`);
      } catch (error) {
        if (error instanceof RequestError) {
          log({
            level: "warn",
            msg: "rejected",
            path: pathname,
            status: error.status,
            reason: error.message,
          });
          const headers: Record<string, string> = { ...JSON_HEADERS };
          if (error instanceof MethodNotAllowed) headers.allow = error.allow;
          return new Response(JSON.stringify({ error: error.message }), {
            status: error.status,
            headers,
          });
        }
        log({ level: "error", msg: "internal_error", path: pathname, error });
        return json(500, { error: "internal error" });
      }
    },
  };
}

class MethodNotAllowed extends RequestError {
  constructor(readonly allow: string) {
    super(405, `method not allowed; use ${allow}`);
  }
}

/**
 * The authorization of an `issuing_authorization.request` event, checked for
 * the fields the engine relies on. A signed event without them is malformed (400).
 */
function authorizationRequestOf(event: Stripe.Event): AuthorizationRequest {
  const object = (event.data as { object?: unknown } | undefined)?.object as
    | Partial<AuthorizationRequest>
    | undefined;
  const request = object?.pending_request;
  if (
    typeof object !== "object" || object === null ||
    object.object !== "issuing.authorization" ||
    typeof object.id !== "string" || typeof object.merchant_data !== "object" ||
    object.merchant_data === null ||
    typeof request !== "object" || request === null ||
    !Number.isSafeInteger(request.amount) ||
    request.amount < 0 || typeof request.currency !== "string" ||
    typeof request.is_amount_controllable !== "boolean"
  ) {
    throw new RequestError(
      400,
      "event has no issuing authorization with a pending_request",
    );
  }
  return object as AuthorizationRequest;
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: JSON_HEADERS });
}

function round(ms: number): number {
  return Math.round(ms * 1_000) / 1_000;
}
