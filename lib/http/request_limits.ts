/**
 * Bounds on the request line and headers, checked before any route runs.
 *
 * @module
 */
import { RequestError } from "./request_error.ts";

/**
 * Longest path and query accepted. Stripe ids are under 255 characters and
 * the longest legitimate URL (a dashboard filter) is a few hundred; KV keys
 * built from a path or filter must stay under Deno KV's 2 KiB key limit.
 */
const MAX_TARGET_BYTES = 1_024;
/** Largest header section accepted (nginx's default buffers hold 8 KiB per line). */
const MAX_HEADER_BYTES = 16 * 1_024;

/**
 * Throws a {@linkcode RequestError}: 414 when the path and query are longer
 * than {@linkcode MAX_TARGET_BYTES}, 431 when the headers (names, values and
 * separators) pass {@linkcode MAX_HEADER_BYTES}.
 *
 * @example
 * ```ts
 * import { checkRequestLimits } from "./request_limits.ts";
 * import assert from "node:assert/strict";
 * const long = new Request(`http://x/decisions?card=${"a".repeat(2_000)}`);
 * assert.throws(() => checkRequestLimits(long, new URL(long.url)), { status: 414 });
 * const fine = new Request("http://x/healthz");
 * checkRequestLimits(fine, new URL(fine.url));
 * ```
 */
export function checkRequestLimits(request: Request, url: URL): void {
  // The URL is percent-encoded ASCII, so its length is its size in bytes.
  if (url.pathname.length + url.search.length > MAX_TARGET_BYTES) {
    throw new RequestError(414, `path and query longer than ${MAX_TARGET_BYTES} bytes`);
  }
  let size = 0;
  // `forEach`, not `for…of`: the pair iterator cost several times as much on every request.
  request.headers.forEach((value, name) => size += name.length + value.length + 4);
  if (size > MAX_HEADER_BYTES) {
    throw new RequestError(431, `headers larger than ${MAX_HEADER_BYTES} bytes`);
  }
}
