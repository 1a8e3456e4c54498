/**
 * Where a browser request came from and how it reached us: what CSRF checks
 * and `Secure` cookies need.
 *
 * @module
 */

/**
 * Whether the client reached the service over HTTPS: the request URL says so,
 * or, only when `trustProxy` (`TRUST_PROXY=1`), a TLS-terminating proxy's
 * `X-Forwarded-Proto: https` does. Untrusted, that header is anyone's to send.
 *
 * @example
 * ```ts
 * import { servedOverHttps } from "./request_origin.ts";
 * import assert from "node:assert/strict";
 * const request = new Request("http://a.example/dashboard", { headers: { "x-forwarded-proto": "https" } });
 * assert.equal(servedOverHttps(request, new URL(request.url), false), false);
 * assert.equal(servedOverHttps(request, new URL(request.url), true), true);
 * ```
 */
export function servedOverHttps(request: Request, url: URL, trustProxy: boolean): boolean {
  if (url.protocol === "https:") return true;
  // A chain of proxies appends: the first value is what the client used.
  const forwarded = request.headers.get("x-forwarded-proto")?.split(",")[0].trim().toLowerCase();
  return trustProxy && forwarded === "https";
}

/**
 * Why a state-changing browser request is not from this site, or `undefined`
 * when nothing says it is cross-site. As Go's `http.CrossOriginProtection`
 * decides, but stricter (Go also lets `Sec-Fetch-Site: none` through): `Sec-Fetch-Site`, which every current browser sends, must be
 * `same-origin`; only without it, an `Origin` must name this host (`Host`;
 * the scheme is left out, so a TLS proxy not yet trusted with `TRUST_PROXY`
 * does not lock sign-in out). `Origin` comes second because browsers send
 * `Origin: null` for same-origin forms under `Referrer-Policy: no-referrer`,
 * which the dashboard uses. A client sending neither is not a browser; the
 * form token still applies to it.
 *
 * @example
 * ```ts
 * import { crossSiteReason } from "./request_origin.ts";
 * import assert from "node:assert/strict";
 * const post = (headers: Record<string, string>) =>
 *   new Request("http://a.example/dashboard/logout", { method: "POST", headers });
 * const url = new URL("http://a.example/dashboard/logout");
 * assert.equal(crossSiteReason(post({ "sec-fetch-site": "same-origin", origin: "null" }), url), undefined);
 * assert.equal(crossSiteReason(post({ origin: "http://a.example" }), url), undefined);
 * assert.match(crossSiteReason(post({ origin: "https://evil.example" }), url)!, /origin/);
 * assert.match(crossSiteReason(post({ "sec-fetch-site": "cross-site" }), url)!, /cross-site/);
 * ```
 */
export function crossSiteReason(request: Request, url: URL): string | undefined {
  const site = request.headers.get("sec-fetch-site");
  if (site !== null) {
    return site === "same-origin" ? undefined : `request is ${site}, not same-origin`;
  }
  const origin = request.headers.get("origin");
  if (origin !== null && (!URL.canParse(origin) || new URL(origin).host !== url.host)) {
    return "request origin is not this site";
  }
  return undefined;
}
