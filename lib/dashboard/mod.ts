/**
 * `GET /dashboard`: a small web page over the decision log for risk and
 * support teams, behind the admin token.
 *
 * @module
 */
import {
  exportDecisions,
  filterFromSearch,
  findDecisions,
  type OverviewReader,
} from "../ops/decision_queries.ts";
import { exportResponse } from "../ops/decision_export.ts";
import type { DecisionStore } from "../store/decision_store.ts";
import type { Logger } from "../telemetry/log.ts";
import { DEFAULT_BODY_READ_TIMEOUT_MS, readBodyText } from "../http/request_body.ts";
import { MethodNotAllowedError, RequestError } from "../http/request_error.ts";
import { DASHBOARD_CSS, DASHBOARD_JS } from "./assets.ts";
import { createSessions } from "./session.ts";
import { decisionPage, errorPage, loginPage, overviewPage, type PipelineView } from "./views.ts";

/** What the dashboard reads. */
export interface DashboardOptions {
  readonly store: DecisionStore;
  /** The overview from the aggregates (see `createOverviewReader`). */
  readonly overview: OverviewReader;
  readonly adminToken: string;
  readonly isAdmin: (authorization: string | null) => boolean;
  readonly pipeline: PipelineView;
  /** The shadow pipeline, if any, for the policy panel. */
  readonly shadowPipeline?: PipelineView;
  /** Where failures other than the client's are logged. */
  readonly log: Logger;
}

/** Only the service's own stylesheet, script and forms; no frames, no other origin. */
const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
} as const;
/** A sign-in form holds one token: anything larger is refused unread (413). */
const MAX_LOGIN_BYTES = 4_096;
const DECISION_PAGE = new URLPattern({ pathname: "/dashboard/decisions/:id" });
/** Decisions listed on the overview. */
const PAGE_SIZE = 50;

/**
 * The dashboard's routes; `undefined` for other paths. Signing in takes the
 * admin token once and sets a signed session cookie (HttpOnly,
 * SameSite=Strict, Secure on https, 8 hours); without it every page
 * redirects to the sign-in page. Errors are HTML pages with the status and
 * a one-line reason.
 *
 * @example
 * ```ts
 * import { createDashboard } from "./mod.ts";
 * // const dashboard = createDashboard({ store, overview, adminToken, isAdmin, pipeline, log });
 * // dashboard(request, url) // undefined: not a dashboard path
 * ```
 */
export function createDashboard(
  options: DashboardOptions,
): (request: Request, url: URL) => Promise<Response> | undefined {
  const { store, overview, isAdmin, pipeline, shadowPipeline, log } = options;
  const sessions = createSessions(options.adminToken);

  async function route(request: Request, url: URL): Promise<Response> {
    const secure = url.protocol === "https:";
    switch (url.pathname) {
      case "/dashboard/app.css":
        return asset(DASHBOARD_CSS, "text/css; charset=utf-8");
      case "/dashboard/app.js":
        return asset(DASHBOARD_JS, "text/javascript; charset=utf-8");
      case "/dashboard/login":
        if (request.method === "GET") return htmlResponse(loginPage(false));
        if (request.method !== "POST") throw new MethodNotAllowedError("GET, POST");
        if (isAdmin(`Bearer ${await tokenFrom(request)}`)) {
          return redirect("/dashboard", { "set-cookie": sessions.issue(secure) });
        }
        return htmlResponse(loginPage(true), 401);
      case "/dashboard/logout":
        if (request.method !== "POST") throw new MethodNotAllowedError("POST");
        return redirect("/dashboard/login", { "set-cookie": sessions.clear(secure) });
    }
    if (request.method !== "GET") throw new MethodNotAllowedError("GET");
    if (!sessions.valid(request.headers.get("cookie"))) return redirect("/dashboard/login");
    const id = DECISION_PAGE.exec(url)?.pathname.groups.id;
    if (id !== undefined) {
      const record = await store.get(decodeURIComponent(id));
      if (!record) throw new RequestError(404, `no decision for ${id}`);
      return htmlResponse(decisionPage(record));
    }
    if (
      url.pathname === "/dashboard/decisions.csv" || url.pathname === "/dashboard/decisions.jsonl"
    ) {
      const filter = filterFromSearch(url.searchParams, PAGE_SIZE);
      const format = url.pathname.endsWith(".csv") ? "csv" : "jsonl";
      return exportResponse(exportDecisions(store, filter, new Date()), format, SECURITY_HEADERS);
    }
    if (url.pathname !== "/dashboard") throw new RequestError(404, `no page at ${url.pathname}`);
    const filter = filterFromSearch(url.searchParams, PAGE_SIZE);
    const now = new Date();
    const [summary, decisions] = await Promise.all([
      overview(filter.range, now),
      findDecisions(store, filter, now),
    ]);
    return htmlResponse(
      overviewPage({ overview: summary, decisions, filter, pipeline, shadowPipeline }),
    );
  }

  async function routeWithErrorPages(request: Request, url: URL): Promise<Response> {
    try {
      return await route(request, url);
    } catch (error) {
      if (error instanceof RequestError) {
        const allow = error instanceof MethodNotAllowedError ? { allow: error.allow } : undefined;
        return htmlResponse(errorPage(error.status, error.message), error.status, allow);
      }
      log({ level: "error", msg: "internal_error", path: url.pathname, error });
      return htmlResponse(errorPage(503, "The decision log is unavailable; retry shortly."), 503);
    }
  }

  return (request, url) =>
    url.pathname === "/dashboard" || url.pathname.startsWith("/dashboard/")
      ? routeWithErrorPages(request, url)
      : undefined;
}

/** The submitted token, read with the same bounds as webhook bodies (4 KiB, 1 s). */
async function tokenFrom(request: Request): Promise<string> {
  const form = await readBodyText(request, MAX_LOGIN_BYTES, DEFAULT_BODY_READ_TIMEOUT_MS);
  return new URLSearchParams(form).get("token") ?? "";
}

function htmlResponse(body: string, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(body, {
    status,
    headers: { ...SECURITY_HEADERS, ...headers, "content-type": "text/html; charset=utf-8" },
  });
}

function asset(body: string, type: string): Response {
  return new Response(body, {
    headers: { ...SECURITY_HEADERS, "content-type": type, "cache-control": "max-age=300" },
  });
}

function redirect(location: string, headers: Record<string, string> = {}): Response {
  return new Response(null, {
    status: 303,
    headers: { ...SECURITY_HEADERS, location, ...headers },
  });
}
