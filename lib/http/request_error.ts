/**
 * The one error type the HTTP layer branches on.
 *
 * @module
 */

/**
 * A client error with its HTTP status and a one-line reason that is safe to
 * send back (it never contains a secret or the signature).
 *
 * @example
 * ```ts
 * import { RequestError } from "./request_error.ts";
 * import { equal } from "node:assert/strict";
 * const error = new RequestError(413, "body larger than 262144 bytes");
 * equal(error.status, 413);
 * equal(error.message, "body larger than 262144 bytes");
 * ```
 */
export class RequestError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 405 | 408 | 413 | 414 | 431,
    message: string,
    /** Headers the answer carries, whoever turns the error into one (`Allow`, `Connection`). */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = "RequestError";
  }
}

/**
 * A 405 that names the allowed methods, for the `Allow` header.
 *
 * @example
 * ```ts
 * import { MethodNotAllowedError } from "./request_error.ts";
 * import { equal } from "node:assert/strict";
 * const error = new MethodNotAllowedError("GET, HEAD");
 * equal(error.status, 405);
 * equal(error.headers.allow, "GET, HEAD");
 * ```
 */
export class MethodNotAllowedError extends RequestError {
  constructor(allow: string) {
    super(405, `method not allowed; use ${allow}`, { allow });
  }
}

/**
 * `error` as the client error it is, when it is one the platform throws on
 * client input: a `URIError` from `decodeURIComponent` on a path the client
 * chose (`/decisions/%ZZ`) is a 400. Anything else is returned as is.
 *
 * @example
 * ```ts
 * import { asRequestError, RequestError } from "./request_error.ts";
 * import assert from "node:assert/strict";
 * let caught: unknown;
 * try {
 *   decodeURIComponent("%ZZ");
 * } catch (error) {
 *   caught = asRequestError(error);
 * }
 * assert.ok(caught instanceof RequestError && caught.status === 400);
 * ```
 */
export function asRequestError(error: unknown): unknown {
  return error instanceof URIError
    ? new RequestError(400, "malformed percent-encoding in the path")
    : error;
}

/**
 * Throws a {@linkcode MethodNotAllowedError} unless `request` reads: a `GET`,
 * or a `HEAD`, which every read answers as its `GET` without the body (RFC
 * 9110, 9.1; the runtime leaves the body out).
 *
 * @example
 * ```ts
 * import { onlyReads } from "./request_error.ts";
 * import { throws } from "node:assert/strict";
 * onlyReads(new Request("http://localhost/", { method: "HEAD" }));
 * throws(() => onlyReads(new Request("http://localhost/", { method: "POST" })), { status: 405 });
 * ```
 */
export function onlyReads(request: Request): void {
  if (request.method !== "GET" && request.method !== "HEAD") {
    throw new MethodNotAllowedError("GET, HEAD");
  }
}
