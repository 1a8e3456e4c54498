/**
 * The write path's aggregates, written by real signed webhooks through the
 * service and read back by time range.
 */
import fc from "fast-check";
import type Stripe from "stripe";
import {
  type AggregateBucket,
  type AggregatedDecision,
  createAggregateWriter,
  LATENCY_BOUNDS_MS,
  latencyPercentile,
  readAggregates,
  sweepAggregates,
} from "../../../lib/store/aggregates.ts";
import type { Policy } from "../../../lib/engine/policy.ts";
import { blockCategories } from "../../../policies/block_categories.ts";
import { referencePipeline } from "../../fixtures/pipelines/reference.ts";
import { assert, assertEquals, assertRejects } from "../../_assert.ts";
import { startTestServer } from "../../_helpers.ts";
import { authorizationEvent, authorizationOf, SCENARIOS } from "../../../fixtures/events.ts";

const HOUR_MS = 3_600_000;

function createdEvent(event: Stripe.Event, reason: string, approved: boolean): Stripe.Event {
  const authorization = authorizationOf(event);
  return {
    ...event,
    id: `${event.id}_created`,
    type: "issuing_authorization.created",
    data: {
      object: {
        ...authorization,
        pending_request: null,
        approved,
        // What Stripe holds once it approved: the store compares it with what we approved.
        amount: approved ? authorization.pending_request.amount : 0,
        status: approved ? "pending" : "closed",
        request_history: [{
          amount: authorization.pending_request.amount,
          approved,
          reason,
          created: authorization.created,
        }],
      },
    },
  } as unknown as Stripe.Event;
}

Deno.test("aggregates count what the service decided, once, by minute and by hour", async (t) => {
  const kv = await Deno.openKv(":memory:");
  const shadow = [...referencePipeline, blockCategories(["grocery_stores_supermarkets"])];
  const throwsOnJpy: Policy = function throwsOnJpy(authorization) {
    if (authorization.pending_request.currency === "jpy") throw new Error("bug");
    return { outcome: "abstain" };
  };
  await using server = await startTestServer({}, {
    kv,
    policies: [throwsOnJpy, ...referencePipeline],
    shadowPolicies: shadow,
  });
  const sent = [
    "ordinary_grocery", // approved; the shadow declines it: a disagreement
    "gambling", // declined by blockCategories
    "gambling_over_cap", // declined by blockCategories and amountCap
    "fuel_controllable_over_hold", // limited by partialHold
    "unknown_currency", // declined by the fallback: throwsOnJpy throws
  ];
  for (const scenario of sent) await (await server.postEvent(SCENARIOS[scenario])).body?.cancel();
  await (await server.postEvent(SCENARIOS.gambling)).body?.cancel(); // a redelivery counts nothing
  for (
    const [scenario, reason, approved] of [["ordinary_grocery", "webhook_approved", true], [
      "gambling",
      "webhook_approved",
      true,
    ]] as const
  ) {
    const created = createdEvent(SCENARIOS[scenario], reason, approved);
    await (await server.postEvent(created)).body?.cancel();
    await (await server.postEvent(created)).body?.cancel(); // redelivered: counted once
  }
  const now = Date.now();

  await t.step("the minute holds every outcome, reason, policy hit and latency", async () => {
    const buckets = await readAggregates(kv, {
      from: new Date(now - 10 * 60_000),
      to: new Date(now + 60_000),
      bucket: "minute",
    });
    const total = sumBuckets(buckets);
    assertEquals(total.outcomes, { approved: 1, declined: 3, limited: 1 });
    assertEquals(total.reasons["mcc_blocked:betting_casino_gambling"], 2);
    assertEquals(total.reasons["amount_over_cap:usd"], 1);
    assertEquals(total.reasons["partial_hold:automated_fuel_dispensers"], 1);
    assertEquals(total.reasons["fallback:error"], 1);
    assertEquals(total.declineReasons, {
      "amount_over_cap:usd": 1,
      "fallback:error": 1,
      "mcc_blocked:betting_casino_gambling": 2,
    }, "a limit's reason is not a decline reason");
    assertEquals(total.fallbacks, { error: 1 });
    assertEquals(total.policyHits["blockCategories:decline"], 2);
    assertEquals(total.policyHits["partialHold:limit"], 1);
    assertEquals(total.shadowDisagreements, 1);
    assertEquals(total.shadowHits["blockCategories:decline"], 3, "gambling twice, groceries once");
    assertEquals(total.reconciliations, { agreed: 1, mismatch: 1 });
    assertEquals(total.latencies, 5);
    assert(latencyPercentile(total.histogram, 0.99)! <= 2_000);
  });

  await t.step("the hour bucket holds the same counts as its minutes", async () => {
    const [hour] = await readAggregates(kv, {
      from: new Date(now),
      to: new Date(now + 1),
      bucket: "hour",
    });
    assertEquals(hour.outcomes, { approved: 1, declined: 3, limited: 1 });
    assertEquals(hour.reconciliations, { agreed: 1, mismatch: 1 });
  });

  await t.step("empty buckets are returned as zeros, so charts show gaps", async () => {
    const from = Math.floor(now / HOUR_MS) * HOUR_MS - 3 * HOUR_MS;
    const buckets = await readAggregates(kv, {
      from: new Date(from),
      to: new Date(from + HOUR_MS),
      bucket: "minute",
    });
    assertEquals(buckets.length, 60);
    assert(buckets.every((bucket) => bucket.outcomes.approved + bucket.outcomes.declined === 0));
  });

  await t.step("ranges beyond the bounded read are refused with a RangeError", async () => {
    await assertRejects(
      () =>
        readAggregates(kv, {
          from: new Date(now - 7 * 24 * HOUR_MS),
          to: new Date(now),
          bucket: "minute",
        }),
      RangeError,
      "at most 360 minute buckets",
    );
    await assertRejects(
      () =>
        readAggregates(kv, { from: new Date(now), to: new Date(now - HOUR_MS), bucket: "hour" }),
      RangeError,
    );
  });

  await t.step("the sweeper deletes only counters past their retention", async () => {
    assertEquals(await sweepAggregates(kv, new Date(now)), 0);
    const total = await sweepAggregates(kv, new Date(now + 40 * 24 * HOUR_MS));
    assert(total > 0);
    const [hour] = await readAggregates(kv, {
      from: new Date(now),
      to: new Date(now + 1),
      bucket: "hour",
    });
    assertEquals(hour.outcomes, { approved: 0, declined: 0, limited: 0 });
  });
});

Deno.test("one large batch of concurrent decisions commits its aggregates within KV's limits", async () => {
  const kv = await Deno.openKv(":memory:");
  await using server = await startTestServer({}, { kv });
  const responses = await Promise.all(
    Array.from({ length: 300 }, (_, i) =>
      server.postEvent(authorizationEvent("online", {
        id: `iauth_burst_${i}`,
        card: { id: `ic_burst_${i % 30}` },
        merchant_data: {
          category: i % 3 === 0 ? "betting_casino_gambling" : "taxicabs_limousines",
        },
        pending_request: { amount: 1_000 + i },
      })).then(async (response) => (await response.json()).approved as boolean)),
  );
  const now = Date.now();
  const [hour] = await readAggregates(kv, {
    from: new Date(now),
    to: new Date(now + 1),
    bucket: "hour",
  });
  assertEquals(hour.outcomes.approved, responses.filter(Boolean).length);
  assertEquals(hour.outcomes.declined, responses.filter((approved) => !approved).length);
  assertEquals(hour.outcomes.declined, 100);
  assertEquals(hour.latency_histogram.reduce((a, b) => a + b, 0), 300);
});

function sumBuckets(buckets: Awaited<ReturnType<typeof readAggregates>>) {
  const total = {
    outcomes: { approved: 0, declined: 0, limited: 0 },
    reasons: {} as Record<string, number>,
    declineReasons: {} as Record<string, number>,
    fallbacks: {} as Record<string, number>,
    policyHits: {} as Record<string, number>,
    shadowHits: {} as Record<string, number>,
    reconciliations: {} as Record<string, number>,
    shadowDisagreements: 0,
    histogram: buckets[0].latency_histogram.map(() => 0),
    latencies: 0,
  };
  const add = (into: Record<string, number>, from: Readonly<Record<string, number>>) => {
    for (const [key, n] of Object.entries(from)) into[key] = (into[key] ?? 0) + n;
  };
  for (const bucket of buckets) {
    add(total.outcomes, bucket.outcomes);
    add(total.reasons, bucket.reasons);
    add(total.declineReasons, bucket.decline_reasons);
    add(total.fallbacks, bucket.fallbacks);
    add(total.reconciliations, bucket.reconciliations);
    for (
      const [hits, into] of [[bucket.policy_hits, total.policyHits], [
        bucket.shadow_policy_hits,
        total.shadowHits,
      ]] as const
    ) {
      for (const [policy, { declined, limited }] of Object.entries(hits)) {
        if (declined) into[`${policy}:decline`] = (into[`${policy}:decline`] ?? 0) + declined;
        if (limited) into[`${policy}:limit`] = (into[`${policy}:limit`] ?? 0) + limited;
      }
    }
    total.shadowDisagreements += bucket.shadow_disagreements;
    bucket.latency_histogram.forEach((n, i) => total.histogram[i] += n);
  }
  total.latencies = total.histogram.reduce((a, b) => a + b, 0);
  return total;
}

Deno.test("reconciliations arriving together are each counted once", async () => {
  using kv = await Deno.openKv(":memory:");
  await using server = await startTestServer({}, { kv });
  const requests = Array.from(
    { length: 12 },
    (_, i) =>
      authorizationEvent("online", { id: `iauth_together_${i}`, card: { id: `ic_together_${i}` } }),
  );
  for (const request of requests) await (await server.postEvent(request)).body?.cancel();
  // Sent at once, they share commits (asserted at the store level, decision_store_test.ts): their
  // first outcomes are summed per batch.
  await Promise.all(requests.map(async (request, i) => {
    const created = createdEvent(request, "webhook_approved", i % 3 !== 0);
    await (await server.postEvent(created)).body?.cancel();
  }));
  const now = Date.now();
  const buckets = await readAggregates(kv, {
    from: new Date(now - 10 * 60_000),
    to: new Date(now + 60_000),
    bucket: "minute",
  });
  const counted: Record<string, number> = {};
  for (const bucket of buckets) {
    for (const [outcome, n] of Object.entries(bucket.reconciliations)) {
      counted[outcome] = (counted[outcome] ?? 0) + n;
    }
  }
  assertEquals(counted, { agreed: 8, mismatch: 4 });
});

Deno.test("one commit's decisions across minutes and hours are summed into each of their buckets", async () => {
  using kv = await Deno.openKv(":memory:");
  const decided = (at: string, approved: boolean): AggregatedDecision => ({
    decided_at: at,
    approved,
    amount: null,
    latency_ms: 4,
    reasons: approved ? [] : [{ policy: "amountCap", code: "over_cap", detail: "usd" }],
    trace: [{
      policy: "amountCap",
      verdict: approved ? { outcome: "abstain" } : { outcome: "decline", code: "over_cap" },
    }],
  });
  const operation = kv.atomic();
  const mutations = createAggregateWriter(kv).addDecisions(operation, [
    decided("2026-11-25T12:58:30Z", false),
    decided("2026-11-25T12:59:10Z", false),
    decided("2026-11-25T12:59:20Z", false),
    decided("2026-11-25T12:59:50Z", true),
    decided("2026-11-25T13:00:10Z", false),
  ]);
  assert((await operation.commit()).ok);
  const read = (from: string, to: string, bucket: "minute" | "hour") =>
    readAggregates(kv, { from: new Date(from), to: new Date(to), bucket });
  const minutes = await read("2026-11-25T12:58:00Z", "2026-11-25T13:01:00Z", "minute");
  assertEquals(minutes.map((bucket) => bucket.outcomes), [
    { approved: 0, declined: 1, limited: 0 },
    { approved: 1, declined: 2, limited: 0 },
    { approved: 0, declined: 1, limited: 0 },
  ]);
  const hours = await read("2026-11-25T12:00:00Z", "2026-11-25T14:00:00Z", "hour");
  assertEquals(hours.map((bucket) => bucket.outcomes), [
    { approved: 1, declined: 3, limited: 0 },
    { approved: 0, declined: 1, limited: 0 },
  ]);
  assertEquals(hours.map((bucket) => bucket.policy_hits.amountCap?.declined), [3, 1]);
  assertEquals(hours.map((bucket) => bucket.reasons["over_cap:usd"]), [3, 1]);
  // One sum per counter and bucket: by the minute 4 outcomes (two in 12:59), 3 reasons, 3 policy
  // hits and 3 latency buckets; by the hour 5 (12:00, both outcomes) and 4 (13:00).
  assertEquals(mutations, 13 + 5 + 4);
});

Deno.test("for any commits of decisions, every minute and hour bucket counts exactly what was decided in it", async () => {
  const START = Date.UTC(2026, 10, 25, 11);
  const MINUTE_MS = 60_000;
  // Names with the characters a series id could be built around are counted as they are.
  const POLICIES = ["amountCap", "spend:Limit", "x\u001fy"];
  const decision = fc.record({
    // Three hours, so commits span minutes and hours.
    at: fc.integer({ min: 0, max: 3 * HOUR_MS - 1 }),
    outcome: fc.constantFrom("approved", "limited", "declined"),
    policy: fc.constantFrom(...POLICIES),
    detail: fc.constantFrom(undefined, "usd"),
    latency: fc.double({ min: 0, max: 3_000, noNaN: true }),
  });
  type Generated = typeof decision extends fc.Arbitrary<infer T> ? T : never;
  const decided = ({ at, outcome, policy, detail, latency }: Generated): AggregatedDecision => ({
    decided_at: new Date(START + at).toISOString(),
    approved: outcome !== "declined",
    amount: outcome === "limited" ? 100 : null,
    latency_ms: latency,
    reasons: outcome === "approved" ? [] : [{ policy, code: "over", detail }],
    trace: [{
      policy,
      verdict: outcome === "approved"
        ? { outcome: "abstain" }
        : outcome === "limited"
        ? { outcome: "limit", amount: 100, code: "over", detail }
        : { outcome: "decline", code: "over", detail },
    }],
  });
  /** What a bucket should hold, computed from the decisions alone. */
  const expected = (decisions: readonly Generated[]) => {
    const bucket = {
      outcomes: { approved: 0, declined: 0, limited: 0 } as Record<string, number>,
      reasons: {} as Record<string, number>,
      decline_reasons: {} as Record<string, number>,
      policy_hits: {} as Record<string, { declined: number; limited: number }>,
      latency_histogram: LATENCY_BOUNDS_MS.map(() => 0),
    };
    for (const { outcome, policy, detail, latency } of decisions) {
      bucket.outcomes[outcome]++;
      bucket.latency_histogram[LATENCY_BOUNDS_MS.findIndex((bound) => latency <= bound)]++;
      if (outcome === "approved") continue;
      const reason = detail === undefined ? "over" : `over:${detail}`;
      bucket.reasons[reason] = (bucket.reasons[reason] ?? 0) + 1;
      if (outcome === "declined") {
        bucket.decline_reasons[reason] = (bucket.decline_reasons[reason] ?? 0) + 1;
      }
      const hits = bucket.policy_hits[policy] ??= { declined: 0, limited: 0 };
      hits[outcome]++;
    }
    return bucket;
  };
  const counted = (bucket: AggregateBucket) => {
    const { outcomes, reasons, decline_reasons, policy_hits, latency_histogram } = bucket;
    return { outcomes, reasons, decline_reasons, policy_hits, latency_histogram };
  };
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.array(decision, { maxLength: 30 }), { maxLength: 5 }),
      async (commits) => {
        using kv = await Deno.openKv(":memory:");
        const writer = createAggregateWriter(kv);
        for (const decisions of commits) {
          const operation = kv.atomic();
          writer.addDecisions(operation, decisions.map(decided));
          assert((await operation.commit()).ok);
        }
        const all = commits.flat();
        for (const size of ["minute", "hour"] as const) {
          const bucketMs = size === "minute" ? MINUTE_MS : HOUR_MS;
          const buckets = await readAggregates(kv, {
            from: new Date(START),
            to: new Date(START + 3 * HOUR_MS),
            bucket: size,
          });
          for (const [i, bucket] of buckets.entries()) {
            const inBucket = all.filter(({ at }) => Math.floor(at / bucketMs) === i);
            assertEquals(counted(bucket), expected(inBucket), `${size} ${bucket.at}`);
          }
        }
        // Every counter is kept under the start of its own bucket.
        for await (const { key } of kv.list({ prefix: ["aggregate"] })) {
          const [, size, start] = key as [string, "minute" | "hour", number];
          assertEquals(start % (size === "minute" ? MINUTE_MS : HOUR_MS), 0, String(key));
        }
      },
    ),
    { numRuns: 60 },
  );
});
