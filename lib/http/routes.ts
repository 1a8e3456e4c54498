/**
 * The paths the service serves besides the webhook, named once: the admin
 * API and the dashboard route by them, and the configuration refuses a
 * webhook path that would hide one.
 *
 * @module
 */

const ADMIN_PATHS = new Set([
  "/decisions",
  "/decisions.csv",
  "/decisions.jsonl",
  "/stats",
  "/policies",
  "/metrics",
]);
const DECISION_PATH = new URLPattern({ pathname: "/decisions/:id" });

/**
 * Whether `pathname` is one of the admin API's routes.
 *
 * @example
 * ```ts
 * import { isAdminPath } from "./routes.ts";
 * import { equal } from "node:assert/strict";
 * equal(isAdminPath("/decisions/iauth_1"), true);
 * equal(isAdminPath("/decisions-hook"), false);
 * ```
 */
export function isAdminPath(pathname: string): boolean {
  return ADMIN_PATHS.has(pathname) || DECISION_PATH.test({ pathname });
}

/**
 * The authorization id in an admin API path `/decisions/{id}`, if it is one.
 *
 * @example
 * ```ts
 * import { decisionIdOf } from "./routes.ts";
 * import { equal } from "node:assert/strict";
 * equal(decisionIdOf("/decisions/iauth_1"), "iauth_1");
 * equal(decisionIdOf("/decisions"), undefined);
 * ```
 */
export function decisionIdOf(pathname: string): string | undefined {
  return DECISION_PATH.exec({ pathname })?.pathname.groups.id;
}

/**
 * Whether `pathname` is the dashboard's: `/dashboard` and below it.
 *
 * @example
 * ```ts
 * import { isDashboardPath } from "./routes.ts";
 * import { equal } from "node:assert/strict";
 * equal(isDashboardPath("/dashboard/login"), true);
 * equal(isDashboardPath("/dashboards"), false);
 * ```
 */
export function isDashboardPath(pathname: string): boolean {
  return pathname === "/dashboard" || pathname.startsWith("/dashboard/");
}

/**
 * Whether `pathname` is served by the service itself: `/healthz`, the
 * dashboard or the admin API.
 *
 * @example
 * ```ts
 * import { isOwnPath } from "./routes.ts";
 * import { equal } from "node:assert/strict";
 * equal(isOwnPath("/healthz"), true);
 * equal(isOwnPath("/webhook"), false);
 * ```
 */
export function isOwnPath(pathname: string): boolean {
  return pathname === "/healthz" || isDashboardPath(pathname) || isAdminPath(pathname);
}
