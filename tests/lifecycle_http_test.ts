/**
 * Stripe's authorization lifecycle over HTTP with signed events: increments,
 * redeliveries of each request, API mode per request, reconciliation in any
 * order, captures and refunds, transactions without an authorization, every
 * outcome reason, card replacements and odd input.
 */
import type Stripe from "stripe";
import type { Policy } from "../lib/engine/policy.ts";
import { amountCap } from "../policies/amount_cap.ts";
import { countLimit } from "../policies/count_limit.ts";
import { spendLimit } from "../policies/spend_limit.ts";
import { assert, assertEquals } from "./_assert.ts";
import { startTestServer, type TestServer } from "./_helpers.ts";
import { authorizationOf } from "../fixtures/events.ts";
import {
  cardCreatedEvent,
  lifecycleEvent,
  requestEvent,
  transactionEvent,
} from "../fixtures/lifecycle.ts";

const ADMIN_TOKEN = "test-admin-token-0123456789abcdef";
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const DAILY_USD = 100_000;
const dailyLimit = () => spendLimit({ window: "daily", maxAmount: { usd: DAILY_USD } });

async function answer(server: TestServer, event: Stripe.Event) {
  const response = await server.postEvent(event);
  assertEquals(response.status, 200);
  return await response.json();
}

async function decision(server: TestServer, id: string) {
  const response = await server.decision(id);
  assertEquals(response.status, 200);
  return await response.json();
}

/** A request of `amount` on `card`, a replacement for `replaced` (Cards.d.ts `replacement_for`). */
function replacementRequest(id: string, card: string, replaced: string, amount: number) {
  const event = requestEvent({ id, card: { id: card }, pending_request: { amount } });
  (authorizationOf(event).card as { replacement_for: string }).replacement_for = replaced;
  return event;
}

/** Exactly `left` is left of the card's daily limit: `left` is approved, one more is not. */
async function assertLeftOnCard(server: TestServer, card: string, left: number): Promise<void> {
  assertEquals(await leftOnCard(server, card, left), true, `${left} left`);
  assertEquals(await leftOnCard(server, card, left + 1), false, `no more than ${left} left`);
}

/** What is left of the card's daily limit, probed with a fresh request (then reversed). */
async function leftOnCard(server: TestServer, card: string, probe: number): Promise<boolean> {
  const id = `iauth_probe_${crypto.randomUUID().slice(0, 8)}`;
  const event = requestEvent({ id, card: { id: card }, pending_request: { amount: probe } });
  const { approved } = await answer(server, event);
  if (approved) {
    await answer(
      server,
      lifecycleEvent(event, "issuing_authorization.updated", {
        status: "reversed",
        approved: true,
        amount: 0,
        requests: [{ amount: probe }],
      }),
    );
  }
  return approved;
}

/**
 * Our answer was late: Stripe approved `request` (of `amount`) by its timeout
 * setting and said so first; then the request reaches us. Whether we approved it.
 */
async function answeredAfterStripe(
  server: TestServer,
  request: Stripe.Event,
  amount: number,
): Promise<boolean> {
  await answer(
    server,
    lifecycleEvent(request, "issuing_authorization.created", {
      status: "pending",
      approved: true,
      amount,
      requests: [{ amount, reason: "webhook_timeout" }],
    }),
  );
  return (await answer(server, request)).approved;
}

/** Stripe's `.created` (pending, `amount` held) then `.updated` (expired, nothing captured); the history. */
async function createdThenExpired(server: TestServer, request: Stripe.Event, amount: number) {
  const history = [{ amount }];
  for (
    const [type, status, held] of [
      ["issuing_authorization.created", "pending", amount],
      ["issuing_authorization.updated", "expired", 0],
    ] as const
  ) {
    await answer(
      server,
      lifecycleEvent(request, type, { status, approved: true, amount: held, requests: history }),
    );
  }
  return history;
}

Deno.test("incremental authorizations: each increment is decided on its own amount and reserved", async (t) => {
  const seen: unknown[] = [];
  const recordHeld: Policy = function recordHeld(_authorization, context) {
    seen.push(context.held);
    return { outcome: "abstain" };
  };
  await using server = await startTestServer({ ADMIN_TOKEN }, {
    policies: [recordHeld, dailyLimit()],
  });
  const card = { id: "ic_hotel" };
  const id = "iauth_hotel";
  const first = requestEvent({ id, card, pending_request: { amount: 50_000 } });
  const second = requestEvent({ id, card, pending_request: { amount: 30_000 } }, [{
    amount: 50_000,
  }]);
  const third = requestEvent({ id, card, pending_request: { amount: 30_000 } }, [
    { amount: 50_000 },
    { amount: 30_000 },
  ]);

  await t.step("the first request and an increment within the limit are approved", async () => {
    assertEquals((await answer(server, first)).approved, true);
    assertEquals((await answer(server, second)).approved, true);
    assertEquals(seen, [{ amount: 0, requests: 0 }, { amount: 50_000, requests: 1 }]);
  });

  await t.step("an increment past the daily limit is declined by it", async () => {
    const body = await answer(server, third);
    assertEquals(body.approved, false);
    assertEquals(body.metadata.reason_1, "spend_limit_exceeded:daily:usd (spendLimit)");
  });

  await t.step("a declined increment leaves the earlier holds as they were", async () => {
    assertEquals(await leftOnCard(server, card.id, 20_000), true);
    assertEquals(await leftOnCard(server, card.id, 20_001), false);
  });

  await t.step(
    "a redelivery of an increment gets the same answer and is counted once",
    async () => {
      const again = await answer(server, second);
      assertEquals(again.approved, true);
      // Same request under another event id (same position and pending_request).
      const sameRequest = { ...second, id: "evt_hotel_1_other" };
      assertEquals((await answer(server, sameRequest)).approved, true);
      assertEquals(await leftOnCard(server, card.id, 20_000), true);
      const replays = server.logs.filter((r) => r.msg === "decision" && r.replayed);
      assertEquals(replays.length, 2);
    },
  );

  await t.step("the log holds every request of the authorization", async () => {
    const record = await decision(server, id);
    assertEquals(
      record.requests.map((r: { requested_amount: number; approved: boolean }) => [
        r.requested_amount,
        r.approved,
      ]),
      [[50_000, true], [30_000, true], [30_000, false]],
    );
    assertEquals(record.reservation.amount, 80_000);
    const list = await (await fetch(`${server.url}/decisions?card=${card.id}&limit=50`, {
      headers: admin,
    })).json();
    const ours = list.data.filter((r: { authorization_id: string }) => r.authorization_id === id);
    assertEquals(ours.length, 3);
  });
});

Deno.test("a limited amount-controllable increment answers a positive amount at most its request", async () => {
  await using server = await startTestServer({}, { policies: [dailyLimit()] });
  const card = { id: "ic_fuel_increment" };
  const id = "iauth_fuel_increment";
  const first = requestEvent({
    id,
    card,
    pending_request: { amount: 90_000, is_amount_controllable: true },
  });
  assertEquals((await answer(server, first)).approved, true);
  const increment = requestEvent(
    { id, card, pending_request: { amount: 30_000, is_amount_controllable: true } },
    [{ amount: 90_000 }],
  );
  const body = await answer(server, increment);
  assertEquals([body.approved, body.amount], [true, 10_000]);
  assertEquals(await leftOnCard(server, card.id, 1), false, "the limit is used up, not exceeded");
});

Deno.test("reconciliation is order-independent and idempotent", async (t) => {
  await using server = await startTestServer({ ADMIN_TOKEN }, { policies: [dailyLimit()] });

  await t.step("reversed before a late created: nothing held, never pending again", async () => {
    const card = { id: "ic_out_of_order" };
    const request = requestEvent({ id: "iauth_ooo", card, pending_request: { amount: 90_000 } });
    assertEquals((await answer(server, request)).approved, true);
    const reversed = lifecycleEvent(request, "issuing_authorization.updated", {
      status: "reversed",
      approved: true,
      amount: 0,
      requests: [{ amount: 90_000 }],
    });
    const created = lifecycleEvent(request, "issuing_authorization.created", {
      status: "pending",
      approved: true,
      amount: 90_000,
      requests: [{ amount: 90_000 }],
    });
    await answer(server, reversed);
    await answer(server, created);
    await answer(server, reversed);
    await answer(server, created);
    const record = await decision(server, "iauth_ooo");
    assertEquals([record.reconciliation.status, record.reservation.amount], ["reversed", 0]);
    assertEquals(record.reconciliation.outcome, "agreed");
    assertEquals(await leftOnCard(server, card.id, DAILY_USD), true);
  });

  await t.step(
    "a partial reversal reported before a late created: agreed, as in order",
    async () => {
      const card = { id: "ic_partial_out_of_order" };
      const id = "iauth_partial_ooo";
      const request = requestEvent({ id, card, pending_request: { amount: 90_000 } });
      assertEquals((await answer(server, request)).approved, true);
      const held = (type: "created" | "updated", amount: number) =>
        lifecycleEvent(request, `issuing_authorization.${type}`, {
          status: "pending",
          approved: true,
          amount,
          requests: [{ amount: 90_000 }],
        });
      await answer(server, held("updated", 30_000));
      await answer(server, held("created", 90_000));
      const record = await decision(server, id);
      assertEquals([record.reconciliation.outcome, record.reservation.amount], ["agreed", 30_000]);
      await assertLeftOnCard(server, card.id, DAILY_USD - 30_000);
    },
  );

  await t.step("a request on a reversed authorization is declined (failing closed)", async () => {
    const card = { id: "ic_after_reversal" };
    const id = "iauth_after_reversal";
    const request = requestEvent({ id, card, pending_request: { amount: 1_000 } });
    await answer(server, request);
    await answer(
      server,
      lifecycleEvent(request, "issuing_authorization.updated", {
        status: "reversed",
        approved: true,
        amount: 0,
        requests: [{ amount: 1_000 }],
      }),
    );
    const increment = requestEvent({ id, card, pending_request: { amount: 500 } }, [{
      amount: 1_000,
    }]);
    const body = await answer(server, increment);
    assertEquals(body.approved, false);
    assertEquals(body.metadata.reason_1, "authorization_final:1 (store)");
  });

  await t.step("captures and refunds are signed as Stripe signs them", async () => {
    const card = { id: "ic_capture_refund" };
    const request = requestEvent({
      id: "iauth_capture",
      card,
      pending_request: { amount: 50_000 },
    });
    await answer(server, request);
    const closedOrder = [
      lifecycleEvent(request, "issuing_authorization.updated", {
        status: "closed",
        approved: true,
        amount: 50_000,
        requests: [{ amount: 50_000 }],
        transactions: [-50_000, 15_000],
      }),
      lifecycleEvent(request, "issuing_authorization.updated", {
        status: "closed",
        approved: true,
        amount: 50_000,
        requests: [{ amount: 50_000 }],
        transactions: [-50_000],
      }),
    ];
    for (const event of closedOrder) await answer(server, event);
    const record = await decision(server, "iauth_capture");
    assertEquals(record.reservation.amount, 35_000, "50,000 captured, 15,000 refunded");
    assertEquals(record.reconciliation.captured, 35_000);
    assertEquals(await leftOnCard(server, card.id, 65_000), true);
    assertEquals(await leftOnCard(server, card.id, 65_001), false);
  });
});

Deno.test("a request logged after Stripe's lifecycle event holds what Stripe holds, once", async () => {
  await using server = await startTestServer({ ADMIN_TOKEN }, { policies: [dailyLimit()] });
  const card = { id: "ic_late_answer" };
  const request = requestEvent({
    id: "iauth_late_answer",
    card,
    pending_request: { amount: 9_000 },
  });
  assertEquals(await answeredAfterStripe(server, request, 9_000), true);
  const record = await decision(server, "iauth_late_answer");
  assertEquals([record.reservation.amount, record.reconciliation.outcome], [
    9_000,
    "webhook_timeout",
  ]);
  await assertLeftOnCard(server, card.id, DAILY_USD - 9_000);
});

Deno.test("a late request whose lifecycle event came first, on a day after Stripe created it, holds once across the days", async () => {
  await using server = await startTestServer({ ADMIN_TOKEN }, { policies: [dailyLimit()] });
  const card = { id: "ic_late_across_days" };
  const request = requestEvent({
    id: "iauth_late_across_days",
    card,
    pending_request: { amount: 9_000 },
  });
  // Stripe created it a day before our request reached us (as across midnight, in daily windows).
  const created = Math.floor(Date.now() / 1000) - 86_400;
  authorizationOf(request).created = created;
  request.created = created;
  assertEquals(await answeredAfterStripe(server, request, 9_000), true);
  // Held today, where the request was decided, and no longer on the day Stripe created it.
  await assertLeftOnCard(server, card.id, DAILY_USD - 9_000);
  const record = await decision(server, "iauth_late_across_days");
  assertEquals(record.reservation.amount, 9_000);
});

Deno.test("issuing_transaction.created without an authorization adjusts the spend counters once", async () => {
  await using server = await startTestServer({}, { policies: [dailyLimit()] });
  const card = { id: "ic_force_capture" };
  const request = requestEvent({ id: "iauth_unrelated", card });
  const forceCapture = transactionEvent(request, {
    id: "ipi_force",
    amount: -70_000,
    linked: false,
  });
  await answer(server, forceCapture);
  await answer(server, forceCapture);
  assertEquals(await leftOnCard(server, card.id, 30_000), true);
  assertEquals(await leftOnCard(server, card.id, 30_001), false);
  await answer(
    server,
    transactionEvent(request, { id: "ipi_refund", amount: 20_000, linked: false }),
  );
  assertEquals(await leftOnCard(server, card.id, 50_000), true);
  assertEquals(await leftOnCard(server, card.id, 50_001), false);
  const linked = transactionEvent(request, { id: "ipi_linked", amount: -10_000, linked: true });
  await answer(server, linked);
  assertEquals(
    await leftOnCard(server, card.id, 50_000),
    true,
    "linked ones count via their authorization",
  );
});

Deno.test("a capture linked to an authorization that already expired still counts, once", async () => {
  // Stripe may capture an expired authorization later (Transactions.d.ts: `authorization` "the
  // Authorization object that led to this transaction"); no `.updated` follows that is documented,
  // so the transaction event itself must reach the counters, merged with the lifecycle by its id.
  await using server = await startTestServer({}, { policies: [dailyLimit()] });
  const card = { id: "ic_late_capture" };
  const request = requestEvent({ id: "iauth_late", card, pending_request: { amount: 50_000 } });
  assertEquals((await answer(server, request)).approved, true);
  const history = await createdThenExpired(server, request, 50_000);
  assertEquals(await leftOnCard(server, card.id, DAILY_USD), true, "expiry released the hold");

  // The id Stripe gives the transaction is the one later lifecycle events list it under.
  const capture = transactionEvent(request, { id: "ipi_late_0", amount: -40_000, linked: true });
  await answer(server, capture);
  await answer(server, capture);
  await assertLeftOnCard(server, card.id, DAILY_USD - 40_000);

  // An `.updated` listing the same transaction afterwards does not count it again.
  await answer(
    server,
    lifecycleEvent(request, "issuing_authorization.updated", {
      status: "expired",
      approved: true,
      amount: 0,
      requests: history,
      transactions: [-40_000],
    }),
  );
  await assertLeftOnCard(server, card.id, DAILY_USD - 40_000);
});

Deno.test("a linked capture that arrives before its authorization's lifecycle events joins the first snapshot", async () => {
  await using server = await startTestServer({}, { policies: [dailyLimit()] });
  const card = { id: "ic_early_capture" };
  const request = requestEvent({ id: "iauth_early", card, pending_request: { amount: 50_000 } });
  assertEquals((await answer(server, request)).approved, true);
  await answer(
    server,
    transactionEvent(request, { id: "ipi_early_late", amount: -40_000, linked: true }),
  );
  // Expired without listing the capture (made after the hold lapsed): it still counts.
  await createdThenExpired(server, request, 50_000);
  await assertLeftOnCard(server, card.id, DAILY_USD - 40_000);
});

Deno.test("an authorization reconciled before transactions were kept by id is never under-counted", async () => {
  using kv = await Deno.openKv(":memory:");
  await using server = await startTestServer({}, { policies: [dailyLimit()], kv });
  const card = { id: "ic_legacy" };
  const request = requestEvent({ id: "iauth_legacy", card, pending_request: { amount: 50_000 } });
  assertEquals((await answer(server, request)).approved, true);
  const history = [{ amount: 50_000 }];
  await answer(
    server,
    lifecycleEvent(request, "issuing_authorization.updated", {
      status: "closed",
      approved: true,
      amount: 50_000,
      requests: history,
      transactions: [-50_000],
    }),
  );
  // Stored as the previous version stored it: a count of transactions, their net in `captured`.
  const key = ["authorization", "iauth_legacy"];
  const state = (await kv.get<{ stripe: Record<string, unknown> }>(key)).value!;
  await kv.set(key, { ...state, stripe: { ...state.stripe, transactions: 1 } });

  // A linked refund cannot be told from the capture already counted: left to the lifecycle.
  await answer(
    server,
    transactionEvent(request, { id: "ipi_legacy_1", amount: 10_000, linked: true }),
  );
  await assertLeftOnCard(server, card.id, DAILY_USD - 50_000);
  await answer(
    server,
    lifecycleEvent(request, "issuing_authorization.updated", {
      status: "closed",
      approved: true,
      amount: 50_000,
      requests: history,
      transactions: [-50_000, 10_000],
    }),
  );
  await assertLeftOnCard(server, card.id, DAILY_USD - 40_000);
});

Deno.test("a long request_history, each entry with a 1,000-character reason message, is reconciled (not a 503 Stripe would retry for days)", async () => {
  await using server = await startTestServer({ ADMIN_TOKEN }, { policies: [dailyLimit()] });
  const id = "iauth_long_messages";
  const request = requestEvent({ id, card: { id: "ic_long_messages" } });
  await answer(server, request);
  const message = (i: number) =>
    `${i}: ${"amount must be a positive integer ".repeat(30)}`.slice(0, 1_000);
  const response = await server.postEvent(
    lifecycleEvent(request, "issuing_authorization.updated", {
      status: "closed",
      approved: false,
      amount: 0,
      requests: Array.from({ length: 100 }, (_, i) => ({
        amount: 100,
        approved: false,
        reason: "webhook_error" as const,
        reason_message: message(i),
      })),
    }),
  );
  assertEquals(response.status, 200);
  await response.body?.cancel();
  const { reconciliation } = await decision(server, id);
  assertEquals([reconciliation.outcome, reconciliation.stripe_reason_message], [
    "webhook_error",
    message(99),
  ]);
});

Deno.test("an authorization that never reached us, too large to log whole (a 14,000-character merchant name), is logged trimmed and holds Stripe's amount", async () => {
  await using server = await startTestServer({ ADMIN_TOKEN }, { policies: [dailyLimit()] });
  const id = "iauth_unseen_long_name";
  const card = { id: "ic_unseen_long_name" };
  const unseen = requestEvent({ id, card, pending_request: { amount: 40_000 } });
  authorizationOf(unseen).merchant_data.name = "語".repeat(14_000);
  await answer(
    server,
    lifecycleEvent(unseen, "issuing_authorization.created", {
      status: "pending",
      approved: true,
      amount: 40_000,
      requests: [{ amount: 40_000, reason: "webhook_timeout" }],
    }),
  );
  const logged = await decision(server, id);
  assertEquals([logged.path, logged.trimmed?.at(-1)], ["stripe_only", "long text"]);
  await assertLeftOnCard(server, card.id, DAILY_USD - 40_000);
});

Deno.test("after a partial reversal an increment is capped on what the authorization still holds", async () => {
  // 1,000.00 per authorization: 900.00, 700.00 of it reversed, then 500.00 more holds 700.00 in all.
  await using server = await startTestServer({ ADMIN_TOKEN }, {
    policies: [amountCap({ usd: 100_000 }), dailyLimit()],
  });
  /** Whether the authorization's third request, of `last`, is approved. */
  async function thirdApproved(id: string, last: number): Promise<boolean> {
    const card = { id: `ic_${id}` };
    const first = requestEvent({ id, card, pending_request: { amount: 90_000 } });
    assertEquals((await answer(server, first)).approved, true);
    for (const [type, amount] of [["created", 90_000], ["updated", 20_000]] as const) {
      await answer(
        server,
        lifecycleEvent(first, `issuing_authorization.${type}`, {
          status: "pending",
          approved: true,
          amount,
          requests: [{ amount: 90_000 }],
        }),
      );
    }
    const history = [{ amount: 90_000 }, { amount: 50_000 }];
    const increment = (position: number, amount: number) => {
      const event = requestEvent(
        { id, card, pending_request: { amount } },
        history.slice(0, position),
      );
      authorizationOf(event).amount = position === 1 ? 20_000 : 70_000;
      return event;
    };
    assertEquals((await answer(server, increment(1, 50_000))).approved, true);
    return (await answer(server, increment(2, last))).approved;
  }
  // 700.00 held now: 300.00 more reaches the cap, 300.01 passes it.
  assertEquals(await thirdApproved("iauth_reversed_at_cap", 30_000), true);
  assertEquals(await thirdApproved("iauth_reversed_over_cap", 30_001), false);
  // Stripe then holds 1,000.00 of the 1,700.00 we approved in all: the reversal, not a mismatch.
  const id = "iauth_reversed_at_cap";
  const requests = [{ amount: 90_000 }, { amount: 50_000 }, { amount: 30_000 }];
  const last = requestEvent({ id, card: { id: `ic_${id}` } }, requests.slice(0, 2));
  await answer(
    server,
    lifecycleEvent(last, "issuing_authorization.updated", {
      status: "pending",
      approved: true,
      amount: 100_000,
      requests,
    }),
  );
  assertEquals((await decision(server, id)).reconciliation.outcome, "agreed");
});

Deno.test("every request_history reason maps to a documented outcome, and amounts are compared", async (t) => {
  await using server = await startTestServer({ ADMIN_TOKEN }, { policies: [dailyLimit()] });
  const cases: [string, boolean, string][] = [
    ["webhook_approved", true, "agreed"],
    ["webhook_declined", false, "mismatch"],
    ["webhook_timeout", false, "webhook_timeout"],
    ["webhook_error", false, "webhook_error"],
    ["network_fallback", true, "network_decided"],
    ["card_active", true, "network_decided"],
    ["stripe_internal_error", false, "stripe_error"],
    ["spending_controls", false, "stripe_declined"],
    ["insufficient_funds", false, "stripe_declined"],
    ["a_reason_from_the_future", false, "unknown_reason"],
  ];
  /** The reconciliation outcome of a 1,000 request we answered, once Stripe reports each of `reports`. */
  async function outcomeOf(name: string, ...reports: Parameters<typeof lifecycleEvent>[2][]) {
    const id = `iauth_${name}`;
    const request = requestEvent({
      id,
      card: { id: `ic_${name}` },
      pending_request: { amount: 1_000 },
    });
    await answer(server, request);
    for (const stripe of reports) {
      await answer(server, lifecycleEvent(request, "issuing_authorization.updated", stripe));
    }
    return (await decision(server, id)).reconciliation.outcome;
  }
  for (const [reason, approved, outcome] of cases) {
    await t.step(`${reason} → ${outcome}`, async () => {
      const reconciled = await outcomeOf(`reason_${reason}`, {
        status: approved ? "pending" : "closed",
        approved,
        amount: 1_000,
        requests: [{ amount: 1_000, approved, reason: reason as never }],
      });
      assertEquals(reconciled, outcome);
    });
  }
  // Stripe's amount against the 1,000 we approved: more is a mismatch, and so is less, unless Stripe
  // held our amount before (a partial reversal: "authorized_amount and held_amount will be reduced").
  const holding = (amount: number) => ({
    status: "pending",
    approved: true,
    amount,
    requests: [{ amount: 1_000 }],
  });
  const amounts: [string, number[], string][] = [
    ["an approved amount above ours is a mismatch", [1_500], "mismatch"],
    ["an approved amount below ours from Stripe's first report is a mismatch", [400], "mismatch"],
    ["a partial reversal after Stripe held our amount is agreed", [1_000, 400], "agreed"],
  ];
  for (const [name, reported, outcome] of amounts) {
    await t.step(name, async () => {
      const reconciled = await outcomeOf(`amount_${reported.join("_")}`, ...reported.map(holding));
      assertEquals(reconciled, outcome);
    });
  }
  await t.step(
    "an authorization that never reached us is stripe_only and holds Stripe's amount",
    async () => {
      const request = requestEvent({ id: "iauth_never_seen", card: { id: "ic_never" } });
      await answer(
        server,
        lifecycleEvent(request, "issuing_authorization.created", {
          status: "pending",
          approved: true,
          amount: 99_000,
          requests: [{ amount: 99_000, reason: "webhook_timeout" }],
        }),
      );
      const record = await decision(server, "iauth_never_seen");
      assertEquals([record.path, record.reconciliation.outcome, record.reservation.amount], [
        "stripe_only",
        "stripe_only",
        99_000,
      ]);
      assertEquals(await leftOnCard(server, "ic_never", 1_001), false);
    },
  );
});

Deno.test("an increment after Stripe decided the first request without us counts what Stripe holds", async () => {
  await using server = await startTestServer({}, { policies: [amountCap({ usd: 10_000 })] });
  const first = requestEvent({ id: "iauth_timed_out_first", pending_request: { amount: 9_000 } });
  const stripeApproved = [{ amount: 9_000, reason: "webhook_timeout" }];
  const created = lifecycleEvent(first, "issuing_authorization.created", {
    status: "pending",
    approved: true,
    amount: 9_000,
    requests: stripeApproved,
  });
  assertEquals((await server.postEvent(created)).status, 200);
  const increment = requestEvent({
    id: "iauth_timed_out_first",
    pending_request: { amount: 9_000 },
  }, stripeApproved);
  const body = await answer(server, increment);
  assertEquals(body.approved, false, "9,000 held + 9,000 more passes the 10,000 cap");
});

Deno.test("an increment after Stripe approved a request we declined counts what Stripe holds", async () => {
  await using server = await startTestServer({ ADMIN_TOKEN }, {
    policies: [amountCap({ usd: 10_000 })],
  });
  const id = "iauth_declined_then_timed_out";
  const first = await answer(server, requestEvent({ id, pending_request: { amount: 15_000 } }));
  assertEquals(first.approved, false, "over the cap");
  // Our decline came too late: Stripe's timeout setting approved the 15,000 (request_history).
  const increment = requestEvent({ id, pending_request: { amount: 1_000 } }, [
    { amount: 15_000, reason: "webhook_timeout" },
  ]);
  const body = await answer(server, increment);
  assertEquals(body.approved, false, "15,000 held + 1,000 more passes the 10,000 cap");
  assertEquals((await decision(server, id)).held, { amount: 15_000, requests: 1 });
});

Deno.test("a force capture on a replacement card, its card an id as Stripe sends it, spends on the chain", async () => {
  await using server = await startTestServer({}, { policies: [dailyLimit()] });
  const first = replacementRequest("iauth_chain_spend", "ic_chain_new", "ic_chain_old", 10_000);
  assertEquals((await answer(server, first)).approved, true);
  const capture = transactionEvent(first, {
    id: "ipi_chain_force",
    amount: -90_000,
    linked: false,
  });
  (capture.data.object as Stripe.Issuing.Transaction).card = "ic_chain_new";
  assertEquals((await server.postEvent(capture)).status, 200);
  const next = replacementRequest("iauth_chain_after", "ic_chain_new", "ic_chain_old", 5_000);
  const body = await answer(server, next);
  assertEquals(body.approved, false, "10,000 + 90,000 spent of the chain's 100,000");
});

Deno.test("per-card velocity follows the replacement_for chain", async () => {
  await using server = await startTestServer({}, { policies: [dailyLimit()] });
  const lost = requestEvent({
    id: "iauth_old_card",
    card: { id: "ic_lost" },
    pending_request: { amount: 60_000 },
  });
  assertEquals((await answer(server, lost)).approved, true);
  const replacement = replacementRequest("iauth_new_card", "ic_replacement", "ic_lost", 60_000);
  const body = await answer(server, replacement);
  assertEquals(body.approved, false, "the replaced card's spend counts");
  assert(body.metadata.reason_1.startsWith("spend_limit_exceeded:daily"), body.metadata.reason_1);
  const withinLimit = replacementRequest(
    "iauth_new_card_small",
    "ic_replacement",
    "ic_lost",
    30_000,
  );
  assertEquals((await answer(server, withinLimit)).approved, true, "what the chain has left");
  const second = replacementRequest(
    "iauth_second_replacement",
    "ic_replacement_2",
    "ic_replacement",
    10_001,
  );
  const upTheChain = await answer(server, second);
  assertEquals(upTheChain.approved, false, "up the chain");
  assert(
    upTheChain.metadata.reason_1.startsWith("spend_limit_exceeded:daily"),
    upTheChain.metadata.reason_1,
  );
});

Deno.test("an authorization counts toward a count limit once it holds an amount, whether or not its lifecycle event has arrived", async (t) => {
  for (const lifecycle of [false, true]) {
    await t.step(lifecycle ? "after issuing_authorization.created" : "before it", async () => {
      await using server = await startTestServer({}, {
        policies: [countLimit({ window: "daily", maxCount: 1 })],
      });
      const card = { id: `ic_zero_check_${lifecycle}` };
      const check = requestEvent({ id: "iauth_zero_check", card, pending_request: { amount: 0 } });
      assertEquals((await answer(server, check)).approved, true);
      if (lifecycle) {
        await answer(
          server,
          lifecycleEvent(check, "issuing_authorization.created", {
            status: "pending",
            approved: true,
            amount: 0,
            requests: [{ amount: 0 }],
          }),
        );
      }
      const purchase = (id: string) =>
        requestEvent({ id, card, pending_request: { amount: 2_500 } });
      assertEquals((await answer(server, purchase("iauth_after_check"))).approved, true);
      assertEquals((await answer(server, purchase("iauth_second_purchase"))).approved, false);
    });
  }
});

Deno.test("an increment of the one authorization a count limit allows is not declined for the count", async () => {
  await using server = await startTestServer({}, {
    policies: [countLimit({ window: "daily", maxCount: 1 })],
  });
  const card = { id: "ic_count_increment" };
  const hotel = requestEvent({
    id: "iauth_count_hotel",
    card,
    pending_request: { amount: 10_000 },
  });
  assertEquals((await answer(server, hotel)).approved, true);
  const increment = requestEvent(
    { id: "iauth_count_hotel", card, pending_request: { amount: 5_000 } },
    [{ amount: 10_000 }],
  );
  assertEquals((await answer(server, increment)).approved, true);
  const another = requestEvent({
    id: "iauth_count_other",
    card,
    pending_request: { amount: 1_000 },
  });
  assertEquals((await answer(server, another)).approved, false);
});

Deno.test("per-merchant counters follow the replacement_for chain too", async () => {
  await using server = await startTestServer({}, {
    policies: [countLimit({ window: "daily", maxCount: 1, perMerchant: true })],
  });
  const old = requestEvent({ id: "iauth_merchant_old", card: { id: "ic_merchant_lost" } });
  assertEquals((await answer(server, old)).approved, true);
  const replacement = replacementRequest(
    "iauth_merchant_new",
    "ic_merchant_new",
    "ic_merchant_lost",
    1_000,
  );
  assertEquals(
    (await answer(server, replacement)).approved,
    false,
    "the lost card's approval at this merchant counts on its replacement",
  );
});

Deno.test("a replacement chain stays whole through cards that never made a request, whatever order their issuing_card.created events arrive in", async (t) => {
  for (const order of ["in order", "out of order"] as const) {
    await t.step(order, async () => {
      await using server = await startTestServer({}, { policies: [dailyLimit()] });
      const card = (name: string) => `ic_chain_${name}_${order.replaceAll(" ", "_")}`;
      const used = requestEvent({
        id: `iauth_chain_first_${order}`,
        card: { id: card("a") },
        pending_request: { amount: 60_000 },
      });
      assertEquals((await answer(server, used)).approved, true);
      const links: [string, string][] = [[card("b"), card("a")], [card("c"), card("b")]];
      if (order === "out of order") links.reverse();
      for (const [replacement, replaced] of links) {
        const response = await server.postEvent(cardCreatedEvent(used, replacement, replaced));
        assertEquals(response.status, 200);
        await response.body?.cancel();
      }
      const third = replacementRequest(`iauth_chain_third_${order}`, card("c"), card("b"), 60_000);
      const body = await answer(server, third);
      assertEquals(body.approved, false, "the first card's spend counts two replacements later");
      assert(body.metadata.reason_1.startsWith("spend_limit_exceeded:daily"));
      // A force capture on the newest card, its card an id as Stripe sends it, spends on the chain.
      const capture = transactionEvent(third, {
        id: `ipi_chain_${order}`,
        amount: -35_000,
        linked: false,
      });
      (capture.data.object as Stripe.Issuing.Transaction).card = card("c");
      assertEquals((await server.postEvent(capture)).status, 200);
      await assertLeftOnCard(server, card("a"), 5_000); // 100,000 − 60,000 − 35,000
    });
  }
});
/** `card`'s request `id` of 60,000, approved: its chain has 40,000 of the daily 100,000 left. */
async function firstCardSpends(
  server: TestServer,
  id: string,
  card: string,
): Promise<Stripe.Event> {
  const event = requestEvent({ id, card: { id: card }, pending_request: { amount: 60_000 } });
  assertEquals((await answer(server, event)).approved, true);
  return event;
}

/** Two services on one KV file, as two processes; the file is removed when disposed. */
async function twoProcesses() {
  const dir = await Deno.makeTempDir();
  const env = { KV_PATH: `${dir}/kv.sqlite3` };
  const one = await startTestServer(env, { policies: [dailyLimit()] });
  const two = await startTestServer(env, { policies: [dailyLimit()] });
  return {
    one,
    two,
    async [Symbol.asyncDispose]() {
      await one[Symbol.asyncDispose]();
      await two[Symbol.asyncDispose]();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("spend on a replacement made while its chain was known only in part counts on the chain once the rest is learned, in every process", async () => {
  await using processes = await twoProcesses();
  const { one: server, two: other } = processes;
  const card = (name: string) => `ic_partial_chain_${name}`;
  const first = await firstCardSpends(server, "iauth_partial_first", card("a"));
  const learn = async (replacement: string, replaced: string) => {
    const response = await server.postEvent(cardCreatedEvent(first, replacement, replaced));
    assertEquals(response.status, 200);
    await response.body?.cancel();
  };
  // Only d → c is known when d first spends: its chain starts at c, which holds the 30,000.
  await learn(card("d"), card("c"));
  const early = replacementRequest("iauth_partial_early", card("d"), card("c"), 30_000);
  assertEquals((await answer(server, early)).approved, true);
  // Then c → b and b → a: d's chain reaches a, and a's 60,000 and d's 30,000 both count.
  await learn(card("c"), card("b"));
  await learn(card("b"), card("a"));
  const over = replacementRequest("iauth_partial_over", card("d"), card("c"), 10_001);
  assertEquals((await answer(server, over)).approved, false, "90,000 + 10,001 is over 100,000");
  const later = replacementRequest("iauth_partial_later", card("d"), card("c"), 9_000);
  assertEquals((await answer(server, later)).approved, true, "99,000 of 100,000");
  // The other process, which never resolved the chain, decides for e, d's replacement.
  const e = (id: string, amount: number) => replacementRequest(id, card("e"), card("d"), amount);
  assertEquals((await answer(other, e("iauth_partial_e_over", 1_001))).approved, false);
  assertEquals((await answer(other, e("iauth_partial_e_exact", 1_000))).approved, true);
});

Deno.test("a chain that grows in another process is followed at the next request, not a minute later", async () => {
  await using processes = await twoProcesses();
  const { one, two } = processes;
  const card = (name: string) => `ic_grown_${name}`;
  await firstCardSpends(one, "iauth_grown_first", card("a"));
  // c replaces b, whose own link is not known yet: one resolves c's chain as c → b.
  const c = (id: string, amount: number) => replacementRequest(id, card("c"), card("b"), amount);
  assertEquals((await answer(one, c("iauth_grown_c1", 30_000))).approved, true);
  // b's first request, in the other process, tells b → a and spends under a.
  const b = replacementRequest("iauth_grown_b", card("b"), card("a"), 1_000);
  assertEquals((await answer(two, b)).approved, true);
  assertEquals((await answer(one, c("iauth_grown_c_over", 9_001))).approved, false);
  assertEquals((await answer(one, c("iauth_grown_c_exact", 9_000))).approved, true);
});

Deno.test("the links an expanded replacement_for tells are stored, for processes that never saw the event", async () => {
  await using processes = await twoProcesses();
  const { one, two } = processes;
  const card = (name: string) => `ic_nested_${name}`;
  const first = await firstCardSpends(one, "iauth_nested_first", card("a"));
  // c's event expands what it replaces: b, which replaces a.
  const nested = requestEvent({
    id: "iauth_nested_c",
    card: { id: card("c") },
    pending_request: { amount: 30_000 },
  });
  (authorizationOf(nested).card as { replacement_for: unknown }).replacement_for = {
    ...structuredClone(authorizationOf(first).card),
    id: card("b"),
    replacement_for: card("a"),
  };
  assertEquals((await answer(one, nested)).approved, true);
  const d = (id: string, amount: number) => replacementRequest(id, card("d"), card("c"), amount);
  assertEquals((await answer(two, d("iauth_nested_d_over", 10_001))).approved, false);
  assertEquals((await answer(two, d("iauth_nested_d_exact", 10_000))).approved, true);
});

Deno.test("a chain link stored before links named the replaced card (the chain's first, under card_root) is still followed", async () => {
  using kv = await Deno.openKv(":memory:");
  await using server = await startTestServer({}, { policies: [dailyLimit()], kv });
  await firstCardSpends(server, "iauth_legacy_link_first", "ic_legacy_link_a");
  // As versions before card_replaces stored b, which replaced a: its chain's first card.
  await kv.set(["card_root", "ic_legacy_link_b"], "ic_legacy_link_a");
  const c = (id: string, amount: number) =>
    replacementRequest(id, "ic_legacy_link_c", "ic_legacy_link_b", amount);
  assertEquals((await answer(server, c("iauth_legacy_link_over", 40_001))).approved, false);
  assertEquals((await answer(server, c("iauth_legacy_link_exact", 40_000))).approved, true);
});

Deno.test("a chain followed through a link an earlier version stored is read anew until its cards store their own", async () => {
  using kv = await Deno.openKv(":memory:");
  await using server = await startTestServer({}, { policies: [dailyLimit()], kv });
  const card = (name: string) => `ic_upgrade_${name}`;
  const spend = (id: string, on: string, replaced: string | null, amount: number) => {
    const event = requestEvent({ id, card: { id: on }, pending_request: { amount } });
    (authorizationOf(event).card as { replacement_for: string | null }).replacement_for = replaced;
    return answer(server, event);
  };
  assertEquals((await spend("iauth_upgrade_a", card("a"), null, 60_000)).approved, true);
  // b spent as its chain's first card, before b → a was known.
  assertEquals((await spend("iauth_upgrade_b", card("b"), null, 30_000)).approved, true);
  // What an earlier version stored: each card linked to its chain's first card, c's skipping b.
  await kv.set(["card_root", card("c")], card("a"));
  await kv.set(["card_root", card("b")], card("a"));
  assertEquals((await spend("iauth_upgrade_d1", card("d"), card("c"), 1_000)).approved, true);
  // c's request stores c → b: d's chain now goes through b, and b's 30,000 counts.
  assertEquals((await spend("iauth_upgrade_c", card("c"), card("b"), 1_000)).approved, true);
  assertEquals((await spend("iauth_upgrade_d_over", card("d"), card("c"), 8_001)).approved, false);
  assertEquals((await spend("iauth_upgrade_d_exact", card("d"), card("c"), 8_000)).approved, true);
});

Deno.test("a chain too long to read every card's rolling counters in one commit is still decided, its first card's spend counted", async () => {
  // 10 buckets per rolling window and per card: 16 cards would be 160 keys against KV's 100 checks.
  const rolling = spendLimit({ window: { rollingMinutes: 60 }, maxAmount: { usd: DAILY_USD } });
  await using server = await startTestServer({}, { policies: [rolling] });
  const card = (n: number) => `ic_long_chain_${n}`;
  const first = await firstCardSpends(server, "iauth_long_first", card(0));
  for (let n = 1; n < 16; n++) {
    const response = await server.postEvent(cardCreatedEvent(first, card(n), card(n - 1)));
    assertEquals(response.status, 200);
    await response.body?.cancel();
  }
  const over = await answer(
    server,
    replacementRequest("iauth_long_over", card(16), card(15), 40_001),
  );
  assertEquals([over.approved, over.metadata.reason_1.startsWith("spend_limit_exceeded")], [
    false,
    true,
  ]);
  const exact = await answer(
    server,
    replacementRequest("iauth_long_exact", card(16), card(15), 40_000),
  );
  assertEquals(exact.approved, true, "60,000 + 40,000 is the 100,000");
});

Deno.test("odd requests are declined and recorded, with one log line, never a 5xx", async (t) => {
  await using server = await startTestServer({ ADMIN_TOKEN }, { policies: [dailyLimit()] });
  const card = { id: "ic_odd" };
  const cases: [string, Stripe.Event, string][] = [];
  const missing = requestEvent({ id: "iauth_no_history", card });
  delete (authorizationOf(missing) as { request_history?: unknown }).request_history;
  cases.push(["missing request_history", missing, "request_history_missing:none (store)"]);
  const zero = requestEvent({ id: "iauth_zero", card, pending_request: { amount: 0 } }, [{
    amount: 1_000,
  }]);
  cases.push(["a zero increment", zero, "amount_not_positive:1 (store)"]);
  const negative = requestEvent({ id: "iauth_negative", card, pending_request: { amount: -500 } });
  cases.push(["a negative amount", negative, "amount_not_positive:0 (store)"]);
  const nullEntry = requestEvent({ id: "iauth_history_null", card }, [{ amount: 1_000 }]);
  (authorizationOf(nullEntry).request_history as unknown[])[0] = null;
  cases.push(["a null request_history entry", nullEntry, "request_history_inconsistent:1 (store)"]);
  // Held amounts Stripe could not have held: each would have let the cap count less than held.
  for (const [name, amount] of [["negative", -10_000_000], ["fractional", 0.5], ["text", "01"]]) {
    const event = requestEvent({ id: `iauth_history_${name}`, card }, [{ amount: 1_000 }]);
    authorizationOf(event).request_history[0].amount = amount as number;
    cases.push([
      `a request_history amount that is ${name}`,
      event,
      "request_history_inconsistent:1 (store)",
    ]);
  }
  // The pipeline's version, as a decision it made carries it.
  const decided = await answer(server, requestEvent({ id: "iauth_odd_version", card }));
  const version = decided.metadata.policy_version;
  assert(typeof version === "string" && version !== "");
  for (const [name, event, reason] of cases) {
    await t.step(name, async () => {
      const body = await answer(server, event);
      assertEquals([body.approved, body.metadata.reason_1], [false, reason]);
      assertEquals(body.metadata.policy_version, version, "declined under the pipeline's version");
      const id = authorizationOf(event).id;
      assertEquals((await decision(server, id)).approved, false, "recorded");
      const lines = server.logs.filter((r) => r.msg === "odd_request" && r.authorization_id === id);
      assertEquals(lines.length, 1, "one log line says what was odd");
    });
  }
  await t.step("a different request at a position already decided", async () => {
    const id = "iauth_inconsistent";
    await answer(server, requestEvent({ id, card, pending_request: { amount: 1_000 } }));
    const other = requestEvent({ id, card, pending_request: { amount: 2_000 } });
    other.id = "evt_inconsistent_other";
    const body = await answer(server, other);
    assertEquals([body.approved, body.metadata.reason_1], [
      false,
      "request_history_inconsistent:0 (store)",
    ]);
    assertEquals((await decision(server, id)).requests.length, 2);
  });
  await t.step("a lifecycle event for an authorization never seen is recorded", async () => {
    const event = lifecycleEvent(
      requestEvent({ id: "iauth_unknown_lifecycle", card }),
      "issuing_authorization.updated",
      { status: "expired", approved: true, amount: 0, requests: [{ amount: 500 }] },
    );
    const response = await server.postEvent(event);
    assertEquals(response.status, 200);
    await response.body?.cancel();
    assertEquals((await decision(server, "iauth_unknown_lifecycle")).path, "stripe_only");
  });
  assert(server.logs.every((record) => record.msg !== "internal_error"));
});

Deno.test("a lifecycle event listing more than the authorization's state can keep is a 400, never a 503", async (t) => {
  await using server = await startTestServer({ ADMIN_TOKEN });
  const request = requestEvent({ id: "iauth_state_full", pending_request: { amount: 5_000 } });
  assertEquals((await answer(server, request)).approved, true);
  const updated = (changes: { requests?: { amount: number }[]; transactions?: number[] }) =>
    lifecycleEvent(request, "issuing_authorization.updated", {
      status: "pending",
      approved: true,
      amount: 5_000,
      requests: [{ amount: 5_000 }],
      ...changes,
    });
  // Before: "Value too large (max 65536 bytes)" at the commit, a 503 that Stripe retries for days.
  const cases: [string, Stripe.Event][] = [
    ["700 requests", updated({ requests: [{ amount: 5_000 }, ...Array(699).fill({ amount: 0 })] })],
    ["3,000 transactions", manyTransactions(updated({}), 3_000)],
  ];
  for (const [name, event] of cases) {
    await t.step(name, async () => {
      const response = await server.postEvent(event);
      assertEquals(response.status, 400);
      assertEquals(
        (await response.json()).error,
        "authorization's events list more requests or transactions than one KV value keeps",
      );
    });
  }
  await t.step("the authorization is still reconciled by an event it can keep", async () => {
    const response = await server.postEvent(updated({ transactions: [-5_000] }));
    assertEquals(response.status, 200);
    await response.body?.cancel();
    assertEquals((await decision(server, "iauth_state_full")).reconciliation.captured, 5_000);
  });
  assert(server.logs.every((record) => record.msg !== "internal_error"));
});

/** `event` listing `count` transactions of 0.01 each, by id and amount only (as small as a body allows). */
function manyTransactions(event: Stripe.Event, count: number): Stripe.Event {
  authorizationOf(event).transactions = Array.from({ length: count }, (_, i) => ({
    id: `ipi_${String(i).padStart(24, "0")}`,
    amount: -1,
  })) as Stripe.Issuing.Transaction[];
  return event;
}
