/**
 * Issue 16's defences against the real process, as users run it: `deno task
 * start` and `deno serve --parallel` (two workers on one KV file; every
 * request on a new connection, so consecutive requests reach either worker).
 * Signature edge cases, no 5xx from malformed or oversized requests, an
 * unusable `api_version`, sessions revoked server-side, CSRF, `Secure`
 * cookies and HSTS behind a trusted proxy, and the store's health.
 */
import Stripe from "stripe";
import { createHmac } from "node:crypto";
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { nowSeconds, signWithHmac, TEST_SECRET } from "./_helpers.ts";
import {
  type Child,
  freePort,
  serveParallelArgs,
  spawnService,
  startTaskArgs,
} from "./_process.ts";
import { authorizationEvent } from "../fixtures/events.ts";

const ADMIN_TOKEN = "security-admin-token-0123456789";
const FORM = { "content-type": "application/x-www-form-urlencoded" };

const MODES: Record<string, (port: number, env: Record<string, string>) => Promise<Child>> = {
  "deno task start": (port, env) => spawnService(startTaskArgs(), env, port),
  "deno serve --parallel": (port, env) =>
    spawnService(serveParallelArgs(port), { ...env, DENO_JOBS: "2" }, port),
};

/** No connection reuse: each request is a new connection, so `--parallel` spreads them over workers. */
const client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
const request = (url: string, init: RequestInit = {}) =>
  fetch(url, { redirect: "manual", client, ...init } as RequestInit);

async function status(url: string, init?: RequestInit): Promise<number> {
  const response = await request(url, init);
  await response.body?.cancel();
  return response.status;
}

/** Signs in like the browser form does; returns the session cookie (`name=value`). */
async function signIn(base: string, previous?: string): Promise<string> {
  const form = await request(`${base}/dashboard/login`);
  const loginCookie = form.headers.get("set-cookie")!.split(";")[0];
  const csrf = /name="csrf" value="([^"]+)"/.exec(await form.text())![1];
  const response = await request(`${base}/dashboard/login`, {
    method: "POST",
    headers: {
      ...FORM,
      origin: base,
      "sec-fetch-site": "same-origin",
      cookie: [loginCookie, previous].filter(Boolean).join("; "),
    },
    body: new URLSearchParams({ token: ADMIN_TOKEN, csrf }),
  });
  await response.body?.cancel();
  assertEquals(response.status, 303);
  return response.headers.get("set-cookie")!.split(";")[0];
}

/** The sign-out form's token on the overview, or `undefined` when the cookie is not signed in. */
async function signOutToken(base: string, cookie: string): Promise<string | undefined> {
  const response = await request(`${base}/dashboard`, { headers: { cookie } });
  const html = await response.text();
  if (response.status !== 200) return undefined;
  return /action="\/dashboard\/logout"><input type="hidden" name="csrf" value="([^"]+)"/.exec(
    html,
  )![1];
}

for (const [mode, start] of Object.entries(MODES)) {
  Deno.test(`${mode}: issue 16's defences hold`, async (t) => {
    const kvPath = `data/security_test_${crypto.randomUUID()}.sqlite3`;
    await using server = await start(freePort(), {
      STRIPE_WEBHOOK_SECRET: TEST_SECRET,
      ADMIN_TOKEN,
      TRUST_PROXY: "1",
      KV_PATH: kvPath,
    });
    const base = server.url;
    try {
      await t.step("t=abc, a future t and a BOM-prefixed body → 400", async () => {
        const payload = JSON.stringify(authorizationEvent("online", { id: "iauth_sec_sig" }));
        const mac = (message: string) =>
          createHmac("sha256", TEST_SECRET).update(message).digest("hex");
        const future = nowSeconds() + 600;
        const cases: [string, string | Uint8Array<ArrayBuffer>][] = [
          [`t=abc,v1=${mac(`NaN.${payload}`)}`, payload],
          [`t=${future},v1=${mac(`${future}.${payload}`)}`, payload],
          [
            await signWithHmac(payload, TEST_SECRET),
            new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode(payload)]),
          ],
        ];
        for (const [signature, body] of cases) {
          const response = await request(`${base}/webhook`, {
            method: "POST",
            headers: { "stripe-signature": signature },
            body,
          });
          assertEquals(response.status, 400, await response.text());
        }
      });

      await t.step(
        "an api_version no header can carry is answered with stripe-node's",
        async () => {
          const event = { ...authorizationEvent("online", { id: "iauth_sec_version" }) };
          const payload = JSON.stringify({ ...event, api_version: "2026-07-29\r\nX-Injected: 1" });
          const response = await request(`${base}/webhook`, {
            method: "POST",
            headers: { "stripe-signature": await signWithHmac(payload, TEST_SECRET) },
            body: payload,
          });
          assertEquals(response.status, 200);
          assertEquals(response.headers.get("stripe-version"), Stripe.API_VERSION);
          assertEquals(response.headers.get("x-injected"), null);
          assertEquals(typeof (await response.json()).approved, "boolean");
        },
      );

      await t.step(
        "malformed percent-encoding and oversized requests → 400, 414, 431",
        async () => {
          const bearer = { authorization: `Bearer ${ADMIN_TOKEN}` };
          const cookie = await signIn(base);
          assertEquals(await status(`${base}/decisions/%ZZ`, { headers: bearer }), 400);
          assertEquals(
            await status(`${base}/dashboard/decisions/%ZZ`, { headers: { cookie } }),
            400,
          );
          const long = "a".repeat(3_000);
          assertEquals(await status(`${base}/decisions?card=${long}`, { headers: bearer }), 414);
          assertEquals(
            await status(`${base}/dashboard?card=${long}`, { headers: { cookie } }),
            414,
          );
          assertEquals(
            await status(`${base}/healthz`, { headers: { "x-filler": "b".repeat(20_000) } }),
            431,
          );
        },
      );

      await t.step("signing out revokes the session on every worker", async () => {
        const cookie = await signIn(base);
        const token = await signOutToken(base, cookie);
        assert(token, "signed in");
        assertEquals(
          await status(`${base}/dashboard/logout`, {
            method: "POST",
            headers: { ...FORM, origin: base, cookie },
            body: new URLSearchParams({ csrf: token }),
          }),
          303,
        );
        for (let i = 0; i < 4; i++) {
          const response = await request(`${base}/dashboard`, { headers: { cookie } });
          await response.body?.cancel();
          assertEquals([response.status, response.headers.get("location")], [
            303,
            "/dashboard/login",
          ]);
        }
      });

      await t.step("signing in again rotates the session id and revokes the old one", async () => {
        const first = await signIn(base);
        const second = await signIn(base, first);
        assert(first !== second);
        assertEquals(await signOutToken(base, first), undefined);
        assert(await signOutToken(base, second));
      });

      await t.step("cross-site or tokenless sign-in and sign-out POSTs → 403", async () => {
        const cookie = await signIn(base);
        const token = (await signOutToken(base, cookie))!;
        const form = await request(`${base}/dashboard/login`);
        const loginCookie = form.headers.get("set-cookie")!.split(";")[0];
        const csrf = /name="csrf" value="([^"]+)"/.exec(await form.text())![1];
        const signInWith = (headers: Record<string, string>, body: Record<string, string>) =>
          status(`${base}/dashboard/login`, {
            method: "POST",
            headers: { ...FORM, cookie: loginCookie, ...headers },
            body: new URLSearchParams(body),
          });
        assertEquals(
          await signInWith({ origin: "https://evil.example" }, { token: ADMIN_TOKEN, csrf }),
          403,
        );
        assertEquals(
          await signInWith({ "sec-fetch-site": "cross-site" }, { token: ADMIN_TOKEN, csrf }),
          403,
        );
        assertEquals(await signInWith({ origin: base }, { token: ADMIN_TOKEN }), 403);
        const signOutWith = (headers: Record<string, string>, body: Record<string, string>) =>
          status(`${base}/dashboard/logout`, {
            method: "POST",
            headers: { ...FORM, cookie, ...headers },
            body: new URLSearchParams(body),
          });
        assertEquals(await signOutWith({ origin: "https://evil.example" }, { csrf: token }), 403);
        assertEquals(await signOutWith({ "sec-fetch-site": "same-site" }, { csrf: token }), 403);
        assertEquals(await signOutWith({ origin: base }, { csrf: "forged" }), 403);
        assertEquals(await signOutWith({ origin: base }, {}), 403);
        assert(await signOutToken(base, cookie), "still signed in after the refused sign-outs");
      });

      await t.step(
        "behind a trusted TLS proxy: Secure cookies and HSTS; plain HTTP: neither",
        async () => {
          const viaProxy = await request(`${base}/dashboard/login`, {
            headers: { "x-forwarded-proto": "https" },
          });
          await viaProxy.body?.cancel();
          assertStringIncludes(viaProxy.headers.get("set-cookie")!, "; Secure");
          assertEquals(viaProxy.headers.get("strict-transport-security"), "max-age=31536000");
          const plain = await request(`${base}/dashboard/login`);
          await plain.body?.cancel();
          assert(!plain.headers.get("set-cookie")!.includes("Secure"));
          assertEquals(plain.headers.get("strict-transport-security"), null);
        },
      );

      await t.step(
        "a deleted KV file turns /healthz to 503 and is logged as an error",
        async () => {
          assertEquals(await status(`${base}/healthz`), 200);
          await Deno.remove(new URL(`../${kvPath}`, import.meta.url));
          await new Promise((resolve) => setTimeout(resolve, 1_100)); // past the 1 s cache
          const response = await request(`${base}/healthz`);
          assertEquals(response.status, 503);
          // Anyone may ask /healthz: where the file is, is for the log only.
          assertEquals(await response.json(), {
            status: "unavailable",
            reason: "KV file was deleted",
          });
          const logged = await server.stop();
          assertStringIncludes(logged, '"msg":"store_unhealthy"');
          assertStringIncludes(logged, `"detail":"${kvPath}"`);
        },
      );
    } finally {
      for (const suffix of ["", "-wal", "-shm"]) {
        await Deno.remove(new URL(`../${kvPath}${suffix}`, import.meta.url)).catch(() => {});
      }
    }
  });
}

Deno.test("an untrusted X-Forwarded-Proto neither marks cookies Secure nor sends HSTS", async () => {
  const { startTestServer } = await import("./_helpers.ts");
  await using server = await startTestServer({ ADMIN_TOKEN });
  const response = await fetch(`${server.url}/dashboard/login`, {
    headers: { "x-forwarded-proto": "https" },
  });
  await response.body?.cancel();
  assert(!response.headers.get("set-cookie")!.includes("Secure"));
  assertEquals(response.headers.get("strict-transport-security"), null);
});
