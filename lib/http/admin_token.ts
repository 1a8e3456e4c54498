/**
 * Bearer-token check for the admin routes, in constant time.
 *
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Returns a check of `Authorization` header values against `token`. Both
 * sides are hashed to SHA-256 first, so the comparison (node's
 * `timingSafeEqual`) takes the same time whatever the length or content of
 * the guess.
 *
 * @example
 * ```ts
 * import { bearerTokenCheck } from "./admin_token.ts";
 * import { equal } from "node:assert/strict";
 * const isAdmin = bearerTokenCheck("s3cret-admin-token-value");
 * equal(isAdmin("Bearer s3cret-admin-token-value"), true);
 * equal(isAdmin("Bearer guess"), false);
 * equal(isAdmin(null), false);
 * ```
 */
export function bearerTokenCheck(token: string): (authorization: string | null) => boolean {
  const expected = createHash("sha256").update(`Bearer ${token}`).digest();
  return (authorization) =>
    timingSafeEqual(createHash("sha256").update(authorization ?? "").digest(), expected);
}
