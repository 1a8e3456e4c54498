/**
 * The HTTP surface: routes, the webhook flow (read → verify → decide and
 * record → answer), error mapping, request logs and the admin queries. It
 * runs the same under `Deno.serve`, `deno serve` and Deno Deploy.
 *
 * @module
 */
import Stripe from "stripe";
import { type ApiDecisionSender, takesApiPath } from "./api_decision_sender.ts";
import type { DecisionPath, DecisionStore } from "../store/decision_store.ts";
import { formatReason, outcomeOf } from "../engine/decide.ts";
import { jsonResponse } from "./json_response.ts";
import type { Logger } from "../telemetry/log.ts";
import type { Metrics } from "../telemetry/metrics.ts";
import type { AuthorizationRequest } from "../engine/policy.ts";
import { readBodyText } from "./request_body.ts";
import { MethodNotAllowedError, RequestError } from "./request_error.ts";
import type { WebhookVerifier } from "./webhook_verifier.ts";

/** What {@linkcode createApp} wires together. */
export interface AppOptions {
  readonly verify: WebhookVerifier;
  /** Decides, records and replays authorization requests. */
  readonly store: DecisionStore;
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
  /** The admin API (see `admin_api.ts`); without it the admin routes are off (404). */
  readonly admin?: (request: Request, url: URL) => Promise<Response> | undefined;
  /** Counted here, served at `GET /metrics` (an admin route). */
  readonly metrics: Metrics;
  /** Adds attributes to the request's trace span, when tracing is on. */
  readonly annotateSpan?: (
    attributes: Record<string, string | number | boolean | string[]>,
  ) => void;
}

/** A `fetch` handler, as `Deno.serve` and `deno serve` take. */
export interface App {
  fetch(request: Request): Promise<Response>;
}

/**
 * Builds the service's request handler.
 *
 * Routes: `POST <webhookPath>` (Stripe events: authorization requests are
 * decided, `issuing_authorization.created`/`.updated` reconciled, others
 * acknowledged), `GET /healthz`, and with an admin token the admin API and the
 * dashboard (`admin`). A known path with another method → 405 with `Allow`;
 * anything else → 404. Client errors are JSON `{ "error": "<one-line reason>" }`.
 *
 * @example
 * ```ts
 * import { createApp } from "./app.ts";
 * // const app = createApp({ verify, store, log, webhookPath: "/webhook", ... });
 * // Deno.serve({ port: 8000 }, app.fetch);
 * ```
 */
export function createApp(options: AppOptions): App {
  const {
    verify,
    store,
    log,
    webhookPath,
    stripeApiVersion,
    apiMode,
    admin,
    metrics,
    annotateSpan,
  } = options;
  const health = JSON.stringify({
    status: "ok",
    version: options.versions.service,
    policy_version: options.versions.policies,
  });

  async function handleWebhook(request: Request): Promise<Response> {
    const receivedAt = Date.now();
    const started = performance.now();
    const payload = await readBodyText(request, options.maxBodyBytes, options.bodyReadTimeoutMs);
    const event = await verify(payload, request.headers.get("stripe-signature"), receivedAt);
    if (
      event.type === "issuing_authorization.created" ||
      event.type === "issuing_authorization.updated"
    ) {
      await store.reconcile(
        authorizationOf(event),
        event.type === "issuing_authorization.created" ? "created" : "updated",
      );
      return jsonResponse({ received: true });
    }
    if (event.type !== "issuing_authorization.request") {
      log({ level: "info", msg: "event_received", event_id: event.id, type: event.type });
      return jsonResponse({ received: true });
    }
    const authorization = authorizationRequestOf(event);
    const chosenPath: DecisionPath = apiMode && takesApiPath(authorization.id, apiMode.percent)
      ? "api"
      : "respond";
    const { record, replayed, unrecorded } = await store.decide(authorization, {
      eventId: event.id,
      receivedAt,
      path: chosenPath,
    });
    let path = record.path;
    if (apiMode && path === "api" && !replayed && !unrecorded) {
      try {
        await apiMode.send(authorization.id, record.response);
      } catch (error) {
        // Stripe honours a direct answer, so the decision still lands.
        path = "respond_after_api_failure";
        log({ level: "warn", msg: "api_call_failed", authorization_id: authorization.id, error });
        await store.markAnsweredDirectly(authorization.id);
      }
    }
    const latencyMs = performance.now() - started;
    const reasons = record.reasons.map(formatReason);
    // A redelivery is answered again, but it is not a new decision.
    if (!replayed) {
      metrics.decision(outcomeOf(record), reasons, latencyMs / 1_000);
      if (record.fallback) metrics.fallback(record.fallback);
    }
    annotateSpan?.({
      "issuing.authorization_id": authorization.id,
      "issuing.event_id": event.id,
      "issuing.card_id": record.card_id,
      "issuing.approved": record.approved,
      "issuing.requested_amount": record.requested_amount,
      "issuing.currency": record.currency,
      "issuing.reasons": reasons,
      "issuing.policy_version": record.policy_version,
      "issuing.decision_path": path,
      "issuing.replayed": replayed,
      ...(record.amount === null ? {} : { "issuing.amount": record.amount }),
    });
    log({
      level: "info",
      msg: "decision",
      event_id: event.id,
      authorization_id: authorization.id,
      card_id: record.card_id,
      approved: record.approved,
      amount: record.amount ?? undefined,
      requested_amount: record.requested_amount,
      currency: record.currency,
      reasons,
      policy_version: record.policy_version,
      latency_ms: round(latencyMs),
      path,
      replayed,
    });
    // After a successful API call, answer without a decision: one method per request, as Stripe advises.
    return jsonResponse(path === "api" ? { received: true } : record.response, 200, {
      "stripe-version": stripeApiVersion ?? event.api_version ?? Stripe.API_VERSION,
    });
  }

  return {
    async fetch(request) {
      const url = new URL(request.url);
      const { pathname } = url;
      try {
        if (pathname === webhookPath) {
          if (request.method !== "POST") throw new MethodNotAllowedError("POST");
          return await handleWebhook(request);
        }
        if (pathname === "/healthz") {
          if (request.method !== "GET" && request.method !== "HEAD") {
            throw new MethodNotAllowedError("GET, HEAD");
          }
          return jsonResponse(health);
        }
        const adminResponse = admin?.(request, url);
        if (adminResponse) return await adminResponse;
        throw new RequestError(404, `no route for ${pathname}`);
      } catch (error) {
        if (error instanceof RequestError) {
          // Only the webhook's fixed reasons become labels: other paths are chosen by the client.
          metrics.rejected(pathname === webhookPath ? error.message : `http_${error.status}`);
          log({
            level: "warn",
            msg: "rejected",
            path: pathname,
            status: error.status,
            reason: error.message,
          });
          const allow: Record<string, string> = error instanceof MethodNotAllowedError
            ? { allow: error.allow }
            : {};
          return jsonResponse({ error: error.message }, error.status, allow);
        }
        // Not the client's fault (e.g. the store is unreachable while reconciling): Stripe retries on 5xx.
        log({ level: "error", msg: "internal_error", path: pathname, error });
        return jsonResponse({ error: "temporarily unavailable, retry" }, 503);
      }
    },
  };
}

function authorizationOf(event: Stripe.Event): Stripe.Issuing.Authorization {
  const object = (event.data as { object?: unknown }).object as
    | Partial<Stripe.Issuing.Authorization>
    | undefined;
  if (
    typeof object !== "object" || object === null || object.object !== "issuing.authorization" ||
    typeof object.id !== "string" || typeof object.card?.id !== "string" ||
    typeof object.merchant_data !== "object" || object.merchant_data === null
  ) {
    throw new RequestError(400, "event has no issuing authorization");
  }
  return object as Stripe.Issuing.Authorization;
}

/**
 * The authorization of an `issuing_authorization.request` event, checked for
 * the fields the engine relies on. A signed event without them is malformed (400).
 */
function authorizationRequestOf(event: Stripe.Event): AuthorizationRequest {
  const authorization = authorizationOf(event);
  const request = authorization.pending_request;
  if (
    typeof request !== "object" || request === null || !Number.isSafeInteger(request.amount) ||
    request.amount < 0 || typeof request.currency !== "string" ||
    typeof request.is_amount_controllable !== "boolean"
  ) {
    throw new RequestError(400, "event has no issuing authorization with a pending_request");
  }
  return authorization as AuthorizationRequest;
}

function round(ms: number): number {
  return Math.round(ms * 1_000) / 1_000;
}
