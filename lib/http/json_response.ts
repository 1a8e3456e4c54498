/**
 * JSON responses, the one shape every API answer of the service has.
 *
 * @module
 */

/** `Content-Type` of every JSON answer (Stripe requires exactly this one). */
const JSON_HEADERS = { "content-type": "application/json" } as const;

/**
 * A JSON response; `body` is serialized unless it is already a string.
 *
 * @example
 * ```ts
 * import { jsonResponse } from "./json_response.ts";
 * import { deepEqual, equal } from "node:assert/strict";
 * const response = jsonResponse({ error: "no route for /x" }, 404);
 * equal(response.status, 404);
 * equal(response.headers.get("content-type"), "application/json");
 * deepEqual(await response.json(), { error: "no route for /x" });
 * ```
 */
export function jsonResponse(
  body: unknown,
  status = 200,
  headers: Record<string, string> = {},
): Response {
  return new Response(typeof body === "string" ? body : JSON.stringify(body), {
    status,
    headers: { ...JSON_HEADERS, ...headers },
  });
}
