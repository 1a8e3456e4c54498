/**
 * What `/dashboard` answers when the service runs without `ADMIN_TOKEN`: a
 * page saying how to turn the dashboard on. It imports only the routes'
 * names, so a webhook-only instance still loads no dashboard code.
 *
 * @module
 */
import { isDashboardPath } from "../http/routes.ts";

const PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Dashboard off · Issuing authorizer</title></head>
<body>
<main>
<h1>The dashboard is off</h1>
<p>Set <code>ADMIN_TOKEN</code> (at least 24 characters, e.g. <code>openssl rand -hex 24</code>) and restart the service to enable it.</p>
</main>
</body>
</html>
`;

/**
 * Routes `/dashboard` and everything under it to a 404 page that explains
 * how to enable the dashboard; `undefined` for other paths.
 *
 * @example
 * ```ts
 * import { dashboardDisabled } from "./disabled.ts";
 * import { equal, match } from "node:assert/strict";
 * const url = new URL("http://localhost/dashboard");
 * const response = await dashboardDisabled(new Request(url), url)!;
 * equal(response.status, 404);
 * match(await response.text(), /Set <code>ADMIN_TOKEN<\/code>/);
 * equal(dashboardDisabled(new Request("http://localhost/x"), new URL("http://localhost/x")), undefined);
 * ```
 */
export function dashboardDisabled(_request: Request, url: URL): Promise<Response> | undefined {
  if (!isDashboardPath(url.pathname)) return undefined;
  return Promise.resolve(
    new Response(PAGE, {
      status: 404,
      headers: {
        "content-type": "text/html; charset=utf-8",
        "content-security-policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
        "x-content-type-options": "nosniff",
        "cache-control": "no-store",
      },
    }),
  );
}
