import type Stripe from "stripe";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_assert.ts";
import {
  nowSeconds,
  signWithHmac,
  signWithStripe,
  startTestServer,
  TEST_SECRET,
} from "./_helpers.ts";
import { authorizationEvent } from "../fixtures/events.ts";
import {
  cardCreatedEvent,
  lifecycleEvent,
  requestEvent,
  transactionEvent,
} from "../fixtures/lifecycle.ts";

const OTHER_SECRET = "whsec_rolled_new_9b1c2f7e5d3a";

async function errorOf(response: Response): Promise<string> {
  assertEquals(response.headers.get("content-type"), "application/json");
  const body = await response.json();
  assertEquals(Object.keys(body), ["error"]);
  assert(!body.error.includes("\n"), "the reason is one line");
  return body.error;
}

Deno.test("POST /webhook answers a signed authorization request with the decision", async (t) => {
  await using server = await startTestServer();
  const event = authorizationEvent("online");

  for (const signer of ["hmac", "stripe"] as const) {
    await t.step(
      `signed by the ${signer} signer → 200 with Stripe-Version and JSON body`,
      async () => {
        const response = await server.postEvent(event, { signer });
        assertEquals(response.status, 200);
        assertEquals(response.headers.get("content-type"), "application/json");
        assertEquals(response.headers.get("stripe-version"), event.api_version);
        const body = await response.json();
        assertEquals(body.approved, true);
        assertEquals(
          "amount" in body,
          false,
          "no amount for a request that is not amount-controllable",
        );
        assertMatch(body.metadata.policy_version, /^[0-9a-f]{12}$/);
      },
    );
  }

  await t.step("logs one line with ids, decision and latency, and no signature", () => {
    const decisions = server.logs.filter((record) => record.msg === "decision");
    assertEquals(decisions.length, 2);
    assertEquals(decisions[0].event_id, event.id);
    assertEquals(decisions[0].authorization_id, (event.data.object as { id: string }).id);
    assertEquals(decisions[0].approved, true);
    assertEquals(typeof decisions[0].latency_ms, "number");
    const text = JSON.stringify(server.logs);
    assert(!text.includes("v1="), "no signature in logs");
    assert(!text.includes(TEST_SECRET), "no secret in logs");
  });
});

Deno.test("STRIPE_API_VERSION pins the Stripe-Version header", async () => {
  await using server = await startTestServer({ STRIPE_API_VERSION: "2025-01-27.acacia" });
  const response = await server.postEvent(authorizationEvent());
  await response.body?.cancel();
  assertEquals(response.headers.get("stripe-version"), "2025-01-27.acacia");
});

Deno.test("amount appears only for amount-controllable requests limited below the request", async () => {
  await using server = await startTestServer();
  const limited = await server.postEvent(
    authorizationEvent("fuel", { id: "iauth_fuel_limited", pending_request: { amount: 25_000 } }),
  );
  const limitedBody = await limited.json();
  assertEquals([limitedBody.approved, limitedBody.amount], [true, 10_000]);

  const atHold = await (await server.postEvent(authorizationEvent("fuel"))).json();
  assertEquals([atHold.approved, "amount" in atHold], [true, false]);
});

Deno.test("other verified events are acknowledged with { received: true }", async () => {
  await using server = await startTestServer();
  const event = {
    ...authorizationEvent(),
    id: "evt_cardholder_updated",
    type: "issuing_cardholder.updated",
  };
  const response = await server.postEvent(event);
  assertEquals(response.status, 200);
  assertEquals(await response.json(), { received: true });
});

Deno.test("rolled secrets: old and new are accepted, a third is not", async (t) => {
  await using server = await startTestServer({
    STRIPE_WEBHOOK_SECRET: `${TEST_SECRET}, ${OTHER_SECRET}`,
  });
  for (
    const [name, secret, status] of [["old", TEST_SECRET, 200], ["new", OTHER_SECRET, 200], [
      "unknown",
      "whsec_someone_else",
      400,
    ]] as const
  ) {
    await t.step(`${name} secret → ${status}`, async () => {
      const response = await server.postEvent(authorizationEvent(), { secret });
      assertEquals(response.status, status);
      await response.body?.cancel();
    });
  }
  await t.step(
    "a header carrying signatures by both secrets (as Stripe sends while rolling) → 200",
    async () => {
      const payload = JSON.stringify(authorizationEvent());
      const t0 = nowSeconds();
      const oldSig = (await signWithHmac(payload, TEST_SECRET, t0)).split(",")[1];
      const newSig = (await signWithStripe(payload, OTHER_SECRET, t0)).split(",")[1];
      const response = await fetch(`${server.url}/webhook`, {
        method: "POST",
        headers: { "stripe-signature": `t=${t0},${oldSig},${newSig}` },
        body: payload,
      });
      assertEquals(response.status, 200);
      await response.body?.cancel();
    },
  );
});

Deno.test("bad input gets a 4xx with a one-line JSON reason", async (t) => {
  await using server = await startTestServer({ MAX_BODY_BYTES: "4096" });
  const payload = JSON.stringify(authorizationEvent());
  const post = (headers: Record<string, string>, body: BodyInit) =>
    fetch(`${server.url}/webhook`, { method: "POST", headers, body });

  const cases: [string, () => Promise<Response>, number, string][] = [
    ["missing Stripe-Signature", () => post({}, payload), 400, "missing Stripe-Signature header"],
    [
      "malformed Stripe-Signature",
      () => post({ "stripe-signature": "garbage" }, payload),
      400,
      "malformed",
    ],
    [
      "header without v1",
      () => post({ "stripe-signature": `t=${nowSeconds()},v0=abc` }, payload),
      400,
      "no v1 signature",
    ],
    [
      "wrong secret",
      () => server.postEvent(payload, { secret: "whsec_wrong" }),
      400,
      "no signature matches",
    ],
    [
      "timestamp outside the tolerance",
      () => server.postEvent(payload, { timestamp: nowSeconds() - 301 }),
      400,
      "tolerance",
    ],
    [
      "tampered body",
      async () => {
        const header = await signWithHmac(payload, TEST_SECRET);
        return post({ "stripe-signature": header }, payload.replace('"amount":4999', '"amount":1'));
      },
      400,
      "no signature matches",
    ],
    ["non-JSON body", () => server.postEvent("not json at all"), 400, "not valid JSON"],
    [
      "JSON that is not an event",
      () => server.postEvent({ hello: "world" }),
      400,
      "not a Stripe event",
    ],
    [
      "authorization request without pending_request",
      () => {
        const event = authorizationEvent();
        (event.data.object as unknown as Record<string, unknown>).pending_request = null;
        return server.postEvent(event);
      },
      400,
      "pending_request",
    ],
    [
      "invalid UTF-8",
      async () => {
        const bytes = new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]);
        return post({ "stripe-signature": await signWithHmac("{}", TEST_SECRET) }, bytes);
      },
      400,
      "UTF-8",
    ],
    [
      "Content-Length over the limit",
      () => post({ "stripe-signature": "t=1,v1=0" }, "x".repeat(5_000)),
      413,
      "larger than 4096",
    ],
    [
      "chunked body over the limit",
      () => {
        const chunk = new TextEncoder().encode("x".repeat(1_024));
        let sent = 0;
        const body = new ReadableStream<Uint8Array>({
          pull(controller) {
            if (sent++ < 8) controller.enqueue(chunk);
            else controller.close();
          },
        });
        return post({ "stripe-signature": "t=1,v1=0" }, body);
      },
      413,
      "larger than 4096",
    ],
  ];
  for (const [name, send, status, reason] of cases) {
    await t.step(`${name} → ${status}`, async () => {
      const response = await send();
      assertEquals(response.status, status);
      assertStringIncludes(await errorOf(response), reason);
    });
  }
  await t.step("no reason or log line carries the signature or secret", () => {
    const text = JSON.stringify(server.logs);
    assert(!text.includes(TEST_SECRET));
    assert(!/v1=[0-9a-f]{16}/.test(text));
  });
});

Deno.test("signed events Stripe could not have sent get a 400, never a 5xx", async (t) => {
  await using server = await startTestServer();
  const request = requestEvent({ id: "iauth_malformed_lifecycle" });
  const created = () =>
    lifecycleEvent(request, "issuing_authorization.created", {
      status: "pending",
      approved: true,
      amount: 4_999,
      requests: [{ amount: 4_999 }],
    });
  const transaction = () =>
    transactionEvent(request, { id: "ipi_malformed", amount: -4_999, linked: true });
  const card = () => cardCreatedEvent(request, "ic_malformed_new", "ic_malformed_old");
  const huge = `ic_${"x".repeat(2_100)}`;
  // Per kind of event, what its 400 names, and the ways to spoil its object.
  // deno-lint-ignore no-explicit-any
  const kinds: [() => Stripe.Event, string, [string, (object: any) => void][]][] = [
    [created, "issuing authorization", [
      ["an authorization id longer than Stripe's 255", (o) => o.id = huge],
      ["a card id longer than Stripe's 255", (o) => o.card.id = huge],
      ["replacement_for without an id", (o) => o.card.replacement_for = { object: "issuing.card" }],
      ["created as text", (o) => o.created = "yesterday"],
      ["created past what a date holds", (o) => o.created = 1e20],
      ["a null request_history entry", (o) => o.request_history = [null]],
      ["a null transaction", (o) => o.transactions = [null]],
      ["a cardholder id longer than 255", (o) => o.card.cardholder.id = huge],
      ["a merchant network id longer than 255", (o) => o.merchant_data.network_id = huge],
      ["a status that is no code", (o) => o.status = huge],
      ["a request_history reason that is no code", (o) => o.request_history[0].reason = huge],
      ["a 70 KB reason message", (o) => o.request_history[0].reason_message = huge.repeat(35)],
      // A later request Stripe decided alone is dated into its windows by it: Date refused it, and
      // the event was a 503.
      [
        "a request_history entry created past a date",
        (o) => o.request_history.push({ ...o.request_history[0], created: 9e12 }),
      ],
      [
        "a request_history entry created as text",
        (o) => o.request_history.push({ ...o.request_history[0], created: "1e21" }),
      ],
      ["a transaction id longer than 255", (o) => o.transactions = [{ id: huge }]],
      // In UTF-8, where KV compares keys, a lone surrogate is U+FFFD: two such ids, one key.
      ["an authorization id with a lone surrogate", (o) => o.id = "iauth_lone\ud800"],
      ["a card id with a lone surrogate", (o) => o.card.id = "ic_lone\udfff"],
      ["a merchant network id with a lone surrogate", (o) => o.merchant_data.network_id = "\ud800"],
    ]],
    [() => structuredClone(request), "issuing authorization", [
      ["a merchant name that is no text", (o) => o.merchant_data.name = 12345],
      ["a merchant category that is no text", (o) => o.merchant_data.category = null],
      ["a merchant country that is no text", (o) => o.merchant_data.country = ["US"]],
      ["a request's authorization id with a lone surrogate", (o) => o.id = "iauth_lone\udc00"],
    ]],
    [() => structuredClone(request), "pending_request", [
      ["a merchant currency longer than a code", (o) => o.pending_request.merchant_currency = huge],
      [
        "a cash back that is no number",
        (o) => o.pending_request.amount_details = { atm_fee: null, cashback_amount: "abc" },
      ],
      [
        "a cash back below zero",
        (o) => o.pending_request.amount_details = { atm_fee: null, cashback_amount: -100 },
      ],
      ["amount details that are no object", (o) => o.pending_request.amount_details = "cash"],
      [
        "an ATM fee that is no number",
        (o) => o.pending_request.amount_details = { atm_fee: "abc", cashback_amount: null },
      ],
    ]],
    [transaction, "issuing transaction", [
      ["a transaction id longer than 255", (o) => o.id = huge],
      ["its authorization as a number", (o) => o.authorization = 7],
      ["its authorization without an id", (o) => o.authorization = {}],
      ["created at -1e15", (o) => o.created = -1e15],
      ["its cardholder id longer than 255", (o) => o.cardholder = huge],
      ["its merchant network id longer than 255", (o) => o.merchant_data.network_id = huge],
      ["its currency longer than a code", (o) => o.currency = huge],
      ["its merchant name that is no text", (o) => o.merchant_data.name = { text: "ACME" }],
    ]],
    [card, "issuing card", [
      ["a card id longer than 255", (o) => o.id = huge],
      ["a card replacing one with a huge id", (o) => o.replacement_for = huge],
    ]],
  ];
  await t.step("unspoiled, each of them is accepted", async () => {
    for (const [make] of kinds) {
      const response = await server.postEvent(make());
      assertEquals(response.status, 200);
      await response.body?.cancel();
    }
  });
  await t.step("an event id longer than Stripe's 255", async () => {
    const response = await server.postEvent({ ...request, id: `evt_${"x".repeat(2_100)}` });
    assertEquals(response.status, 400);
    assertStringIncludes(await errorOf(response), "event id");
  });
  // The event, its `data` and its object are 3 levels: 29 more are 32 in all, Stripe's bound.
  const nested = (levels: number) => {
    const event = structuredClone(request);
    let value: unknown = "fuel";
    for (let level = 0; level < levels; level++) value = [value];
    Object.assign(event.data.object, { fuel: value });
    return event;
  };
  await t.step("a request nested 32 levels deep in all is decided", async () => {
    const response = await server.postEvent(nested(29));
    assertEquals(response.status, 200);
    assertEquals(typeof (await response.json()).approved, "boolean");
  });
  for (const levels of [30, 30_000]) {
    // Thousands of levels made the record fail to serialize: answered 200, never logged.
    await t.step(`a request nested ${levels + 3} levels deep`, async () => {
      const response = await server.postEvent(nested(levels));
      assertEquals(response.status, 400);
      assertEquals(await errorOf(response), "event nested deeper than 32 levels");
    });
  }
  for (const [make, reason, spoils] of kinds) {
    for (const [name, spoil] of spoils) {
      await t.step(`${reason}: ${name}`, async () => {
        const event = make();
        spoil(event.data.object);
        const response = await server.postEvent(event);
        assertEquals(response.status, 400);
        assertStringIncludes(await errorOf(response), reason);
      });
    }
  }
  assert(server.logs.every((record) => record.msg !== "internal_error"));
});

Deno.test("routing: 405 with Allow on a known path, 404 elsewhere, /healthz reports versions", async (t) => {
  await using server = await startTestServer();
  await t.step("GET /webhook → 405 Allow: POST", async () => {
    const response = await fetch(`${server.url}/webhook`);
    assertEquals(response.status, 405);
    assertEquals(response.headers.get("allow"), "POST");
    await errorOf(response);
  });
  await t.step("POST /healthz → 405 Allow: GET, HEAD", async () => {
    const response = await fetch(`${server.url}/healthz`, { method: "POST" });
    assertEquals(response.status, 405);
    assertEquals(response.headers.get("allow"), "GET, HEAD");
    await response.body?.cancel();
  });
  await t.step("GET /nope → 404", async () => {
    const response = await fetch(`${server.url}/nope`);
    assertEquals(response.status, 404);
    await errorOf(response);
  });
  await t.step("GET /healthz → 200 status and versions", async () => {
    const body = await (await fetch(`${server.url}/healthz`)).json();
    assertEquals(body.status, "ok");
    assertEquals(body.version, "test");
    assertMatch(body.policy_version, /^[0-9a-f]{12}$/);
  });
});

for (const listener of ["Deno.serve", "listen"] as const) {
  Deno.test(`a Host header that names no valid host gets a 400 (${listener})`, async () => {
    // Before: `new URL(request.url)` threw outside the handler's try: a plain-text 500 under
    // `deno serve`, and no answer at all under `deno task start`'s listener.
    await using server = await startTestServer({}, { listener });
    const { port } = new URL(server.url);
    for (const host of ["a b", "[::1", "a:99999"]) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
      await conn.write(
        new TextEncoder().encode(
          `GET /healthz HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
        ),
      );
      const text = new TextDecoder().decode(await new Response(conn.readable).arrayBuffer());
      assertMatch(text, /^HTTP\/1\.1 400/, `Host: ${host}`);
      assertStringIncludes(text, '{"error":"Host header names no valid host"}');
    }
    assert(server.logs.some((record) => record.msg === "rejected" && record.status === 400));
    assert(server.logs.every((record) => record.msg !== "internal_error"));
  });
}

Deno.test("WEBHOOK_PATH moves the endpoint", async () => {
  await using server = await startTestServer({ WEBHOOK_PATH: "/stripe/authorizations" });
  const response = await server.postEvent(authorizationEvent());
  assertEquals(response.status, 200);
  await response.body?.cancel();
  const old = await fetch(`${server.url}/webhook`, { method: "POST", body: "{}" });
  assertEquals(old.status, 404);
  await old.body?.cancel();
});

Deno.test("a body that trickles in is cut off with 408 and its connection closed, while others are served", async () => {
  // On `deno task start`'s listener: `Deno.serve` closes such a connection by itself.
  await using server = await startTestServer({ ADMIN_TOKEN: "trickle-admin-token-0123456789" }, {
    listener: "listen",
  });
  const { port } = new URL(server.url);
  for (
    const head of [
      "POST /webhook HTTP/1.1\r\nHost: x\r\nStripe-Signature: t=1,v1=0",
      // The dashboard's sign-in form is read the same way, and answered the same way.
      `POST /dashboard/login HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nOrigin: ${server.url}`,
    ]
  ) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
    await conn.write(new TextEncoder().encode(`${head}\r\nContent-Length: 1000\r\n\r\n{`));
    const other = await server.postEvent(authorizationEvent());
    assertEquals(other.status, 200, "another client is served while one trickles");
    await other.body?.cancel();

    const reply = new Uint8Array(4096);
    const n = await conn.read(reply);
    conn.close();
    const text = new TextDecoder().decode(reply.subarray(0, n ?? 0));
    assertMatch(text, /^HTTP\/1\.1 408/);
    assertStringIncludes(text, "not received within");
    assertMatch(text, /\r\nconnection: close\r\n/i);
  }
});

Deno.test("a body declaring both Content-Length and chunked is refused before it is read", async () => {
  // `deno task start`'s listener (the runtime's older HTTP server) reads such a body as chunked,
  // unbounded by the small Content-Length; `Deno.serve` refuses it itself.
  const size = 5_000_000;
  for (
    const [listener, head, refused] of [
      [
        "listen",
        "Content-Length: 10\r\nTransfer-Encoding: chunked",
        /^HTTP\/1\.1 400[\s\S]*both Content-Length and Transfer-Encoding/,
      ],
      // Transfer-Encoding first: the runtime drops the Content-Length, and the chunked read is bounded.
      ["listen", "Transfer-Encoding: chunked\r\nContent-Length: 10", /^HTTP\/1\.1 413/],
      ["Deno.serve", "Content-Length: 10\r\nTransfer-Encoding: chunked", /^HTTP\/1\.1 400/],
    ] as const
  ) {
    await using server = await startTestServer({}, { listener });
    const { port } = new URL(server.url);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
    const reply = (async () => {
      const buffer = new Uint8Array(4096);
      const n = await conn.read(buffer);
      return new TextDecoder().decode(buffer.subarray(0, n ?? 0));
    })();
    const request = `POST /webhook HTTP/1.1\r\nHost: x\r\n${head}\r\n\r\n` +
      `${size.toString(16)}\r\n${"x".repeat(size)}\r\n0\r\n\r\n`;
    const bytes = new TextEncoder().encode(request);
    // The server may close before taking it all: a write error then is expected.
    for (let written = 0; written < bytes.length;) {
      written += await conn.write(bytes.subarray(written)).catch(() => bytes.length);
    }
    const text = await reply;
    conn.close();
    assertMatch(text, refused, `${listener}: ${head}`);
  }
});
