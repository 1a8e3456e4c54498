/**
 * Bearer-token check for the admin routes, in constant time, with a lockout
 * against guessing.
 *
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";

/** Wrong tokens per minute (per process) after which no token is accepted until the minute ends. */
export const MAX_WRONG_TOKENS_PER_MINUTE = 30;
const MINUTE_MS = 60_000;

/**
 * Returns a check of `Authorization` header values against `token`. Both
 * sides are hashed to SHA-256 first, so the comparison (node's
 * `timingSafeEqual`) takes the same time whatever the length or content of
 * the guess. After {@linkcode MAX_WRONG_TOKENS_PER_MINUTE} wrong tokens in a
 * minute every check fails until the minute is over, the right token too
 * (so a guess cannot tell it found it), and `onLock` is called: guessing a
 * token is then a few tries a minute, at the cost of locking admins out
 * while it goes on. Requests that present no token do not count.
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
export function bearerTokenCheck(
  token: string,
  onLock: () => void = () => {},
): (authorization: string | null) => boolean {
  const expected = createHash("sha256").update(`Bearer ${token}`).digest();
  let windowStart = 0, wrong = 0;
  return (authorization) => {
    const now = Date.now();
    if (now - windowStart >= MINUTE_MS) [windowStart, wrong] = [now, 0];
    if (wrong >= MAX_WRONG_TOKENS_PER_MINUTE) return false;
    const right = timingSafeEqual(
      createHash("sha256").update(authorization ?? "").digest(),
      expected,
    );
    if (!right && authorization !== null && ++wrong === MAX_WRONG_TOKENS_PER_MINUTE) onLock();
    return right;
  };
}
