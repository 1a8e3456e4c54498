/**
 * Dashboard sessions: a signed, expiring cookie, so the admin token is typed
 * once and never stored in the browser.
 *
 * @module
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/** How long a dashboard session lasts. */
export const SESSION_TTL_SECONDS = 8 * 3_600;
const COOKIE = "authorizer_session";

/** Issues and checks session cookies. */
export interface Sessions {
  /** A `Set-Cookie` value for a new session. */
  issue(secure: boolean): string;
  /** Whether the request's `Cookie` header holds a valid, unexpired session. */
  valid(cookieHeader: string | null): boolean;
  /** A `Set-Cookie` value that ends the session. */
  clear(secure: boolean): string;
}

/**
 * Sessions signed with a key derived from the admin token: `expiry.mac`,
 * HttpOnly, SameSite=Strict, Secure on https, Max-Age 8 hours. Stateless, so
 * every `deno serve` worker and Deploy isolate accepts them; rotating the
 * admin token ends every session.
 *
 * @example
 * ```ts
 * import { createSessions } from "./session.ts";
 * const sessions = createSessions("admin-token-of-at-least-24-chars");
 * const cookie = sessions.issue(true); // "authorizer_session=…; HttpOnly; SameSite=Strict; Secure; …"
 * sessions.valid(cookie.split(";")[0]); // true
 * ```
 */
export function createSessions(adminToken: string, now: () => number = Date.now): Sessions {
  const key = createHmac("sha256", "issuing-authorizer dashboard session").update(adminToken)
    .digest();
  const mac = (expiry: string) => createHmac("sha256", key).update(expiry).digest();
  const attributes = (secure: boolean, maxAge: number) =>
    `Path=/dashboard; HttpOnly; SameSite=Strict${secure ? "; Secure" : ""}; Max-Age=${maxAge}`;
  return {
    issue(secure) {
      const expiry = String(Math.floor(now() / 1000) + SESSION_TTL_SECONDS);
      return `${COOKIE}=${expiry}.${mac(expiry).toString("base64url")}; ${
        attributes(secure, SESSION_TTL_SECONDS)
      }`;
    },
    valid(cookieHeader) {
      const value = cookieHeader?.split(/;\s*/).find((part) => part.startsWith(`${COOKIE}=`))
        ?.slice(COOKIE.length + 1);
      const [expiry, signature] = value?.split(".") ?? [];
      if (!expiry || !signature || !/^\d+$/.test(expiry) || Number(expiry) * 1000 <= now()) {
        return false;
      }
      const given = Buffer.from(signature, "base64url");
      const expected = mac(expiry);
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
    clear: (secure) => `${COOKIE}=; ${attributes(secure, 0)}`,
  };
}
