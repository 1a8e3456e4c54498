/**
 * The HTTP surface: routes, error mapping, request logs and the admin
 * queries; the webhook flow itself is in webhook.ts. It runs the same under
 * `Deno.serve`, `deno serve` and Deno Deploy.
 *
 * @module
 */
import { jsonResponse } from "./json_response.ts";
import type { Logger } from "../telemetry/log.ts";
import type { KvHealth } from "../store/health.ts";
import { isClosed } from "../store/kv_path.ts";
import type { Metrics } from "../telemetry/metrics.ts";
import { asRequestError, MethodNotAllowedError, onlyReads, RequestError } from "./request_error.ts";
import { checkRequestLimits } from "./request_limits.ts";
import { createWebhook, type WebhookOptions } from "./webhook.ts";

/** What {@linkcode createApp} wires together: the webhook's options, and the routes beside it. */
export interface AppOptions extends WebhookOptions {
  readonly log: Logger;
  /** Where Stripe POSTs events, e.g. `/webhook`. */
  readonly webhookPath: string;
  /** Whether the store can be written and read back (`lib/store/health.ts`); `/healthz` answers 503 when not. */
  readonly health?: () => Promise<KvHealth>;
  /** Reported by `GET /healthz`. */
  readonly versions: { readonly service: string; readonly policies: string };
  /** The admin API (see `admin_api.ts`); without it the admin routes are off (404). */
  readonly admin?: (request: Request, url: URL) => Promise<Response> | undefined;
  /** Counted here, served at `GET /metrics` (an admin route). */
  readonly metrics: Metrics;
}

/** A `fetch` handler, as `Deno.serve` and `deno serve` take. */
export interface App {
  fetch(request: Request): Promise<Response>;
}

/**
 * Builds the service's request handler.
 *
 * Routes: `POST <webhookPath>` (Stripe events, see webhook.ts: authorization
 * requests decided, `issuing_authorization.created`/`.updated` and
 * `issuing_transaction.created` reconciled, `issuing_card.created` linking a
 * replacement card to its chain, others acknowledged), `GET /healthz`, and with an admin token the admin API and the
 * dashboard (`admin`). A known path with another method → 405 with `Allow`;
 * anything else → 404. Client errors are JSON `{ "error": "<one-line reason>" }`.
 *
 * @example
 * ```ts
 * import { createApp } from "./app.ts";
 * import { createWebhookVerifier } from "./webhook_verifier.ts";
 * import { createDecide } from "../engine/decide.ts";
 * import { createDecisionStore } from "../store/decision_store.ts";
 * import { createMetrics } from "../telemetry/metrics.ts";
 * import { equal } from "node:assert/strict";
 * using kv = await Deno.openKv(":memory:");
 * const decide = createDecide([], { policyVersion: "dev" });
 * const log = () => {};
 * const app = createApp({
 *   verify: createWebhookVerifier({ secrets: ["whsec_example"] }),
 *   store: createDecisionStore({ kv, decide, log, retentionMs: 86_400_000 }),
 *   log, metrics: createMetrics(), webhookPath: "/webhook", versions: { service: "0.1.0", policies: "dev" },
 *   maxBodyBytes: 262_144, bodyReadTimeoutMs: 1_000, answerWithinMs: 1_800,
 * });
 * equal((await (await app.fetch(new Request("http://localhost/healthz"))).json()).status, "ok");
 * const unsigned = await app.fetch(new Request("http://localhost/webhook", { method: "POST", body: "{}" }));
 * equal(unsigned.status, 400);
 * equal((await app.fetch(new Request("http://localhost/nowhere"))).status, 404);
 * // Deno.serve({ port: 8000 }, app.fetch);
 * ```
 */
export function createApp(options: AppOptions): App {
  const { log, webhookPath, admin, metrics } = options;
  const handleWebhook = createWebhook(options);
  const health = JSON.stringify({
    status: "ok",
    version: options.versions.service,
    policy_version: options.versions.policies,
  });

  return {
    async fetch(request) {
      // The runtime makes the URL from the Host header, which a client can spoil (`Host: a b`).
      const url = URL.parse(request.url);
      const pathname = url?.pathname ?? "";
      try {
        if (!url) throw new RequestError(400, "Host header names no valid host");
        checkRequestLimits(request, url);
        if (pathname === webhookPath) {
          if (request.method !== "POST") throw new MethodNotAllowedError("POST");
          return await handleWebhook(request);
        }
        if (pathname === "/healthz") {
          onlyReads(request);
          const store = await options.health?.();
          return store && !store.ok
            ? jsonResponse({ status: "unavailable", reason: store.reason }, 503)
            : jsonResponse(health);
        }
        const adminResponse = admin?.(request, url);
        if (adminResponse) return await adminResponse;
        throw new RequestError(404, `no route for ${pathname}`);
      } catch (caught) {
        const error = asRequestError(caught);
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
          return jsonResponse({ error: error.message }, error.status, error.headers);
        }
        // Not the client's fault (e.g. the store is unreachable while reconciling): Stripe retries on 5xx.
        // Cut short by a stop (the store closed under it), it is the stop's doing, not an error.
        if (options.store.stopping && isClosed(error)) {
          log({ level: "warn", msg: "cut_short_by_stop", path: pathname, error });
        } else log({ level: "error", msg: "internal_error", path: pathname, error });
        return jsonResponse({ error: "temporarily unavailable, retry" }, 503);
      }
    },
  };
}
