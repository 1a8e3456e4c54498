/**
 * State in Deno KV through the real service: the decision log, idempotency,
 * velocity limits under concurrency, reconciliation, release and the admin
 * queries.
 */
import type Stripe from "stripe";
import type { DecisionRecord } from "../lib/store/decision_store.ts";
import { spendLimit } from "../policies/spend_limit.ts";
import { assert, assertEquals } from "./_assert.ts";
import { startTestServer } from "./_helpers.ts";
import { authorizationEvent, authorizationOf } from "../fixtures/events.ts";

const ADMIN_TOKEN = "test-admin-token-0123456789abcdef";
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

function laterEvent(
  event: Stripe.Event,
  type: string,
  changes: Partial<Stripe.Issuing.Authorization>,
): Stripe.Event {
  const authorization = { ...authorizationOf(event), pending_request: null, ...changes };
  return {
    ...event,
    id: `${event.id}_${type}`,
    type: type as Stripe.Event["type"],
    data: { object: authorization },
  } as Stripe.Event;
}

function history(reason: string, approved: boolean, amount: number) {
  return [{
    amount,
    amount_details: null,
    approved,
    authorization_code: null,
    created: 1756300001,
    currency: "usd",
    merchant_amount: amount,
    merchant_currency: "usd",
    network_risk_score: null,
    reason,
    reason_message: null,
    requested_at: 1756300000,
  }] as unknown as Stripe.Issuing.Authorization.RequestHistory[];
}

async function getJson(url: string, headers: Record<string, string> = admin) {
  const response = await fetch(url, { headers });
  return { status: response.status, body: await response.json() };
}

Deno.test("a redelivered authorization gets the same answer, one log entry, and is counted once", async () => {
  await using server = await startTestServer({ ADMIN_TOKEN }, {
    policies: [spendLimit({ window: "daily", maxAmount: { usd: 10_000 } })],
  });
  const event = authorizationEvent("online", {
    id: "iauth_redelivered",
    pending_request: { amount: 6_000 },
  });
  const first = await (await server.postEvent(event)).json();
  const again = await (await server.postEvent(event, { signer: "stripe" })).json();
  assertEquals(again, first);
  assertEquals(first.approved, true);
  const { body } = await getJson(`${server.url}/decisions?card=${authorizationOf(event).card.id}`);
  assertEquals(body.data.length, 1, "one log entry");
  // Counted once: 4,000 left, so another 4,000 on the card still fits.
  const next = authorizationEvent("online", {
    id: "iauth_after_redelivery",
    pending_request: { amount: 4_000 },
  });
  assertEquals((await (await server.postEvent(next)).json()).approved, true);
  const decisions = server.logs.filter((record) => record.msg === "decision");
  assertEquals(decisions.map((record) => record.replayed), [false, true, false]);
});

Deno.test("200 concurrent requests on one card never approve more than its limit", async () => {
  await using server = await startTestServer({}, {
    policies: [spendLimit({ window: "daily", maxAmount: { usd: 100_00 } })],
  });
  const responses = await Promise.all(Array.from({ length: 200 }, async (_, i) => {
    const controllable = i % 3 === 0;
    const event = authorizationEvent(controllable ? "fuel" : "online", {
      id: `iauth_concurrent_${i}`,
      card: { id: "ic_concurrent" },
      pending_request: { amount: 50 + (i % 7) * 25, is_amount_controllable: controllable },
    });
    const body = await (await server.postEvent(event)).json();
    return { body, requested: authorizationOf(event).pending_request.amount };
  }));
  const approvedTotal = responses
    .filter(({ body }) => body.approved)
    .reduce((sum, { body, requested }) => sum + (body.amount ?? requested), 0);
  assert(approvedTotal <= 100_00, `approved ${approvedTotal} of a 10,000 limit`);
  assert(approvedTotal > 100_00 - 200, `the limit was used up (${approvedTotal})`);
  assert(responses.some(({ body }) => !body.approved), "some were declined");
});

Deno.test("decisions and counters persist across a restart on the same KV file", async () => {
  const dir = await Deno.makeTempDir();
  const env = { KV_PATH: `${dir}/state.sqlite3`, ADMIN_TOKEN };
  const policies = [spendLimit({ window: "daily", maxAmount: { usd: 10_000 } })];
  try {
    {
      await using server = await startTestServer(env, { policies });
      const event = authorizationEvent("online", {
        id: "iauth_persist_1",
        pending_request: { amount: 8_000 },
      });
      assertEquals((await (await server.postEvent(event)).json()).approved, true);
    }
    await using server = await startTestServer(env, { policies });
    const { status, body } = await getJson(`${server.url}/decisions/iauth_persist_1`);
    assertEquals([status, body.approved, body.requested_amount], [200, true, 8_000]);
    const next = authorizationEvent("online", {
      id: "iauth_persist_2",
      pending_request: { amount: 3_000 },
    });
    const answer = await (await server.postEvent(next)).json();
    assertEquals(answer.approved, false, "the 8,000 spent before the restart still counts");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the decision log records what was decided and why", async () => {
  await using server = await startTestServer({ ADMIN_TOKEN });
  const event = authorizationEvent("fuel", {
    id: "iauth_logged",
    pending_request: { amount: 25_000 },
  });
  await (await server.postEvent(event)).body?.cancel();
  const { body } = await getJson(`${server.url}/decisions/iauth_logged`);
  const record = body as DecisionRecord;
  assertEquals(record.event_id, event.id);
  assertEquals([record.card_id, record.cardholder_id], [
    authorizationOf(event).card.id,
    authorizationOf(event).card.cardholder.id,
  ]);
  assertEquals([record.requested_amount, record.currency, record.approved, record.amount], [
    25_000,
    "usd",
    true,
    10_000,
  ]);
  assertEquals([record.merchant_category, record.merchant_country], [
    "automated_fuel_dispensers",
    "US",
  ]);
  assertEquals(record.reasons, [{
    policy: "partialHold",
    code: "partial_hold",
    detail: "automated_fuel_dispensers",
  }]);
  assertEquals(record.trace.map((entry) => entry.policy), [
    "blockCategories",
    "amountCap",
    "partialHold",
    "spendLimit",
  ]);
  assertEquals(record.path, "respond");
  assert(/^[0-9a-f]{12}$/.test(record.policy_version));
  assertEquals(typeof record.latency_ms, "number");
  assertEquals(record.reservation.amount, 10_000);
});

Deno.test("reconciliation with issuing_authorization.created", async (t) => {
  await using server = await startTestServer({ ADMIN_TOKEN }, {
    policies: [spendLimit({ window: "daily", maxAmount: { usd: 10_000 } })],
  });
  const card = { id: "ic_reconcile" };

  await t.step("a matching webhook_approved is recorded as agreed", async () => {
    const event = authorizationEvent("online", {
      id: "iauth_agreed",
      card,
      pending_request: { amount: 2_000 },
    });
    await (await server.postEvent(event)).body?.cancel();
    const created = laterEvent(event, "issuing_authorization.created", {
      approved: true,
      amount: 2_000,
      status: "pending",
      request_history: history("webhook_approved", true, 2_000),
    });
    assertEquals((await server.postEvent(created)).status, 200);
    const { body } = await getJson(`${server.url}/decisions/iauth_agreed`);
    assertEquals(body.reconciliation.outcome, "agreed");
    assertEquals(body.reconciliation.stripe_reason, "webhook_approved");
  });

  await t.step(
    "webhook_timeout after our approval is flagged and the reservation follows Stripe's decline",
    async () => {
      const event = authorizationEvent("online", {
        id: "iauth_timeout",
        card,
        pending_request: { amount: 8_000 },
      });
      assertEquals((await (await server.postEvent(event)).json()).approved, true);
      // 10,000 - 2,000 - 8,000 = nothing left
      const probe = authorizationEvent("online", {
        id: "iauth_probe_1",
        card,
        pending_request: { amount: 1_000 },
      });
      assertEquals((await (await server.postEvent(probe)).json()).approved, false);

      const created = laterEvent(event, "issuing_authorization.created", {
        approved: false,
        amount: 8_000,
        status: "closed",
        request_history: history("webhook_timeout", false, 8_000),
      });
      await (await server.postEvent(created)).body?.cancel();
      const { body } = await getJson(`${server.url}/decisions/iauth_timeout`);
      assertEquals(body.reconciliation.outcome, "webhook_timeout");
      assertEquals(body.reservation.amount, 0);
      assert(
        server.logs.some((record) =>
          record.msg === "reconciled" && record.outcome === "webhook_timeout"
        ),
      );

      const after = authorizationEvent("online", {
        id: "iauth_probe_2",
        card,
        pending_request: { amount: 8_000 },
      });
      assertEquals(
        (await (await server.postEvent(after)).json()).approved,
        true,
        "the 8,000 was released",
      );
    },
  );

  await t.step(
    "an authorization that never reached us is logged as decided by Stripe alone",
    async () => {
      const event = authorizationEvent("online", {
        id: "iauth_stripe_only",
        card: { id: "ic_other" },
      });
      const created = laterEvent(event, "issuing_authorization.created", {
        approved: true,
        amount: 4_999,
        status: "pending",
        request_history: history("network_stip", true, 4_999),
      });
      await (await server.postEvent(created)).body?.cancel();
      const { body } = await getJson(`${server.url}/decisions/iauth_stripe_only`);
      assertEquals([body.path, body.reconciliation.outcome, body.reservation.amount], [
        "stripe_only",
        "stripe_only",
        4_999,
      ]);
    },
  );
});

Deno.test("issuing_authorization.updated releases what a reversed or expired authorization held", async () => {
  await using server = await startTestServer({ ADMIN_TOKEN }, {
    policies: [spendLimit({ window: "daily", maxAmount: { usd: 10_000 } })],
  });
  const card = { id: "ic_release" };
  const event = authorizationEvent("online", {
    id: "iauth_released",
    card,
    pending_request: { amount: 9_000 },
  });
  await (await server.postEvent(event)).body?.cancel();
  const blocked = authorizationEvent("online", {
    id: "iauth_blocked",
    card,
    pending_request: { amount: 5_000 },
  });
  assertEquals((await (await server.postEvent(blocked)).json()).approved, false);

  const reversed = laterEvent(event, "issuing_authorization.updated", {
    approved: true,
    amount: 0,
    status: "reversed",
  });
  assertEquals((await server.postEvent(reversed)).status, 200);
  const retry = authorizationEvent("online", {
    id: "iauth_after_release",
    card,
    pending_request: { amount: 5_000 },
  });
  assertEquals((await (await server.postEvent(retry)).json()).approved, true, "the limit is back");
});

Deno.test("admin routes: off without ADMIN_TOKEN, 401 without or with a wrong token, data with the right one", async (t) => {
  await t.step("off without ADMIN_TOKEN", async () => {
    await using server = await startTestServer();
    const response = await fetch(`${server.url}/decisions`);
    assertEquals(response.status, 404);
    await response.body?.cancel();
  });
  await using server = await startTestServer({ ADMIN_TOKEN });
  await (await server.postEvent(authorizationEvent("online", { id: "iauth_admin" }))).body
    ?.cancel();
  for (
    const [name, headers] of [
      ["no token", {}],
      ["wrong token", { authorization: "Bearer wrong" }],
      [
        "token without Bearer",
        { authorization: ADMIN_TOKEN },
      ],
    ] as const
  ) {
    await t.step(`${name} → 401`, async () => {
      for (const path of ["/decisions", "/decisions/iauth_admin"]) {
        const { status, body } = await getJson(`${server.url}${path}`, headers);
        assertEquals(status, 401);
        assertEquals(JSON.stringify(body).includes("iauth_admin"), false);
      }
    });
  }
  await t.step("right token → the decision, and the list newest first", async () => {
    await (await server.postEvent(authorizationEvent("online", { id: "iauth_admin_2" }))).body
      ?.cancel();
    assertEquals(
      (await getJson(`${server.url}/decisions/iauth_admin`)).body.authorization_id,
      "iauth_admin",
    );
    const { body } = await getJson(`${server.url}/decisions?limit=10`);
    assertEquals(body.data.map((record: DecisionRecord) => record.authorization_id), [
      "iauth_admin_2",
      "iauth_admin",
    ]);
    assertEquals((await getJson(`${server.url}/decisions/iauth_missing`)).status, 404);
    assertEquals((await getJson(`${server.url}/decisions?limit=0`)).status, 400);
  });
  await t.step("the token never appears in logs", () => {
    assertEquals(JSON.stringify(server.logs).includes(ADMIN_TOKEN), false);
  });
});
