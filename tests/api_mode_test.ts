/**
 * Migration mode (`DECISION_MODE=api`) against a real HTTP server on loopback
 * that plays the Stripe API.
 */
import { ConfigError } from "../lib/service/config.ts";
import { createService } from "../lib/service/service.ts";
import { referencePipeline } from "./fixtures/pipelines/reference.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_assert.ts";
import { POLICIES_DIR, startTestServer, TEST_SECRET } from "./_helpers.ts";
import { authorizationEvent, SCENARIOS } from "../fixtures/events.ts";
import { requestEvent } from "../fixtures/lifecycle.ts";
import { amountCap } from "../policies/amount_cap.ts";
import { maxNetworkRisk } from "../policies/max_network_risk.ts";
import { refusingCommits, stallingCommits } from "./_kv.ts";
import { pollUntil } from "./_store.ts";

const ADMIN_TOKEN = "test-admin-token-0123456789abcdef";

const SECRET_KEY = "sk_test_51MigrationKeyForTestsOnly";

interface RecordedCall {
  method: string;
  path: string;
  form: Record<string, string>;
  authorization: string | null;
  idempotencyKey: string | null;
}

/** A Stripe API stand-in that records calls and can be told to fail or stall, or to act on a call. */
function startFakeStripeApi() {
  const calls: RecordedCall[] = [];
  let behaviour: "ok" | "fail" | "stall" | "quote_key" = "ok";
  let onCall = () => {};
  const { promise: released, resolve: release } = Promise.withResolvers<void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const url = new URL(request.url);
    calls.push({
      method: request.method,
      path: url.pathname,
      form: Object.fromEntries(new URLSearchParams(await request.text())),
      authorization: request.headers.get("authorization"),
      idempotencyKey: request.headers.get("idempotency-key"),
    });
    onCall();
    if (behaviour === "stall") await released;
    if (behaviour === "quote_key") {
      const message = `Invalid API Key provided: ${request.headers.get("authorization")}`;
      return Response.json({ error: { type: "invalid_request_error", message } }, { status: 401 });
    }
    if (behaviour === "fail") {
      return Response.json({ error: { type: "api_error", message: "Something went wrong" } }, {
        status: 500,
      });
    }
    const id = url.pathname.split("/")[4];
    return Response.json({
      id,
      object: "issuing.authorization",
      approved: url.pathname.endsWith("/approve"),
    });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    calls,
    set behaviour(value: typeof behaviour) {
      behaviour = value;
    },
    set onCall(value: () => void) {
      onCall = value;
    },
    async [Symbol.asyncDispose]() {
      release();
      await server.shutdown();
    },
  };
}

function apiEnv(apiBase: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DECISION_MODE: "api",
    STRIPE_SECRET_KEY: SECRET_KEY,
    STRIPE_API_BASE: apiBase,
    // The first call builds stripe-node's HTTP client while the rest of the suite keeps the machine
    // busy: 300 ms (the default) is a warm process's bound. Tests of the timeout set their own.
    API_CALL_TIMEOUT_MS: "1000",
    ...extra,
  };
}

const METRICS_TOKEN = "api-mode-metrics-token-0123456789";

Deno.test("DECISION_MODE=api sends decisions through the approve/decline API", async (t) => {
  await using api = startFakeStripeApi();
  await using server = await startTestServer(apiEnv(api.url));

  await t.step("approve without amount", async () => {
    const response = await server.postEvent(SCENARIOS.ordinary_grocery);
    assertEquals(response.status, 200);
    assertEquals(await response.json(), { received: true }, "no second decision in the response");
    const call = api.calls.at(-1)!;
    assertEquals([call.method, call.path], [
      "POST",
      "/v1/issuing/authorizations/iauth_grocery/approve",
    ]);
    assertEquals(call.authorization, `Bearer ${SECRET_KEY}`);
    assertEquals(call.idempotencyKey, "issuing-authorizer:iauth_grocery:0:approve");
    assertEquals("amount" in call.form, false);
    assert(/^[0-9a-f]{12}$/.test(call.form["metadata[policy_version]"]));
  });

  await t.step("approve with amount for a limited amount-controllable request", async () => {
    await (await server.postEvent(SCENARIOS.fuel_controllable_over_hold)).body?.cancel();
    const call = api.calls.at(-1)!;
    assertEquals(call.path, "/v1/issuing/authorizations/iauth_fuel_over/approve");
    assertEquals(call.form.amount, "10000");
    assertEquals(
      call.form["metadata[reason_1]"],
      "partial_hold:automated_fuel_dispensers (partialHold)",
    );
  });

  await t.step("decline", async () => {
    await (await server.postEvent(SCENARIOS.gambling)).body?.cancel();
    const call = api.calls.at(-1)!;
    assertEquals(call.path, "/v1/issuing/authorizations/iauth_gambling/decline");
    assertEquals(call.idempotencyKey, "issuing-authorizer:iauth_gambling:0:decline");
    assertEquals(
      call.form["metadata[reason_1]"],
      "mcc_blocked:betting_casino_gambling (blockCategories)",
    );
  });

  await t.step("each decision log line says which path was used, and the key never appears", () => {
    const paths = server.logs.filter((record) => record.msg === "decision").map((record) =>
      record.path
    );
    assertEquals(paths, ["api", "api", "api"]);
    assert(!JSON.stringify(server.logs).includes(SECRET_KEY));
  });
});

Deno.test("API_MODE_PERCENT splits authorizations deterministically by id", async () => {
  await using api = startFakeStripeApi();
  await using server = await startTestServer(apiEnv(api.url, { API_MODE_PERCENT: "30" }));
  const ids = Array.from({ length: 100 }, (_, i) => `iauth_split_${i.toString().padStart(3, "0")}`);
  const answeredViaApi = async () => {
    const chosen: string[] = [];
    for (const id of ids) {
      const body = await (await server.postEvent(authorizationEvent("online", { id }))).json();
      if (body.received) chosen.push(id);
      else assertEquals(typeof body.approved, "boolean", "the others are answered directly");
    }
    return chosen;
  };
  const first = await answeredViaApi();
  assertEquals(api.calls.length, first.length, "one API call per API-path authorization");
  assert(
    first.length >= 15 && first.length <= 45,
    `about 30 of 100 took the API path, got ${first.length}`,
  );
  // A redelivery is answered with the decision (Stripe: the API call, if it landed, takes
  // precedence over a direct response) and is not sent to the API again.
  assertEquals(await answeredViaApi(), [], "every redelivery is answered with its decision");
  assertEquals(api.calls.length, first.length, "and is not sent to the API again");
});

Deno.test("when the API call fails or stalls, the webhook answers directly with the same decision", async (t) => {
  await using api = startFakeStripeApi();
  await using server = await startTestServer(
    apiEnv(api.url, { API_CALL_TIMEOUT_MS: "200", ADMIN_TOKEN: METRICS_TOKEN }),
  );
  for (const behaviour of ["fail", "stall"] as const) {
    await t.step(`API ${behaviour === "fail" ? "answers 500" : "never answers"}`, async () => {
      api.behaviour = behaviour;
      const started = performance.now();
      const response = await server.postEvent(authorizationEvent("online", {
        id: `iauth_api_${behaviour}`,
        merchant_data: { category: "betting_casino_gambling", category_code: "7995" },
      }));
      const elapsed = performance.now() - started;
      assertEquals(response.status, 200);
      const body = await response.json();
      assertEquals(body.approved, false);
      assertEquals(body.metadata.reason_1, "mcc_blocked:betting_casino_gambling (blockCategories)");
      assert(elapsed < 1_000, `answered within the budget (${elapsed} ms)`);
      const log = server.logs.filter((record) => record.msg === "decision").at(-1)!;
      assertEquals(log.path, "respond_after_api_failure");
    });
  }
  assertEquals(server.logs.filter((record) => record.msg === "api_call_failed").length, 2);
  assert(!JSON.stringify(server.logs).includes(SECRET_KEY));
  // What an operator watches: failed calls by kind, where every answer still looks fine.
  const metrics = await (await fetch(`${server.url}/metrics`, {
    headers: { authorization: `Bearer ${METRICS_TOKEN}` },
  })).text();
  assertStringIncludes(metrics, 'authorizer_api_call_failures_total{kind="http_500"} 1');
  assertStringIncludes(metrics, 'authorizer_api_call_failures_total{kind="timeout"} 1');
});

Deno.test("an API base nothing answers at is a connection failure, logged with its cause", async () => {
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const apiBase = `http://127.0.0.1:${closed.addr.port}`;
  closed.close();
  await using server = await startTestServer(apiEnv(apiBase, { ADMIN_TOKEN: METRICS_TOKEN }));
  const body = await (await server.postEvent(SCENARIOS.ordinary_grocery)).json();
  assertEquals(body.approved, true, "answered directly after the failed call");
  const failed = server.logs.find((record) => record.msg === "api_call_failed")!;
  // Not only stripe-node's "An error occurred with our connection to Stripe": why.
  assertMatch(String(failed.error), /connection to Stripe.*: .*(refused|connect)/i);
  const metrics = await (await fetch(`${server.url}/metrics`, {
    headers: { authorization: `Bearer ${METRICS_TOKEN}` },
  })).text();
  assertStringIncludes(metrics, 'authorizer_api_call_failures_total{kind="connection"} 1');
});

Deno.test("start-up in api mode without a secret key is refused with a one-line reason", async () => {
  const cases = [
    [undefined, ""],
    ["", ""],
    ["pk_test_publishable", ": the one set is a publishable key (pk_…)"],
    ["sk_tset_typo", ": the one set is not of that form"],
  ] as const;
  for (const [key, why] of cases) {
    const env = new Map([["STRIPE_WEBHOOK_SECRET", TEST_SECRET], ["DECISION_MODE", "api"]]);
    if (key !== undefined) env.set("STRIPE_SECRET_KEY", key);
    const error = await createService(env, {
      policies: referencePipeline,
      policiesDir: POLICIES_DIR,
      serviceVersion: "test",
    }).then(() => undefined, (error) => error);
    assert(error instanceof ConfigError, `refused: ${key}`);
    assertEquals(
      error.message,
      `DECISION_MODE=api needs STRIPE_SECRET_KEY, a secret (sk_…) or restricted (rk_…) key${why}`,
    );
  }
});

Deno.test("api mode warns at start-up that the flow is deprecated", async () => {
  await using server = await startTestServer(apiEnv("http://127.0.0.1:9"));
  const warning = server.logs.find((record) =>
    record.level === "warn" && String(record.msg).includes("deprecated")
  );
  assert(warning, "a deprecation warning is logged");
  assert(String(warning.msg).includes("Migrating from the API-call flow"));
});

Deno.test("a decline that asks for a fraud challenge is answered directly: Stripe's decline endpoint cannot carry one", async () => {
  await using api = startFakeStripeApi();
  await using server = await startTestServer(apiEnv(api.url, { ADMIN_TOKEN }), {
    policies: [maxNetworkRisk({ maxScore: 50, challenge: true })],
  });
  const response = await server.postEvent(authorizationEvent("online", {
    id: "iauth_api_challenge",
    pending_request: { network_risk_score: 90 },
  }));
  const body = await response.json();
  assertEquals([body.approved, body.send_fraud_challenges], [false, ["sms"]]);
  assertEquals(api.calls.length, 0);
  const logged = await server.decision("iauth_api_challenge");
  assertEquals((await logged.json()).path, "respond");
});

Deno.test("after a failed API call the direct answer does not wait past its deadline for the log's path to be rewritten", async () => {
  using raw = await Deno.openKv(":memory:");
  const store = stallingCommits(raw);
  await using api = startFakeStripeApi();
  // The decision is committed; then the API stalls, and the KV with it (a network blip).
  api.behaviour = "stall";
  api.onCall = () => store.stallFor(2_500);
  await using server = await startTestServer(apiEnv(api.url, { API_CALL_TIMEOUT_MS: "200" }), {
    kv: store.kv,
  });
  const started = performance.now();
  const response = await server.postEvent(
    authorizationEvent("online", { id: "iauth_api_slow_store" }),
  );
  const elapsed = performance.now() - started;
  assertEquals([response.status, (await response.json()).approved], [200, true]);
  assert(elapsed < 2_000, `answered within Stripe's 2 s (${Math.round(elapsed)} ms)`);
  assertEquals(
    server.logs.filter((record) => record.msg === "decision").at(-1)?.path,
    "respond_after_api_failure",
  );
  store.release();
});

Deno.test("after a failed API call while another process holds the store's lock, the log still says the answer was direct", async () => {
  using raw = await Deno.openKv(":memory:");
  // The decision is committed; the API call fails while another process writes for 400 ms.
  let lockedUntil = 0;
  const { kv } = refusingCommits(raw, () => performance.now() < lockedUntil);
  await using api = startFakeStripeApi();
  api.behaviour = "fail";
  api.onCall = () => lockedUntil = performance.now() + 400;
  await using server = await startTestServer(
    apiEnv(api.url, { API_CALL_TIMEOUT_MS: "200", ADMIN_TOKEN }),
    { kv },
  );
  const response = await server.postEvent(authorizationEvent("online", { id: "iauth_api_lock" }));
  assertEquals([response.status, (await response.json()).approved], [200, true]);
  // Before: given up after 5 tries in about 75 ms, it kept the path of a call that never landed.
  const logged = await pollUntil(
    "the record's path",
    async () => (await (await server.decision("iauth_api_lock")).json()).path,
    (path) => path === "respond_after_api_failure",
    3_000,
  );
  assertEquals(logged, "respond_after_api_failure");
  assert(!server.logs.some((record) => record.msg === "store_update_failed"));
});

Deno.test("a failed API call whose record cannot be rewritten is logged with the authorization, its event and the answer's path", async () => {
  using raw = await Deno.openKv(":memory:");
  // The decision is committed; once the API call fails, every write fails for good.
  let broken = false;
  const { kv } = refusingCommits(raw, () => broken, "database disk image is malformed");
  await using api = startFakeStripeApi();
  api.behaviour = "fail";
  api.onCall = () => broken = true;
  await using server = await startTestServer(
    apiEnv(api.url, { API_CALL_TIMEOUT_MS: "200", ADMIN_TOKEN }),
    { kv },
  );
  const event = authorizationEvent("online", { id: "iauth_api_broken" });
  const response = await server.postEvent(event);
  assertEquals([response.status, (await response.json()).approved], [200, true]);
  const failed = await pollUntil(
    "store_update_failed",
    () => Promise.resolve(server.logs.find((record) => record.msg === "store_update_failed")),
    (record) => record !== undefined,
    3_000,
  );
  assertEquals(
    [failed?.authorization_id, failed?.event_id, failed?.path],
    ["iauth_api_broken", (event as { id: string }).id, "respond_after_api_failure"],
  );
});

Deno.test("an increment's API call unsets the reasons its authorization's earlier request left in the metadata", async () => {
  await using api = startFakeStripeApi();
  await using server = await startTestServer(apiEnv(api.url), {
    policies: [amountCap({ usd: 10_000 }, { per: "request" })],
  });
  const id = "iauth_api_increment";
  const controllable = (amount: number) => ({ amount, is_amount_controllable: true });
  const first = requestEvent({ id, pending_request: controllable(15_000) }, [], "fuel");
  const increment = requestEvent({ id, pending_request: controllable(1_000) }, [{
    amount: 10_000,
  }], "fuel");
  for (const event of [first, increment]) await (await server.postEvent(event)).body?.cancel();
  const [limited, approved] = api.calls;
  assertEquals(limited.form["metadata[reason_1]"], "amount_over_cap:usd (amountCap)");
  assertEquals(approved.idempotencyKey, `issuing-authorizer:${id}:1:approve`);
  // Stripe merges metadata: each reason key the increment's decision does not set is unset.
  assertEquals([approved.form["metadata[reason_1]"], approved.form["metadata[reason_49]"]], [
    "",
    "",
  ]);
  assert(/^[0-9a-f]{12}$/.test(approved.form["metadata[policy_version]"]));
});

Deno.test("a second, different request at a position already sent through the API is declined directly, never sent as a second call", async () => {
  await using api = startFakeStripeApi();
  await using server = await startTestServer(apiEnv(api.url));
  const id = "iauth_api_same_position";
  const first = requestEvent({ id, pending_request: { amount: 5_000 } });
  const other = requestEvent({ id, pending_request: { amount: 5_100 } });
  other.id = `${first.id}_other`;
  assertEquals(await (await server.postEvent(first)).json(), { received: true });
  const body = await (await server.postEvent(other)).json();
  assertEquals([body.approved, body.metadata.reason_1], [
    false,
    "request_history_inconsistent:0 (store)",
  ]);
  assertEquals(api.calls.map((call) => call.idempotencyKey), [
    `issuing-authorizer:${id}:0:approve`,
  ]);
});

Deno.test("an API error that quotes the secret key is logged without it", async () => {
  await using api = startFakeStripeApi();
  await using server = await startTestServer(apiEnv(api.url));
  api.behaviour = "quote_key";
  const body = await (await server.postEvent(SCENARIOS.ordinary_grocery)).json();
  assertEquals(body.approved, true, "answered directly after the failed call");
  // As the log writes them: an error by its message.
  const logged = JSON.stringify(server.logs, (_, v) => v instanceof Error ? v.message : v);
  assert(logged.includes("Invalid API Key provided: Bearer [key]"), "the failed call is logged");
  assert(!logged.includes(SECRET_KEY));
});
