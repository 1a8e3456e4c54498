/**
 * The admin API: JSON over the decision log, the pipeline and the metrics,
 * behind the admin bearer token. The dashboard renders the same queries.
 *
 * @module
 */
import { decisionOverview, filterFromSearch, findDecisions } from "./decision_queries.ts";
import type { DecisionStore } from "../store/decision_store.ts";
import { jsonResponse } from "../http/json_response.ts";
import type { Metrics } from "../telemetry/metrics.ts";
import { MethodNotAllowedError, RequestError } from "../http/request_error.ts";

/** What the admin API reads. */
export interface AdminApiOptions {
  readonly store: DecisionStore;
  readonly metrics: Metrics;
  readonly isAdmin: (authorization: string | null) => boolean;
  /** The live pipeline, as `describePipeline` gives it, and its version. */
  readonly pipeline: {
    readonly version: string;
    readonly policies: readonly { name: string; config: unknown }[];
  };
}

const DECISION_ROUTE = new URLPattern({ pathname: "/decisions/:id" });

/**
 * Routes of the admin API; `undefined` for other paths:
 * - `GET /decisions/{authorization_id}`: one decision with its trace;
 * - `GET /decisions?card=&authorization=&outcome=&reason=&limit=&page=`: newest first;
 * - `GET /stats?hours=`: counts for the last hour and day, per-minute series;
 * - `GET /policies`: the live pipeline with its configuration and version;
 * - `GET /metrics`: Prometheus text.
 *
 * @example
 * ```ts
 * import { createAdminApi } from "./admin_api.ts";
 * // const admin = createAdminApi({ store, metrics, isAdmin, pipeline });
 * // const response = admin(request, new URL(request.url)); // undefined: not an admin path
 * ```
 */
export function createAdminApi(
  options: AdminApiOptions,
): (request: Request, url: URL) => Promise<Response> | undefined {
  const { store, metrics, isAdmin, pipeline } = options;
  const policies = JSON.stringify({
    policy_version: pipeline.version,
    pipeline: pipeline.policies,
  });

  async function route(request: Request, url: URL): Promise<Response> {
    if (request.method !== "GET") throw new MethodNotAllowedError("GET");
    if (!isAdmin(request.headers.get("authorization"))) return unauthorized();
    const id = DECISION_ROUTE.exec(url)?.pathname.groups.id;
    if (id !== undefined) {
      const record = await store.get(decodeURIComponent(id));
      if (!record) throw new RequestError(404, `no decision for ${id}`);
      return jsonResponse(record);
    }
    switch (url.pathname) {
      case "/decisions":
        return jsonResponse(await findDecisions(store, filterFromSearch(url.searchParams, 50)));
      case "/stats": {
        const hours = Number(url.searchParams.get("hours") ?? 3);
        if (!Number.isInteger(hours) || hours < 1 || hours > 24) {
          throw new RequestError(400, "hours must be 1 to 24");
        }
        return jsonResponse(await decisionOverview(store, new Date(), hours));
      }
      case "/policies":
        return jsonResponse(policies);
      default:
        return new Response(metrics.render(), {
          headers: { "content-type": "text/plain; version=0.0.4" },
        });
    }
  }

  return (request, url) =>
    url.pathname === "/decisions" || url.pathname === "/stats" || url.pathname === "/policies" ||
      url.pathname === "/metrics" || DECISION_ROUTE.test(url)
      ? route(request, url)
      : undefined;
}

function unauthorized(): Response {
  return jsonResponse({ error: "missing or wrong admin token" }, 401, {
    "www-authenticate": 'Bearer realm="admin"',
  });
}
