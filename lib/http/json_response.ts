/**
 * JSON responses, the one shape every API answer of the service has.
 *
 * @module
 */

/** `Content-Type` of every JSON answer (Stripe requires exactly this one). */
export const JSON_HEADERS = { "content-type": "application/json" } as const;

/**
 * A JSON response; `body` is serialized unless it is already a string.
 *
 * @example
 * ```ts
 * import { jsonResponse } from "./json_response.ts";
 * const response = jsonResponse({ error: "no route for /x" }, 404);
 * response.headers.get("content-type"); // "application/json"
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
