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
 * the guess. The scheme is matched in any case (`bearer …`), as RFC 9110
 * (11.1) says auth schemes are.
 *
 * @example
 * ```ts
 * import { bearerTokenCheck } from "./admin_token.ts";
 * import { equal } from "node:assert/strict";
 * const isAdmin = bearerTokenCheck("s3cret-admin-token-value");
 * equal(isAdmin("Bearer s3cret-admin-token-value"), true);
 * equal(isAdmin("bearer s3cret-admin-token-value"), true);
 * equal(isAdmin("Bearer guess"), false);
 * equal(isAdmin(null), false);
 * ```
 */
export function bearerTokenCheck(token: string): (authorization: string | null) => boolean {
  const expected = createHash("sha256").update(token).digest();
  return (authorization) => {
    const [, given = ""] = /^bearer (.*)$/is.exec(authorization ?? "") ?? [];
    return timingSafeEqual(createHash("sha256").update(given).digest(), expected);
  };
}
