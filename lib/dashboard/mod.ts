/**
 * `GET /dashboard`: a small web page over the decision log for risk and
 * support teams, behind the admin token.
 *
 * @module
 */
import {
  type DecisionFilter,
  exportDecisions,
  filterFromSearch,
  findDecisions,
  type OverviewReader,
} from "../ops/decision_queries.ts";
import { exportAt } from "../ops/decision_export.ts";
import type { Pacer } from "../ops/pacer.ts";
import type { DecisionStore } from "../store/decision_store.ts";
import type { Logger } from "../telemetry/log.ts";
import type { Metrics } from "../telemetry/metrics.ts";
import { DEFAULT_BODY_READ_TIMEOUT_MS, readBodyText } from "../http/request_body.ts";
import {
  asRequestError,
  MethodNotAllowedError,
  onlyReads,
  RequestError,
} from "../http/request_error.ts";
import { DASHBOARD_CSS, DASHBOARD_JS } from "./assets.ts";
import { crossSiteReason, servedOverHttps } from "../http/request_origin.ts";
import { isDashboardPath } from "../http/routes.ts";
import type { SessionRecords } from "../store/sessions.ts";
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
  /** Where failures other than the client's, and refused sign-ins, are logged. */
  readonly log: Logger;
  /** Where refused sign-ins are counted, as the app counts its other refusals. */
  readonly metrics: Pick<Metrics, "rejected">;
  /** Where sessions live (`kvSessionRecords`), so sign-out revokes them everywhere. */
  readonly sessions: SessionRecords;
  /** `TRUST_PROXY`: believe `X-Forwarded-Proto` for `Secure` cookies and HSTS. */
  readonly trustProxy: boolean;
  /** The turns signed-in page loads take, shared with the admin API (see {@linkcode Pacer}). */
  readonly pacer: Pacer;
}

/** Only the service's own stylesheet, script and forms; no frames, no other origin. */
const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
} as const;
/** Browsers that reached the dashboard over HTTPS keep to it for a year (RFC 6797). */
const HSTS = "max-age=31536000";
/** A sign-in or sign-out form holds two tokens: anything larger is refused unread (413). */
const MAX_LOGIN_BYTES = 4_096;
const DECISION_PAGE = new URLPattern({ pathname: "/dashboard/decisions/:id" });
const EXPORT_PATHS = new Set(["/dashboard/decisions.csv", "/dashboard/decisions.jsonl"]);
/** Decisions listed on the overview. */
const PAGE_SIZE = 50;
/**
 * How long one rendering of an overview is served to everyone asking for the
 * same view: people reloading together cost one read and one rendering per
 * view every 2 s, not one each (the page refreshes itself every 30 s).
 */
const OVERVIEW_FRESH_MS = 2_000;
/** Where a cached overview holds the reader's own sign-out token (base64url, never escaped). */
const TOKEN_SLOT = `csrf-slot-${crypto.randomUUID()}`;
/** Views cached at most (each about 100 KB). */
const MAX_CACHED_PAGES = 32;

/** Overview pages by view, each shared while fresh, including while it is being made. */
class PageCache {
  readonly #pages = new Map<string, { readonly at: number; readonly page: Promise<string> }>();

  get(view: string, make: () => Promise<string>): Promise<string> {
    const cached = this.#pages.get(view);
    if (cached && performance.now() - cached.at < OVERVIEW_FRESH_MS) return cached.page;
    if (this.#pages.size >= MAX_CACHED_PAGES) this.#pages.clear();
    const page = make();
    const entry = { at: performance.now(), page };
    this.#pages.set(view, entry);
    // A failed rendering is not served to the next reader.
    page.catch(() => {
      if (this.#pages.get(view) === entry) this.#pages.delete(view);
    });
    return page;
  }
}

/**
 * Each reader's copy of a shared page (their sign-out token in it), encoded
 * once: Deno compresses every HTML answer with Brotli on the thread that
 * answers webhooks (about 3 ms for an overview), so a copy is gzipped here,
 * once per reader and rendering, and sent as is.
 */
class ReaderPageCache {
  readonly #copies = new Map<
    string,
    { readonly from: Promise<string>; readonly body: Promise<PageBody> }
  >();

  /** The copy at `key` made from `from`, made now if the page was rendered again since. */
  get(key: string, from: Promise<string>, make: () => Promise<PageBody>): Promise<PageBody> {
    const cached = this.#copies.get(key);
    if (cached?.from === from) return cached.body;
    if (this.#copies.size >= 8 * MAX_CACHED_PAGES) this.#copies.clear();
    const body = make();
    this.#copies.set(key, { from, body });
    return body;
  }
}

type PageBody = string | Uint8Array<ArrayBuffer>;

async function gzipped(text: string): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * The dashboard's routes; `undefined` for other paths. Signing in takes the
 * admin token once and starts a session kept in KV (a new id each time; its
 * cookie HttpOnly, SameSite=Strict, Secure over HTTPS, 8 hours); signing out
 * revokes it. Without one every page redirects to the sign-in page. POSTs
 * from another site (`Sec-Fetch-Site`, `Origin`) or without the form's CSRF
 * token get a 403; over HTTPS every answer carries HSTS. Errors are HTML pages with the status and
 * a one-line reason.
 *
 * @example
 * ```ts
 * import { createDashboard } from "./mod.ts";
 * import { kvSessionRecords } from "../store/sessions.ts";
 * import { Pacer } from "../ops/pacer.ts";
 * import { equal } from "node:assert/strict";
 * using kv = await Deno.openKv(":memory:");
 * const dashboard = createDashboard({
 *   store: {} as never, overview: {} as never, adminToken: "admin-token-of-at-least-24-chars",
 *   isAdmin: () => false, pipeline: { version: "dev", policies: [] }, log: () => {}, metrics: { rejected() {} },
 *   sessions: kvSessionRecords(kv), trustProxy: false, pacer: new Pacer(),
 * });
 * const url = new URL("http://localhost/dashboard");
 * const response = await dashboard(new Request(url), url)!;
 * equal(response.status, 303); // no session: to the sign-in page
 * equal(response.headers.get("location"), "/dashboard/login");
 * equal(dashboard(new Request("http://localhost/webhook"), new URL("http://localhost/webhook")), undefined);
 * ```
 */
export function createDashboard(
  options: DashboardOptions,
): (request: Request, url: URL) => Promise<Response> | undefined {
  const { store, overview, isAdmin, pipeline, shadowPipeline, log, metrics, pacer } = options;
  const sessions = createSessions(options.adminToken, options.sessions);
  const overviewPages = new PageCache();
  const readerPages = new ReaderPageCache();

  async function route(request: Request, url: URL, secure: boolean): Promise<Response> {
    const cookie = request.headers.get("cookie");
    // Every state-changing request (the sign-in and sign-out forms) proves it comes from this site.
    if (request.method === "POST") {
      const crossSite = crossSiteReason(request, url);
      if (crossSite) throw new RequestError(403, crossSite);
    }
    switch (url.pathname) {
      case "/dashboard/app.css":
        return asset(DASHBOARD_CSS, "text/css; charset=utf-8");
      case "/dashboard/app.js":
        return asset(DASHBOARD_JS, "text/javascript; charset=utf-8");
      case "/dashboard/login": {
        if (request.method === "GET" || request.method === "HEAD") {
          const { token, setCookie } = sessions.loginForm(secure);
          return htmlResponse(loginPage(false, token), 200, { "set-cookie": setCookie });
        }
        if (request.method !== "POST") throw new MethodNotAllowedError("GET, HEAD, POST");
        const form = await formFrom(request);
        const csrf = form.get("csrf");
        if (!sessions.loginFormValid(cookie, csrf)) {
          throw new RequestError(403, "sign-in form expired or not from this site; reload it");
        }
        if (isAdmin(`Bearer ${form.get("token") ?? ""}`)) {
          return redirect("/dashboard", { "set-cookie": await sessions.start(cookie, secure) });
        }
        // Logged and counted as the app does other refusals, so guessing the token shows.
        log({
          level: "warn",
          msg: "rejected",
          path: url.pathname,
          status: 401,
          reason: "wrong admin token",
        });
        metrics.rejected("http_401");
        return htmlResponse(loginPage(true, csrf!), 401);
      }
      case "/dashboard/logout": {
        if (request.method !== "POST") throw new MethodNotAllowedError("POST");
        const session = await sessions.current(cookie);
        if (session && !sessions.formTokenValid(session, (await formFrom(request)).get("csrf"))) {
          throw new RequestError(403, "sign-out form not from this site");
        }
        return redirect("/dashboard/login", { "set-cookie": await sessions.end(cookie, secure) });
      }
    }
    onlyReads(request);
    const session = await sessions.current(cookie);
    if (!session) return redirect("/dashboard/login");
    // Parsed before their turn: a malformed query is a 400 at once, never a wait or a 503.
    const filter = url.pathname === "/dashboard" || EXPORT_PATHS.has(url.pathname)
      ? filterFromSearch(url.searchParams, PAGE_SIZE)
      : undefined;
    // Only signed-in page loads wait for their turn (an export, a turn per chunk it reads):
    // nobody else can hold up an admin.
    const exporting = EXPORT_PATHS.has(url.pathname);
    if (pacer.isBusy(exporting ? "export" : "page")) {
      return htmlResponse(errorPage(503, "The dashboard is busy; retry in a second."), 503, {
        "retry-after": "1",
      });
    }
    if (exporting) {
      const records = exportDecisions(store, filter!, new Date(), pacer);
      return exportAt(url.pathname, records, SECURITY_HEADERS, log);
    }
    return await pacer.run(() => page(request, url, session.csrfToken, filter));
  }

  /** A signed-in page: an authorization, or the overview of `filter`. */
  async function page(
    request: Request,
    url: URL,
    csrfToken: string,
    filter: DecisionFilter | undefined,
  ): Promise<Response> {
    const id = DECISION_PAGE.exec(url)?.pathname.groups.id;
    if (id !== undefined) {
      const record = await store.get(decodeURIComponent(id));
      if (!record) throw new RequestError(404, `no decision for ${id}`);
      return htmlResponse(decisionPage(record));
    }
    if (!filter) throw new RequestError(404, `no page at ${url.pathname}`);
    // Keyed by what the page shows, so no query string can make every load a new rendering.
    const view = JSON.stringify(filter);
    const shared = overviewPages.get(view, async () => {
      const now = new Date();
      const [summary, decisions] = await Promise.all([
        overview(filter.range, now),
        findDecisions(store, filter, now),
      ]);
      return overviewPage({
        overview: summary,
        decisions,
        filter,
        pipeline,
        shadowPipeline,
        csrfToken: TOKEN_SLOT,
      });
    });
    const gzip = acceptsGzip(request.headers.get("accept-encoding"));
    const body = await readerPages.get(`${view}\n${csrfToken}\n${gzip}`, shared, async () => {
      const personal = (await shared).replaceAll(TOKEN_SLOT, csrfToken);
      return gzip ? await gzipped(personal) : personal;
    });
    return htmlResponse(
      body,
      200,
      gzip ? { "content-encoding": "gzip", vary: "accept-encoding" } : {},
    );
  }

  async function routeWithErrorPages(request: Request, url: URL): Promise<Response> {
    const secure = servedOverHttps(request, url, options.trustProxy);
    const response = await routeOrErrorPage(request, url, secure);
    if (secure) response.headers.set("strict-transport-security", HSTS);
    return response;
  }

  async function routeOrErrorPage(request: Request, url: URL, secure: boolean): Promise<Response> {
    try {
      return await route(request, url, secure);
    } catch (caught) {
      const error = asRequestError(caught);
      if (error instanceof RequestError) {
        return htmlResponse(errorPage(error.status, error.message), error.status, error.headers);
      }
      log({ level: "error", msg: "internal_error", path: url.pathname, error });
      return htmlResponse(errorPage(503, "The decision log is unavailable; retry shortly."), 503);
    }
  }

  return (request, url) =>
    isDashboardPath(url.pathname) ? routeWithErrorPages(request, url) : undefined;
}

/** Whether `Accept-Encoding` takes gzip (`gzip;q=0` refuses it). */
function acceptsGzip(acceptEncoding: string | null): boolean {
  return (acceptEncoding ?? "").split(",").some((coding) => {
    const [name, ...params] = coding.trim().toLowerCase().split(";");
    const q = params.map((param) => param.trim()).find((param) => param.startsWith("q="));
    return name.trim() === "gzip" && (q === undefined || Number(q.slice(2)) > 0);
  });
}

/** A submitted form, read with the same bounds as webhook bodies (4 KiB, 1 s). */
async function formFrom(request: Request): Promise<URLSearchParams> {
  return new URLSearchParams(
    await readBodyText(request, MAX_LOGIN_BYTES, DEFAULT_BODY_READ_TIMEOUT_MS),
  );
}

function htmlResponse(
  body: BodyInit,
  status = 200,
  headers: Record<string, string> = {},
): Response {
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
