/**
 * Dashboard sessions and their CSRF defence: an opaque session id in a
 * cookie, the session itself in KV (so sign-out revokes it everywhere), and a
 * token in every state-changing form.
 *
 * @module
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { SessionRecords } from "../store/sessions.ts";

/** How long a dashboard session lasts. */
const SESSION_TTL_SECONDS = 8 * 3_600;
/** How long a sign-in form stays valid. */
const LOGIN_FORM_TTL_SECONDS = 3_600;
const SESSION_COOKIE = "authorizer_session";
const LOGIN_COOKIE = "authorizer_login";

/** A signed-in session, as a request carries it. */
export interface Session {
  /** The token its forms carry (`csrf` field); see {@linkcode Sessions.formTokenValid}. */
  readonly csrfToken: string;
}

/** Issues, checks and revokes sessions. */
export interface Sessions {
  /**
   * A new session (a new id on every sign-in: the one the request carried, if
   * any, is revoked first, so no id chosen before sign-in survives it).
   * Returns its `Set-Cookie` value.
   */
  start(cookieHeader: string | null, secure: boolean): Promise<string>;
  /** The request's live session, or `undefined`. */
  current(cookieHeader: string | null): Promise<Session | undefined>;
  /** Revokes the request's session server-side; returns the `Set-Cookie` that clears it. */
  end(cookieHeader: string | null, secure: boolean): Promise<string>;
  /** A sign-in form token and the `Set-Cookie` that pairs it with this browser. */
  loginForm(secure: boolean): { readonly token: string; readonly setCookie: string };
  /** Whether a submitted sign-in form carries the token its browser was given. */
  loginFormValid(cookieHeader: string | null, submitted: string | null): boolean;
  /** Whether a form submitted within `session` carries its token. */
  formTokenValid(session: Session, submitted: string | null): boolean;
}

/**
 * Sessions keyed by HMACs under a key derived from the admin token: the KV
 * holds `HMAC(id)`, never a usable cookie, and rotating the token ends every
 * session. Cookies are HttpOnly, SameSite=Strict, `Path=/dashboard`, and
 * `Secure` when served over HTTPS. A session's CSRF token is `HMAC("csrf",
 * id)`: bound to the session, unknown to another site. The sign-in form, which
 * has no session yet, pairs a random token in the form with the same token in
 * a short-lived cookie (double submit).
 *
 * @example
 * ```ts
 * import { createSessions } from "./session.ts";
 * import { kvSessionRecords } from "../store/sessions.ts";
 * import assert from "node:assert/strict";
 * const kv = await Deno.openKv(":memory:");
 * const sessions = createSessions("admin-token-of-at-least-24-chars", kvSessionRecords(kv));
 * const cookie = (await sessions.start(null, true)).split(";")[0];
 * const session = await sessions.current(cookie);
 * assert.ok(session && sessions.formTokenValid(session, session.csrfToken));
 * await sessions.end(cookie, true);
 * assert.equal(await sessions.current(cookie), undefined);
 * kv.close();
 * ```
 */
export function createSessions(
  adminToken: string,
  records: SessionRecords,
  now: () => number = Date.now,
): Sessions {
  const key = createHmac("sha256", "issuing-authorizer dashboard session").update(adminToken)
    .digest();
  const mac = (purpose: string, value: string) =>
    createHmac("sha256", key).update(`${purpose}:${value}`).digest("base64url");
  const cookie = (name: string, value: string, path: string, maxAge: number, secure: boolean) =>
    `${name}=${value}; Path=${path}; HttpOnly; SameSite=Strict${
      secure ? "; Secure" : ""
    }; Max-Age=${maxAge}`;
  const sessionId = (cookieHeader: string | null) => {
    const id = cookieValue(cookieHeader, SESSION_COOKIE);
    return id && /^[\w-]{43}$/.test(id) ? id : undefined;
  };

  return {
    async start(cookieHeader, secure) {
      const previous = sessionId(cookieHeader);
      if (previous) await records.revoke(mac("session", previous));
      const id = randomBytes(32).toString("base64url");
      await records.create(mac("session", id), now() + SESSION_TTL_SECONDS * 1_000);
      return cookie(SESSION_COOKIE, id, "/dashboard", SESSION_TTL_SECONDS, secure);
    },
    async current(cookieHeader) {
      const id = sessionId(cookieHeader);
      if (!id || !await records.live(mac("session", id), now())) return undefined;
      return { csrfToken: mac("csrf", id) };
    },
    async end(cookieHeader, secure) {
      const id = sessionId(cookieHeader);
      if (id) await records.revoke(mac("session", id));
      return cookie(SESSION_COOKIE, "", "/dashboard", 0, secure);
    },
    loginForm(secure) {
      const token = randomBytes(32).toString("base64url");
      return {
        token,
        setCookie: cookie(LOGIN_COOKIE, token, "/dashboard/login", LOGIN_FORM_TTL_SECONDS, secure),
      };
    },
    loginFormValid(cookieHeader, submitted) {
      return sameSecret(cookieValue(cookieHeader, LOGIN_COOKIE), submitted);
    },
    formTokenValid(session, submitted) {
      return sameSecret(session.csrfToken, submitted);
    },
  };
}

function cookieValue(cookieHeader: string | null, name: string): string | undefined {
  return cookieHeader?.split(/;\s*/).find((part) => part.startsWith(`${name}=`))
    ?.slice(name.length + 1);
}

/** Constant-time equality of two non-empty strings. */
function sameSecret(expected: string | undefined, given: string | null): boolean {
  if (!expected || !given) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
