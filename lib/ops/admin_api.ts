/**
 * The admin API: JSON over the decision log, the pipeline and the metrics,
 * behind the admin bearer token. The dashboard renders the same queries.
 *
 * @module
 */
import {
  exportDecisions,
  filterFromSearch,
  findDecisions,
  type OverviewReader,
  rangeFrom,
} from "./decision_queries.ts";
import { exportAt } from "./decision_export.ts";
import type { DecisionStore } from "../store/decision_store.ts";
import { jsonResponse } from "../http/json_response.ts";
import type { Metrics } from "../telemetry/metrics.ts";
import { onlyReads, RequestError } from "../http/request_error.ts";
import { decisionIdOf, isAdminPath } from "../http/routes.ts";
import type { Pacer } from "./pacer.ts";
import type { Logger } from "../telemetry/log.ts";

/** What the admin API reads. */
export interface AdminApiOptions {
  readonly store: DecisionStore;
  /** The overview from the aggregates (shared with the dashboard, so its cache is too). */
  readonly overview: OverviewReader;
  readonly metrics: Metrics;
  readonly isAdmin: (authorization: string | null) => boolean;
  /** The live pipeline, as `describePipeline` gives it, and its version. */
  readonly pipeline: {
    readonly version: string;
    readonly policies: readonly { name: string; config: unknown }[];
  };
  /**
   * The turns reads of the log take, shared with the dashboard: scripts
   * polling the API get the same bounded share of the thread that answers
   * webhooks as people reloading the dashboard.
   */
  readonly pacer: Pacer;
  /** Where an export that fails once streaming is logged (other failures are thrown to the app). */
  readonly log: Logger;
}

/**
 * Routes of the admin API; `undefined` for other paths:
 * - `GET /decisions/{authorization_id}`: one decision with its trace;
 * - `GET /decisions?card=&authorization=&merchant=&reason=&outcome=&reconciliation=&disagreement=&range=&limit=&cursor=`:
 *   newest first, a page at a time (`next` is the following page's `cursor`);
 * - `GET /decisions.csv?…`, `GET /decisions.jsonl?…`: the same filters, every match exported;
 * - `GET /stats?range=1h|24h|7d`: totals and one point per minute (1h) or hour, from the aggregates;
 * - `GET /policies`: the live pipeline with its configuration and version;
 * - `GET /metrics`: Prometheus text.
 *
 * Without the admin token each throws a 401 `RequestError`. Reads of the log
 * take turns ({@linkcode Pacer}; an export a turn per chunk it reads); when
 * too many wait (or, for an export, run), a 503 with `Retry-After`.
 *
 * @example
 * ```ts
 * import { createAdminApi } from "./admin_api.ts";
 * import { Pacer } from "./pacer.ts";
 * import { equal, rejects } from "node:assert/strict";
 * const admin = createAdminApi({
 *   store: {} as never, overview: {} as never, metrics: {} as never, pacer: new Pacer(),
 *   isAdmin: (authorization) => authorization === "Bearer right", pipeline: { version: "dev", policies: [] },
 *   log: () => {},
 * });
 * const url = new URL("http://localhost/policies");
 * const policies = await admin(new Request(url, { headers: { authorization: "Bearer right" } }), url)!;
 * equal((await policies.json()).policy_version, "dev");
 * // Refused with a RequestError (401), which the app answers and logs.
 * await rejects(admin(new Request(url), url)!, { status: 401 });
 * equal(admin(new Request("http://localhost/webhook"), new URL("http://localhost/webhook")), undefined);
 * ```
 */
export function createAdminApi(
  options: AdminApiOptions,
): (request: Request, url: URL) => Promise<Response> | undefined {
  const { store, overview, metrics, isAdmin, pipeline, pacer, log } = options;
  const policies = JSON.stringify({
    policy_version: pipeline.version,
    pipeline: pipeline.policies,
  });

  async function route(request: Request, url: URL): Promise<Response> {
    onlyReads(request);
    // Thrown, not returned: the app logs each refusal (`rejected`, 401), so guessing shows.
    if (!isAdmin(request.headers.get("authorization"))) throw unauthorized();
    // Parsed before their turn: a malformed query is a 400 at once, never a wait or a 503.
    switch (url.pathname) {
      case "/decisions.csv":
      case "/decisions.jsonl": {
        const filter = filterFromSearch(url.searchParams, 50);
        if (pacer.isBusy("export")) return busy();
        return exportAt(url.pathname, exportDecisions(store, filter, new Date(), pacer), {}, log);
      }
      case "/decisions": {
        const filter = filterFromSearch(url.searchParams, 50);
        return await inTurn(async () =>
          jsonResponse(await findDecisions(store, filter, new Date()))
        );
      }
      case "/stats": {
        const range = rangeFrom(url.searchParams, "1h");
        return await inTurn(async () => {
          const { shadow_examples: _, ...stats } = await overview(range, new Date());
          return jsonResponse(stats);
        });
      }
      case "/policies":
        return jsonResponse(policies);
      case "/metrics":
        return new Response(metrics.render(), {
          headers: { "content-type": "text/plain; version=0.0.4" },
        });
    }
    const id = decisionIdOf(url.pathname)!;
    const authorizationId = decodeURIComponent(id);
    return await inTurn(async () => {
      const record = await store.get(authorizationId);
      if (!record) throw new RequestError(404, `no decision for ${id}`);
      return jsonResponse(record);
    });
  }

  /** A read of the log (a decision, a page of them, the stats), in its turn; a 503 when busy. */
  function inTurn(read: () => Promise<Response>): Promise<Response> {
    return pacer.isBusy("page") ? Promise.resolve(busy()) : pacer.run(read);
  }

  return (request, url) =>
    isAdminPath(url.pathname) ? route(request, url).then(withPrivateHeaders) : undefined;
}

/**
 * Answers hold the decision log: never kept by a cache on the way, and never
 * read by a browser as anything but their type (as the dashboard's pages).
 */
function withPrivateHeaders(response: Response): Response {
  response.headers.set("cache-control", "no-store");
  response.headers.set("x-content-type-options", "nosniff");
  return response;
}

function busy(): Response {
  return jsonResponse({ error: "busy: too many reads waiting; retry in a second" }, 503, {
    "retry-after": "1",
  });
}

function unauthorized(): RequestError {
  return new RequestError(401, "missing or wrong admin token", {
    "www-authenticate": 'Bearer realm="admin"',
  });
}
