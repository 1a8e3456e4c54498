/**
 * Property-based fuzzing of `POST /webhook` through real HTTP: 10,000 cases
 * per run. Never a 5xx, never an approval without a valid signature, and a
 * well-formed answer for every validly signed authorization request.
 */
import fc from "fast-check";
import {
  METADATA_MAX_KEY_LENGTH,
  METADATA_MAX_KEYS,
  METADATA_MAX_VALUE_LENGTH,
} from "../../lib/engine/authorization_response.ts";
import { assert, assertEquals } from "../_assert.ts";
import { nowSeconds, signWithHmac, startTestServer, TEST_SECRET } from "../_helpers.ts";
import { authorizationEvent } from "../../fixtures/events.ts";

const BASE = JSON.stringify(authorizationEvent("online", { id: "iauth_fuzz_base" }));
const encoder = new TextEncoder();

interface Case {
  readonly headers: Record<string, string>;
  readonly body: string | Uint8Array<ArrayBuffer>;
}

/** Bodies of every odd kind: truncated, random JSON, bytes, deep nesting, huge numbers, duplicate keys. */
const oddBody: fc.Arbitrary<string | Uint8Array<ArrayBuffer>> = fc.oneof(
  fc.nat({ max: BASE.length - 1 }).map((n) => BASE.slice(0, n)),
  fc.json(),
  fc.string({ unit: "binary", maxLength: 300 }),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => new Uint8Array(bytes)),
  fc.integer({ min: 1, max: 5_000 }).map((depth) => "[".repeat(depth) + "]".repeat(depth)),
  fc.integer({ min: 1, max: 5_000 }).map((depth) =>
    '{"a":'.repeat(depth) + "1" + "}".repeat(depth)
  ),
  fc.constantFrom("1e400", "-1e400", "123456789012345678901234567890").map((n) =>
    BASE.replace('"amount":4999', `"amount":${n}`)
  ),
  fc.constant(
    BASE.replace(
      '"type":"issuing_authorization.request"',
      '"type":1,"type":"issuing_authorization.request"',
    ),
  ),
  fc.constant(BASE.replace('"pending_request":{', '"pending_request":"x","pending_request":{')),
);

/** Requests without a valid signature: every one must be refused. */
const unsigned: fc.Arbitrary<Promise<Case>> = fc.oneof(
  fc.constant(Promise.resolve({ headers: {}, body: BASE })),
  fc.string({ maxLength: 200 }).map((header) =>
    Promise.resolve({ headers: { "stripe-signature": header }, body: BASE })
  ),
  fc.tuple(fc.stringMatching(/^[0-9a-f]{64}$/), fc.integer({ min: -2, max: 2 })).map((
    [hex, skew],
  ) =>
    Promise.resolve({
      headers: { "stripe-signature": `t=${nowSeconds() + skew},v1=${hex}` },
      body: BASE,
    })
  ),
  fc.string({ minLength: 1, maxLength: 40 }).filter((secret) => secret !== TEST_SECRET).map(async (
    secret,
  ) => ({
    headers: { "stripe-signature": await signWithHmac(BASE, secret) },
    body: BASE,
  })),
  fc.integer({ min: 301, max: 10_000_000 }).map(async (age) => ({
    headers: { "stripe-signature": await signWithHmac(BASE, TEST_SECRET, nowSeconds() - age) },
    body: BASE,
  })),
  fc.tuple(fc.nat({ max: BASE.length - 1 }), fc.string({ minLength: 1, maxLength: 3 })).map(
    async ([at, text]) => {
      const tampered = BASE.slice(0, at) + text + BASE.slice(at + 1);
      return {
        headers: { "stripe-signature": await signWithHmac(BASE, TEST_SECRET) },
        body: tampered === BASE ? BASE + " " : tampered,
      };
    },
  ),
  fc.tuple(oddBody, fc.string({ maxLength: 120 })).map(([body, header]) =>
    Promise.resolve({ headers: { "stripe-signature": header }, body })
  ),
);

/** Odd bodies with a valid signature: refused or acknowledged, never a 5xx or an approval. */
const signedOdd: fc.Arbitrary<Promise<Case>> = oddBody.map(async (body) => {
  const text = typeof body === "string" ? body : new TextDecoder().decode(body);
  return {
    headers: { "stripe-signature": await signWithHmac(text, TEST_SECRET) },
    body: typeof body === "string" ? body : body,
  };
});

let sequence = 0;
/** Valid authorization requests with random field values. */
const validEvent = fc.record({
  amount: fc.oneof(fc.integer({ min: 0, max: 200_000 }), fc.maxSafeNat()),
  currency: fc.oneof(fc.constantFrom("usd", "eur", "gbp", "jpy"), fc.string({ maxLength: 8 })),
  controllable: fc.boolean(),
  category: fc.oneof(
    fc.constantFrom(
      "betting_casino_gambling",
      "automated_fuel_dispensers",
      "grocery_stores_supermarkets",
    ),
    fc.string({ maxLength: 60 }),
  ),
  categoryCode: fc.oneof(fc.constantFrom("7995", "5542", "5411"), fc.string({ maxLength: 6 })),
  country: fc.option(fc.string({ maxLength: 4 })),
  risk: fc.option(fc.integer({ min: 0, max: 99 })),
  card: fc.oneof(
    fc.constantFrom("ic_fuzz_a", "ic_fuzz_b"),
    // Any id Stripe could send: "IDs we generate will never exceed 255 characters".
    fc.string({ minLength: 1, maxLength: 255 }),
  ),
}).map((fields) => {
  const event = authorizationEvent("online", {
    id: `iauth_fuzz_${sequence++}`,
    card: { id: fields.card },
    merchant_data: {
      category: fields.category,
      category_code: fields.categoryCode,
      country: fields.country,
    },
    pending_request: {
      amount: fields.amount,
      currency: fields.currency,
      is_amount_controllable: fields.controllable,
      network_risk_score: fields.risk,
    },
  });
  return { event, requested: fields.amount, controllable: fields.controllable };
});

Deno.test("fuzzing the webhook: 10,000 cases, never a 5xx, never an unsigned approval", async (t) => {
  await using server = await startTestServer({ MAX_BODY_BYTES: "65536" });
  const post = async ({ headers, body }: Case) => {
    const response = await fetch(`${server.url}/webhook`, { method: "POST", headers, body });
    const text = await response.text();
    return { status: response.status, text };
  };

  await t.step("5,000 requests without a valid signature are refused with a 4xx", async () => {
    await fc.assert(
      fc.asyncProperty(unsigned, async (made) => {
        const { status, text } = await post(await made);
        assert(status >= 400 && status < 500, `status ${status}: ${text}`);
        assert(!text.includes('"approved":true'), text);
        assert(JSON.parse(text).error, "a reason is given");
      }),
      { numRuns: 5_000 },
    );
  });

  await t.step(
    "2,000 validly signed odd bodies never get a 5xx, nor an approval unless they are a request",
    async () => {
      await fc.assert(
        fc.asyncProperty(signedOdd, async (made) => {
          const request = await made;
          const { status, text } = await post(request);
          assert(status < 500, `status ${status}: ${text}`);
          if (text.includes('"approved":true')) {
            // Only a body that parses (duplicate keys: the last wins) to a real authorization request.
            assert(
              JSON.parse(request.body as string).type === "issuing_authorization.request",
              text,
            );
          }
        }),
        { numRuns: 2_000 },
      );
    },
  );

  await t.step(
    "3,000 valid authorization requests with random fields all get a well-formed answer",
    async () => {
      await fc.assert(
        fc.asyncProperty(validEvent, async ({ event, requested, controllable }) => {
          const payload = JSON.stringify(event);
          const { status, text } = await post({
            headers: { "stripe-signature": await signWithHmac(payload, TEST_SECRET) },
            body: payload,
          });
          assert(status === 200, `status ${status}: ${text}`);
          const body = JSON.parse(text);
          assert(typeof body.approved === "boolean", text);
          if ("amount" in body) {
            assert(body.approved && controllable, text);
            assert(
              Number.isSafeInteger(body.amount) && body.amount > 0 && body.amount < requested,
              text,
            );
          }
          const entries = Object.entries(body.metadata as Record<string, string>);
          assert(entries.length <= METADATA_MAX_KEYS);
          for (const [key, value] of entries) {
            assert(
              key.length <= METADATA_MAX_KEY_LENGTH && !/[[\]]/.test(key) &&
                value.length <= METADATA_MAX_VALUE_LENGTH,
            );
          }
        }),
        { numRuns: 3_000 },
      );
    },
  );

  await t.step("the server still answers", async () => {
    assert((await fetch(`${server.url}/healthz`).then((r) => r.json())).status === "ok");
  });
  assert(encoder.encode(BASE).byteLength < 65_536);
});

const ADMIN_TOKEN = "fuzz-admin-token-0123456789abcdef";
const ROUTES = [
  "/decisions",
  "/decisions/",
  "/stats",
  "/policies",
  "/metrics",
  "/healthz",
  "/webhook",
  "/dashboard",
  "/dashboard/",
  "/dashboard/decisions/",
  "/dashboard/decisions.csv",
  "/dashboard/decisions.jsonl",
  "/dashboard/login",
  "/dashboard/logout",
  "/dashboard/app.css",
] as const;
const FILTERS = [
  "card",
  "authorization",
  "outcome",
  "reason",
  "limit",
  "page",
  "cursor",
  "range",
  "hours",
  "from",
  "to",
  "path",
];
const HEADERS = [
  "x-fuzz",
  "accept",
  "content-type",
  "content-length",
  "origin",
  "sec-fetch-site",
  "x-forwarded-proto",
  "stripe-signature",
  "if-none-match",
  "range",
];
/** Path and query text with the odd parts: lone and malformed escapes, dots, slashes, non-ASCII. */
const urlText = (maxLength: number) =>
  fc.array(
    fc.oneof(
      fc.constantFrom("%", "%Z", "%ZZ", "%E0%A4%A", "%00", "%2F", "..", "/", "&", "=", "+", ";"),
      fc.string({ maxLength: 8 }),
      fc.string({ unit: "grapheme", maxLength: 4 }),
      fc.stringMatching(/^[0-9a-zA-Z_]{1,40}$/),
    ),
    { maxLength },
  ).map((parts) => parts.join(""));
/** Header values fetch can send: visible Latin-1, spaces and tabs, short or huge. */
const headerValue = fc.oneof(
  fc.string({
    unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c)),
    maxLength: 200,
  })
    .map((value) => value.trim()),
  fc.integer({ min: 1_000, max: 40_000 }).map((n) => "v".repeat(n)),
);

Deno.test("fuzzing the admin API, the dashboard and header values: never a 5xx", async (t) => {
  await using server = await startTestServer({ ADMIN_TOKEN });
  // A real session: the sign-in form's token and cookie, then the session cookie.
  const form = await fetch(`${server.url}/dashboard/login`);
  const loginCookie = form.headers.get("set-cookie")!.split(";")[0];
  const csrf = /name="csrf" value="([^"]+)"/.exec(await form.text())![1];
  const signedIn = await fetch(`${server.url}/dashboard/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: loginCookie },
    body: new URLSearchParams({ token: ADMIN_TOKEN, csrf }),
  });
  await signedIn.body?.cancel();
  const session = signedIn.headers.get("set-cookie")!.split(";")[0];
  assert(session.startsWith("authorizer_session="), session);
  const decided = await server.postEvent(authorizationEvent("online", { id: "iauth_fuzz_admin" }));
  await decided.body?.cancel();

  const request = fc.record({
    method: fc.constantFrom("GET", "GET", "GET", "HEAD", "POST", "PUT", "DELETE"),
    route: fc.constantFrom(...ROUTES),
    suffix: fc.oneof(fc.constant(""), urlText(6), fc.constant("iauth_fuzz_admin")),
    query: fc.array(
      fc.tuple(
        fc.oneof(fc.constantFrom(...FILTERS), urlText(2)),
        fc.oneof(urlText(6), fc.integer({ min: 0, max: 1_500 }).map((n) => "x".repeat(n))),
      ),
      { maxLength: 5 },
    ),
    auth: fc.constantFrom("bearer", "session", "both", "none", "wrong"),
    headers: fc.array(fc.tuple(fc.constantFrom(...HEADERS), headerValue), { maxLength: 3 }),
    body: fc.option(fc.string({ maxLength: 300 })),
  });

  await t.step(
    "3,000 requests with odd paths, filters, methods, credentials and headers",
    async () => {
      await fc.assert(
        fc.asyncProperty(request, async (made) => {
          const query = made.query.map(([key, value]) => `${key}=${value}`).join("&");
          const url = `${server.url}${made.route}${made.suffix}${query ? `?${query}` : ""}`;
          const headers = new Headers();
          for (const [name, value] of made.headers) headers.set(name, value);
          if (made.auth === "bearer" || made.auth === "both") {
            headers.set("authorization", `Bearer ${ADMIN_TOKEN}`);
          }
          if (made.auth === "session" || made.auth === "both") headers.set("cookie", session);
          if (made.auth === "wrong") {
            headers.set("authorization", "Bearer wrong");
            headers.set("cookie", "authorizer_session=forged");
          }
          const hasBody = made.body !== null && made.method !== "GET" && made.method !== "HEAD";
          let response: Response;
          try {
            response = await fetch(url, {
              method: made.method,
              headers,
              body: hasBody ? made.body : undefined,
              redirect: "manual",
            });
          } catch (error) {
            // The client refused to build the request (a header value fetch itself rejects): nothing was sent.
            if (error instanceof TypeError && !String(error.message).includes("connection")) return;
            throw error;
          }
          const text = await response.text();
          assert(
            response.status < 500,
            `${made.method} ${url.slice(0, 200)}: ${response.status} ${text.slice(0, 200)}`,
          );
        }),
        { numRuns: 3_000 },
      );
    },
  );

  await t.step("the server still answers and the session still works", async () => {
    assertEquals((await fetch(`${server.url}/healthz`).then((r) => r.json())).status, "ok");
    const page = await fetch(`${server.url}/dashboard`, { headers: { cookie: session } });
    await page.body?.cancel();
    assertEquals(page.status, 200);
  });
});
