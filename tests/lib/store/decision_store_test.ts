import { createDecide } from "../../../lib/engine/decide.ts";
import { Deadline } from "../../../lib/engine/deadline.ts";
import type { Policy } from "../../../lib/engine/policy.ts";
import { readAggregates } from "../../../lib/store/aggregates.ts";
import {
  createDecisionStore,
  decisionLog,
  type DecisionStore,
} from "../../../lib/store/decision_store.ts";
import type { AuthorizationRequest } from "../../../lib/engine/policy.ts";
import type { VelocityWindow } from "../../../lib/engine/velocity.ts";
import { recordFromStored, storedRecord } from "../../../lib/store/decision_record.ts";
import { amountCap } from "../../../policies/amount_cap.ts";
import { merchantList } from "../../../policies/merchant_list.ts";
import { countLimit } from "../../../policies/count_limit.ts";
import { spendLimit } from "../../../policies/spend_limit.ts";
import { assert, assertEquals, assertMatch } from "../../_assert.ts";
import { parseRecordedLine } from "../../../lib/ops/backtest.ts";
import { StateFullError } from "../../../lib/store/authorization_state.ts";
import type { LogRecord } from "../../../lib/telemetry/log.ts";
import {
  holdingNextCommit,
  lockedFor,
  stallingCommits,
  withAtomicHook,
  withMethod,
} from "../../_kv.ts";
import { pollUntil, recordEvent, recordRequest, testStore } from "../../_store.ts";
import { authorizationEvent, authorizationOf } from "../../../fixtures/events.ts";
import { referencePipeline } from "../../fixtures/pipelines/reference.ts";
import {
  type LifecycleChanges,
  lifecycleEvent,
  type PastRequest,
  requestEvent,
  transactionEvent,
} from "../../../fixtures/lifecycle.ts";
import type Stripe from "stripe";

/**
 * Delivers `authorization` again at `receivedAt` with the store's commits
 * stalled past its deadline, so it is answered with the (declining) fallback,
 * then waits for what that records in the background to land (or rightly
 * change nothing: its commit still lands, checking what it read).
 */
async function redeliverAsFallback(
  store: DecisionStore,
  commits: ReturnType<typeof stallingCommits>,
  authorization: AuthorizationRequest,
  receivedAt: number,
): Promise<void> {
  commits.stallFor(300);
  const redelivery = await recordRequest(store, authorization, receivedAt, {
    deadline: Deadline.after(100),
  });
  assertEquals([redelivery.record.approved, redelivery.unrecorded], [false, true]);
  commits.release();
  await commits.settled();
}

/** Records `n` one-cent requests on authorization `id` (positions 0 … n − 1); returns their history. */
async function fillAuthorization(store: DecisionStore, id: string, n: number) {
  const past: { amount: number }[] = [];
  for (let position = 0; position < n; position++) {
    const { record } = await recordEvent(
      store,
      requestEvent({ id, pending_request: { amount: 1 } }, past),
    );
    assertEquals(record.approved, true);
    past.push({ amount: 1 });
  }
  return past;
}

/** Whether a `getMany` reads a card's replacement link (the chain's reads, one card a call). */
function isChainLink(keys: readonly Deno.KvKey[]): boolean {
  return keys[0]?.[0] === "card_replaces";
}

/** A request of `amount` on `card`, which replaces `replaced` (or none). */
function cardRequest(id: string, card: string, replaced: string | null, amount: number) {
  const event = requestEvent({ id, card: { id: card }, pending_request: { amount } });
  (authorizationOf(event).card as { replacement_for: string | null }).replacement_for = replaced;
  return event;
}

/** The pipeline of the replacement-chain tests: a daily limit of 100,000 per card. */
const chainLimit = () =>
  createDecide([spendLimit({ window: "daily", maxAmount: { usd: 100_000 } })], {
    policyVersion: "test",
  });

/** `id` once it is logged with a fallback (recorded in the background after the answer). */
function loggedFallback(store: DecisionStore, id: string) {
  return pollUntil(`${id} not logged with a fallback`, () => store.get(id), (r) => !!r?.fallback);
}

/** Stripe's `issuing_authorization.<type>` for `request`'s authorization, with `changes`, reconciled. */
function reconcileLifecycle(
  store: ReturnType<typeof testStore>,
  request: Stripe.Event,
  type: "created" | "updated",
  changes: LifecycleChanges,
) {
  return store.reconcile(
    authorizationOf(lifecycleEvent(request, `issuing_authorization.${type}`, changes)),
    type,
  );
}

Deno.test("decisionLog() yields every decision, oldest first, across read pages", async () => {
  using kv = await Deno.openKv(":memory:");
  const store = testStore(kv);
  const start = Date.parse("2026-11-25T00:00:00Z");
  for (let i = 0; i < 250; i++) {
    const authorization = authorizationOf(authorizationEvent("online", { id: `iauth_log_${i}` }));
    await recordRequest(store, authorization, start + i * 1_000);
  }
  const ids: string[] = [];
  for await (const record of decisionLog(kv)) ids.push(record.authorization_id);
  assertEquals(ids, Array.from({ length: 250 }, (_, i) => `iauth_log_${i}`));
});

Deno.test("each velocity counter expires by its own window, even beside an all-time counter", async () => {
  using kv = await Deno.openKv(":memory:");
  const expiries = new Map<string, number | undefined>();
  const recording = withAtomicHook(kv, (operation) => {
    const set = operation.set.bind(operation);
    operation.set = (key, value, options) => {
      if (key[0] === "usage") expiries.set(String(key[3]), options?.expireIn);
      return set(key, value, options);
    };
  });
  const store = testStore(
    recording,
    createDecide([
      spendLimit({ window: "daily", maxAmount: { usd: 100_000 } }),
      spendLimit({ window: "all_time", maxAmount: { usd: 10_000_000 } }),
    ], { policyVersion: "test" }),
  );
  const authorization = authorizationOf(authorizationEvent("online", { id: "iauth_expiry" }));
  const { record } = await recordRequest(store, authorization);
  assertEquals(record.approved, true);
  assertEquals(expiries.has("all_time"), true);
  assertEquals(expiries.get("all_time"), undefined, "an all-time counter never expires");
  const daily = expiries.get("daily");
  assertEquals(typeof daily === "number" && daily <= 2 * 86_400_000, true, `daily: ${daily}`);
});

Deno.test("records stored before records were keyed by time are still read, listed and replayed", async () => {
  using kv = await Deno.openKv(":memory:");
  const store = testStore(kv);
  const start = Date.parse("2026-11-25T00:00:00Z");
  const legacy = authorizationOf(authorizationEvent("online", { id: "iauth_legacy_layout" }));
  const { record } = await recordRequest(store, legacy, start);
  // Moved to the previous layout: the record by authorization, a reference under its time, and
  // an entry that does not say when it was decided.
  const timeKey = ["decisions_by_time", start, legacy.id, 0];
  const stored = (await kv.get(timeKey)).value;
  const stateKey = ["authorization", legacy.id];
  const state = (await kv.get<{ requests: { at?: number }[] }>(stateKey)).value!;
  await kv.atomic()
    .set(["decision", legacy.id, 0], stored)
    .set(timeKey, [legacy.id, 0])
    .set(stateKey, { ...state, requests: state.requests.map(({ at: _, ...entry }) => entry) })
    .commit();
  const newer = authorizationOf(authorizationEvent("online", { id: "iauth_time_layout" }));
  await recordRequest(store, newer, start + 1_000);

  assertEquals((await store.get(legacy.id))?.event_id, record.event_id);
  const listed = await store.list({ limit: 10 });
  assertEquals(listed.map((r) => r.authorization_id), [newer.id, legacy.id]);
  const logged: string[] = [];
  for await (const r of decisionLog(kv)) logged.push(r.authorization_id);
  assertEquals(logged, [legacy.id, newer.id]);

  const again = await recordRequest(store, legacy, start + 5_000);
  assertEquals([again.replayed, again.record.approved], [true, record.approved]);
});

Deno.test("a record of the previous layout rewritten at a later time is listed and exported once, at that time", async () => {
  using kv = await Deno.openKv(":memory:");
  const store = testStore(kv);
  const start = Date.parse("2026-11-25T00:00:00Z");
  const legacy = authorizationOf(authorizationEvent("online", { id: "iauth_rewritten" }));
  await recordRequest(store, legacy, start);
  // The previous layout: the record by authorization and a reference under its time. A fallback
  // that superseded it rewrote the record at a later time and referenced it there too, leaving
  // the first reference in place.
  const stored = (await kv.get<Uint8Array>(["decisions_by_time", start, legacy.id, 0])).value!;
  const rewritten = {
    ...recordFromStored(stored),
    decided_at: new Date(start + 2_000).toISOString(),
  };
  await kv.atomic()
    .delete(["decisions_by_time", start, legacy.id, 0])
    .set(["decision", legacy.id, 0], storedRecord(rewritten))
    .set(["decisions_by_time", start, legacy.id, 0], [legacy.id, 0])
    .set(["decisions_by_time", start + 2_000, legacy.id, 0], [legacy.id, 0])
    .commit();
  const listed = await store.list({ limit: 10 });
  assertEquals(listed.map((r) => r.decided_at), [rewritten.decided_at]);
  const logged: string[] = [];
  for await (const r of decisionLog(kv)) logged.push(r.decided_at);
  assertEquals(logged, [rewritten.decided_at]);
});

Deno.test("a redelivery answered with the fallback leaves the first delivery's answer logged and reserved: one record per request", async () => {
  using kv = await Deno.openKv(":memory:");
  const commits = stallingCommits(kv);
  const store = testStore(commits.kv);
  const authorization = authorizationOf(authorizationEvent("online", { id: "iauth_superseded" }));
  const start = Date.now() - 60_000;
  assertEquals((await recordRequest(store, authorization, start)).record.approved, true);

  // The redelivery's replay cannot land before its deadline: it is answered with the fallback,
  // but the first delivery's answer (which Stripe may have applied) stays what is logged.
  await redeliverAsFallback(store, commits, authorization, start + 30_000);
  const logged = (await store.list({ limit: 10 })).filter((r) =>
    r.authorization_id === authorization.id
  );
  assertEquals(logged.map((r) => [r.approved, r.decided_at, r.superseded]), [
    [true, new Date(start).toISOString(), undefined],
  ]);
  assertEquals((await store.get(authorization.id))?.reservation.amount, 4_999, "reserved once");
});

Deno.test("a commit that lands but reports a connection error, then runs out of time: the fallback answered is what is logged", async () => {
  using kv = await Deno.openKv(":memory:");
  const deadline = Deadline.after(300);
  let failed = false;
  const store = testStore(withAtomicHook(kv, (operation) => {
    const commit = operation.commit.bind(operation);
    operation.commit = async () => {
      const result = await commit();
      if (failed) return result;
      failed = true;
      // Applied, then reported as a transient failure (KV Connect) once the job's own deadline
      // (the request's, less the store's commit margin) has passed: no time is left to retry.
      await new Promise((resolve) => setTimeout(resolve, deadline.remainingMs() - 20));
      throw new Error("error sending request: connection reset by peer");
    };
  }));
  const authorization = authorizationOf(authorizationEvent("online", { id: "iauth_landed" }));
  const answered = await recordRequest(store, authorization, Date.now(), { deadline });
  assertEquals([answered.record.approved, answered.unrecorded], [false, true]);
  const logged = await loggedFallback(store, authorization.id);
  assertEquals([logged?.approved, logged?.fallback], [false, answered.record.fallback]);
  assertEquals(logged?.reservation.amount, 0, "the landed approval's reservation is released");
});

Deno.test("an authorization read while the fallback replaces an answer that landed unreported is one moment's: the fallback's record with its reservation", async () => {
  using kv = await Deno.openKv(":memory:");
  const deadline = Deadline.after(300);
  let commits = 0;
  const fallbackCommitting = Promise.withResolvers<void>();
  const stateRead = Promise.withResolvers<void>();
  const fallbackLanded = Promise.withResolvers<void>();
  const hooked = withAtomicHook(kv, (operation) => {
    const commit = operation.commit.bind(operation);
    operation.commit = async () => {
      if (++commits === 1) {
        await commit();
        // Landed, then reported as a connection error once no time is left to retry (above).
        await new Promise((resolve) => setTimeout(resolve, deadline.remainingMs() - 20));
        throw new Error("error sending request: connection reset by peer");
      }
      // The fallback's recording, held until the read below has the authorization's state.
      fallbackCommitting.resolve();
      await stateRead.promise;
      const result = await commit();
      if (result.ok) fallbackLanded.resolve();
      return result;
    };
  });
  let reading = false;
  const get = hooked.get.bind(hooked) as (key: Deno.KvKey) => Promise<Deno.KvEntryMaybe<unknown>>;
  const getMany = hooked.getMany.bind(hooked) as (
    keys: Deno.KvKey[],
  ) => Promise<Deno.KvEntryMaybe<unknown>[]>;
  const raced = withMethod(
    withMethod(
      hooked,
      "get",
      (async (key: Deno.KvKey) => {
        const entry = await get(key);
        if (reading && key[0] === "authorization") stateRead.resolve();
        return entry;
      }) as Deno.Kv["get"],
    ),
    "getMany",
    (async (keys: Deno.KvKey[]) => {
      // The records, read once the fallback's commit has landed (or 2 s have passed).
      if (reading && keys[0]?.[0] === "decisions_by_time") {
        await Promise.race([fallbackLanded.promise, new Promise((r) => setTimeout(r, 2_000))]);
      }
      return await getMany(keys);
    }) as Deno.Kv["getMany"],
  );
  const store = testStore(raced);
  const authorization = authorizationOf(authorizationEvent("online", { id: "iauth_read_raced" }));
  const answered = await recordRequest(store, authorization, Date.now(), { deadline });
  assertEquals([answered.record.approved, answered.unrecorded], [false, true]);
  await fallbackCommitting.promise;
  reading = true;
  const logged = await store.get(authorization.id);
  // Before: the fallback's record beside the landed approval's reservation (4,999).
  assertEquals(
    [logged?.approved, logged?.fallback, logged?.reservation.amount],
    [false, answered.record.fallback, 0],
  );
});

Deno.test("a request whose commit another process keeps beating until its deadline falls back as a timeout", async () => {
  using kv = await Deno.openKv(":memory:");
  const decide = chainLimit();
  await recordEvent(testStore(kv, decide), cardRequest("iauth_beaten_1", "ic_beaten", null, 1_000));
  // Another process writes the card's counter (the same value) before each of this one's commits.
  let beating = false;
  const beaten = withAtomicHook(kv, (operation) => {
    const check = operation.check.bind(operation);
    const checked: Deno.KvKey[] = [];
    operation.check = (...checks) => {
      checked.push(...checks.map(({ key }) => key));
      return check(...checks);
    };
    const commit = operation.commit.bind(operation);
    operation.commit = async () => {
      for (const key of beating ? checked : []) {
        const { value } = await kv.get(key);
        if (key.includes("ic_beaten") && value !== null) await kv.set(key, value);
      }
      return await commit();
    };
  });
  const store = testStore(beaten, decide);
  beating = true;
  const { record } = await recordEvent(
    store,
    cardRequest("iauth_beaten_2", "ic_beaten", null, 1_000),
    Date.now(),
    { deadline: Deadline.after(200) },
  );
  beating = false;
  assertEquals(record.fallback, "store_timeout");
});

Deno.test("a fallback on the API path is logged as answered in the response, as it was", async () => {
  using kv = await Deno.openKv(":memory:");
  const commits = stallingCommits(kv);
  commits.stallFor(300);
  const store = testStore(commits.kv);
  const authorization = authorizationOf(authorizationEvent("online", { id: "iauth_api_fallback" }));
  const answered = await recordRequest(store, authorization, Date.now(), {
    deadline: Deadline.after(100),
    path: "api",
  });
  assertEquals([answered.unrecorded, answered.record.path], [true, "respond"]);
  commits.release();
  const logged = await loggedFallback(store, authorization.id);
  assertEquals([logged?.fallback, logged?.path], [answered.record.fallback, "respond"]);
});

Deno.test("a replacement card's chain whose read fails once: the approving fallback answered is recorded and reserved", async () => {
  using kv = await Deno.openKv(":memory:");
  let failures = 1;
  const failingChain =
    ((keys: Deno.KvKey[], options?: { consistency?: Deno.KvConsistencyLevel }) =>
      isChainLink(keys) && failures-- > 0
        ? Promise.reject(new Error("error sending request: connection reset by peer"))
        : kv.getMany(keys, options)) as Deno.Kv["getMany"];
  const store = testStore(
    withMethod(kv, "getMany", failingChain),
    createDecide(referencePipeline, { policyVersion: "test", fallback: "approve" }),
  );
  const authorization = authorizationOf(authorizationEvent("online", { id: "iauth_failed_chain" }));
  authorization.card = {
    ...authorization.card,
    id: "ic_failed_new",
    replacement_for: "ic_failed_old",
  };
  const answered = await recordRequest(store, authorization);
  assertEquals([answered.record.approved, answered.unrecorded], [true, true]);
  const logged = await loggedFallback(store, authorization.id);
  assertEquals([logged?.approved, logged?.reservation.amount], [
    true,
    authorization.pending_request.amount,
  ]);
});

Deno.test("a replacement card's chain not read in time: the approving fallback answered is recorded and reserved on the chain", async () => {
  using kv = await Deno.openKv(":memory:");
  const slowChain =
    (async (keys: Deno.KvKey[], options?: { consistency?: Deno.KvConsistencyLevel }) => {
      if (isChainLink(keys)) await new Promise((resolve) => setTimeout(resolve, 300));
      return await kv.getMany(keys, options);
    }) as Deno.Kv["getMany"];
  const store = testStore(
    withMethod(kv, "getMany", slowChain),
    createDecide(referencePipeline, { policyVersion: "test", fallback: "approve" }),
  );
  const authorization = authorizationOf(authorizationEvent("online", { id: "iauth_slow_chain" }));
  authorization.card = { ...authorization.card, id: "ic_slow_new", replacement_for: "ic_slow_old" };
  const answered = await recordRequest(store, authorization, Date.now(), {
    deadline: Deadline.after(100),
  });
  assertEquals([answered.record.approved, answered.unrecorded], [true, true]);
  const logged = await loggedFallback(store, authorization.id);
  assertEquals([logged?.approved, logged?.fallback], [true, answered.record.fallback]);
  assertEquals(logged?.reservation.amount, authorization.pending_request.amount);
  const cards = logged?.reservation.keys.map((key) =>
    key.find((part) => typeof part === "string" && part.startsWith("ic_"))
  );
  assertEquals(cards?.includes("ic_slow_old"), true, "reserved under the chain's first card");
  assertEquals(cards?.includes("ic_slow_new"), false);
});

Deno.test("a redelivery the next day answered with the fallback leaves the first delivery's reservation in its own day", async () => {
  using kv = await Deno.openKv(":memory:");
  const commits = stallingCommits(kv);
  const decide = createDecide([spendLimit({ window: "daily", maxAmount: { usd: 10_000 } })], {
    policyVersion: "test",
  });
  const store = testStore(commits.kv, decide);
  const request = (id: string, amount: number) =>
    authorizationOf(authorizationEvent("online", { id, pending_request: { amount } }));
  const midnight = Math.floor(Date.now() / 86_400_000) * 86_400_000;
  const first = request("iauth_before_midnight", 5_000);
  assertEquals((await recordRequest(store, first, midnight - 500)).record.approved, true);
  assertEquals(
    (await recordRequest(store, request("iauth_today", 8_000), midnight + 1_000))
      .record.approved,
    true,
  );

  await redeliverAsFallback(store, commits, first, midnight + 2_000);
  assertEquals((await store.get(first.id))?.approved, true);

  assertEquals((await store.get(first.id))?.reservation.amount, 5_000);
  // Today holds 8,000 of 10,000: 2,001 more is over, 2,000 is not.
  const over = await recordRequest(store, request("iauth_today_over", 2_001), midnight + 5_000);
  assertEquals(over.record.approved, false);
  const fits = await recordRequest(store, request("iauth_today_fits", 2_000), midnight + 6_000);
  assertEquals(fits.record.approved, true);
});

Deno.test("after a partial reversal, an increment the next day keeps its amount in that day's window", async () => {
  using kv = await Deno.openKv(":memory:");
  const decide = createDecide([spendLimit({ window: "daily", maxAmount: { usd: 10_000 } })], {
    policyVersion: "test",
  });
  const store = testStore(kv, decide);
  const yesterday = Date.now() - 86_400_000;
  const first = requestEvent({ id: "iauth_hotel_stay", pending_request: { amount: 5_000 } });
  authorizationOf(first).created = Math.floor(yesterday / 1_000);
  assertEquals(
    (await recordEvent(store, first, yesterday)).record.approved,
    true,
  );
  await reconcileLifecycle(store, first, "updated", {
    status: "pending",
    approved: true,
    amount: 2_000,
    requests: [{ amount: 5_000 }],
  });
  const increment = requestEvent({ id: "iauth_hotel_stay", pending_request: { amount: 3_000 } }, [
    { amount: 5_000 },
  ]);
  // One authorization, created yesterday (Stripe's `created` is the authorization's).
  authorizationOf(increment).created = authorizationOf(first).created;
  const incremented = await recordEvent(store, increment);
  assertEquals([incremented.replayed, incremented.record.approved], [false, true]);
  await reconcileLifecycle(store, increment, "updated", {
    status: "pending",
    approved: true,
    amount: 5_000,
    requests: [{ amount: 5_000 }, { amount: 3_000 }],
  });
  // Today holds the 3,000 increment: 8,000 more is over the 10,000, 7,000 is not.
  const more = (id: string, amount: number) =>
    authorizationOf(requestEvent({ id, pending_request: { amount } }));
  assertEquals(
    (await recordRequest(store, more("iauth_today_over", 8_000))).record.approved,
    false,
  );
  assertEquals((await recordRequest(store, more("iauth_today_fits", 7_000))).record.approved, true);
});

Deno.test("an async shadow decision is counted once even when its commit lands but reports an error", async () => {
  using kv = await Deno.openKv(":memory:");
  // The shadow decides once the test says so: the commits after that are the shadow's.
  const shadowDue = Promise.withResolvers<void>();
  let decided = false, shadowCommits = 0;
  const retryLanded = Promise.withResolvers<void>();
  const flaky = withAtomicHook(kv, (operation) => {
    const commit = operation.commit.bind(operation);
    operation.commit = async () => {
      const counted = shadowCommits > 0 || decided;
      const result = await commit();
      if (!counted) return result;
      // The shadow's first commit is applied, then reported as a connection error.
      if (++shadowCommits === 1) throw new Error("error sending request: connection reset by peer");
      retryLanded.resolve();
      return result;
    };
  });
  const slowDecline: Policy = function slowDecline() {
    return shadowDue.promise.then(() => ({ outcome: "decline", code: "slow_no" }));
  };
  const store = createDecisionStore({
    kv: flaky,
    decide: createDecide(referencePipeline, { policyVersion: "test" }),
    shadowDecide: createDecide([slowDecline], { policyVersion: "test" }),
    log: () => {},
    retentionMs: 86_400_000,
  });
  const authorization = authorizationOf(authorizationEvent("online", { id: "iauth_shadow_once" }));
  const decidedAt = Date.now();
  assertEquals((await recordRequest(store, authorization, decidedAt)).record.approved, true);
  decided = true;
  shadowDue.resolve();
  await pollUntil("the shadow not logged", () => store.get(authorization.id), (r) => !!r?.shadow);
  // A retry that counted it again would commit once more: wait for that, up to a second (none
  // comes once a retry finds the record with its shadow).
  await Deadline.after(1_000).race(retryLanded.promise);
  const minute = Math.floor(decidedAt / 60_000) * 60_000;
  const [bucket] = await readAggregates(kv, {
    from: new Date(minute),
    to: new Date(minute + 60_000),
    bucket: "minute",
  });
  assertEquals(bucket.shadow_disagreements, 1);
});

Deno.test("an increment we declined but Stripe's timeout setting approved counts in its own day once Stripe says so", async () => {
  using kv = await Deno.openKv(":memory:");
  const decide = createDecide([
    amountCap({ usd: 7_500 }),
    spendLimit({ window: "daily", maxAmount: { usd: 9_999 } }),
  ], { policyVersion: "test" });
  const store = testStore(kv, decide);
  const yesterday = Date.now() - 86_400_000;
  const first = requestEvent({
    id: "iauth_timed_out_increment",
    pending_request: { amount: 5_000 },
  });
  authorizationOf(first).created = Math.floor(yesterday / 1_000);
  await recordEvent(store, first, yesterday);
  const increment = requestEvent({
    id: "iauth_timed_out_increment",
    pending_request: { amount: 3_000 },
  }, [{ amount: 5_000 }]);
  authorizationOf(increment).created = authorizationOf(first).created;
  const declined = await recordEvent(store, increment);
  assertEquals(declined.record.approved, false, "over the 7,500 cap");
  // Our decline came too late: Stripe's timeout setting approved it, and holds 8,000.
  await reconcileLifecycle(store, increment, "updated", {
    status: "pending",
    approved: true,
    amount: 8_000,
    requests: [{ amount: 5_000 }, { amount: 3_000, reason: "webhook_timeout" }],
  });
  // Today holds Stripe's 3,000 of 9,999: 7,000 more is over, 6,999 is not.
  const today = (id: string, amount: number) =>
    recordEvent(store, requestEvent({ id, pending_request: { amount } }));
  assertEquals((await today("iauth_today_over", 7_000)).record.approved, false);
  assertEquals((await today("iauth_today_fits", 6_999)).record.approved, true);
});

Deno.test("an authorization's 101st request is declined, logged, and leaves its state as it was", async () => {
  using kv = await Deno.openKv(":memory:");
  const store = testStore(kv, createDecide([], { policyVersion: "test" }));
  const past = await fillAuthorization(store, "iauth_many", 100);
  assertEquals((await store.get("iauth_many"))?.requests?.length, 100);
  const stateBefore = (await kv.get(["authorization", "iauth_many"])).versionstamp;
  for (let extra = 0; extra < 2; extra++) {
    const event = requestEvent({ id: "iauth_many", pending_request: { amount: 1 } }, past);
    const { record, unrecorded } = await recordEvent(store, event);
    assertEquals([record.approved, record.reasons[0].code, unrecorded], [
      false,
      "too_many_requests",
      undefined,
    ]);
    const logged = (await store.list({ limit: 200 })).find((r) => r.event_id === event.id);
    assertEquals(logged?.reasons[0].code, "too_many_requests");
    past.push({ amount: 1 });
  }
  assertEquals((await kv.get(["authorization", "iauth_many"])).versionstamp, stateBefore);
});

Deno.test("on a full authorization, an approving fallback is logged but reserves nothing and stays out of its state", async () => {
  using kv = await Deno.openKv(":memory:");
  const decide = createDecide(
    [spendLimit({ window: "daily", maxAmount: { usd: 1_000_000_000 } })],
    {
      policyVersion: "test",
      fallback: "approve",
    },
  );
  const past = await fillAuthorization(testStore(kv, decide), "iauth_full", 100);
  const counters = async () => {
    const amounts = [];
    for await (const entry of kv.list<{ amount: number }>({ prefix: ["usage"] })) {
      amounts.push(entry.value.amount);
    }
    return amounts;
  };
  const before = await counters();
  assertEquals(before, [100], "the 100 requests reserved");
  const state = (await kv.get(["authorization", "iauth_full"])).versionstamp;
  // Another process, whose reads stall: the last request is not decided by its deadline, so the
  // fallback is what it is answered (decided, a full authorization is declined by the store).
  let stalled: Promise<void> | undefined = new Promise((resolve) => setTimeout(resolve, 300));
  const store = testStore(
    withMethod(
      kv,
      "getMany",
      (async (keys: Deno.KvKey[]) => {
        await stalled;
        return await kv.getMany(keys);
      }) as Deno.Kv["getMany"],
    ),
    decide,
  );
  const last = requestEvent({ id: "iauth_full", pending_request: { amount: 1 } }, past);
  const answered = await recordEvent(store, last, Date.now(), { deadline: Deadline.after(100) });
  assertEquals([answered.record.approved, answered.unrecorded], [true, true]);
  stalled = undefined;
  const logged = await pollUntil(
    "the fallback not logged",
    async () => (await store.list({ limit: 200 })).find((record) => record.event_id === last.id),
    (record) => !!record?.fallback,
  );
  assertEquals([logged?.approved, logged?.fallback, logged?.reservation.amount], [
    true,
    answered.record.fallback,
    0,
  ]);
  assertEquals(await counters(), before);
  assertEquals((await kv.get(["authorization", "iauth_full"])).versionstamp, state);
});

Deno.test("on a full authorization, a store that cannot commit in time answers the store's own decline", async () => {
  using kv = await Deno.openKv(":memory:");
  const commits = stallingCommits(kv);
  const store = testStore(
    commits.kv,
    createDecide([spendLimit({ window: "daily", maxAmount: { usd: 1_000_000_000 } })], {
      policyVersion: "test",
      fallback: "approve",
    }),
  );
  const past = await fillAuthorization(store, "iauth_full_declined", 100);
  commits.stallFor(300);
  const last = requestEvent({ id: "iauth_full_declined", pending_request: { amount: 1 } }, past);
  const answered = await recordEvent(store, last, Date.now(), { deadline: Deadline.after(100) });
  assertEquals([answered.record.approved, answered.record.reasons[0].code], [
    false,
    "too_many_requests",
  ]);
  commits.release();
  const logged = await pollUntil(
    "the decline not logged",
    async () => (await store.list({ limit: 200 })).find((record) => record.event_id === last.id),
    (record) => record !== undefined,
  );
  assertEquals([logged?.approved, logged?.reservation.amount], [false, 0]);
});

Deno.test("with many velocity policies, an authorization's state stops taking requests while its lifecycle events still fit", async () => {
  using kv = await Deno.openKv(":memory:");
  const big = { usd: 1_000_000_000 };
  const store = testStore(
    kv,
    createDecide([
      spendLimit({ window: "daily", maxAmount: big }),
      spendLimit({ window: "weekly", maxAmount: big }),
      spendLimit({ window: "monthly", maxAmount: big }),
      spendLimit({ window: "yearly", maxAmount: big }),
      spendLimit({ window: "all_time", maxAmount: big }),
      spendLimit({ window: "daily", maxAmount: big, per: "cardholder" }),
    ], { policyVersion: "test" }),
  );
  const past: { amount: number }[] = [];
  let declined: string | undefined;
  while (!declined && past.length < 100) {
    const event = requestEvent({ id: "iauth_wide", pending_request: { amount: 1 } }, past);
    const { record } = await recordEvent(store, event);
    if (record.approved) past.push({ amount: 1 });
    else declined = record.reasons[0].code;
  }
  assertEquals(declined, "too_many_requests", `declined after ${past.length} requests`);
  // Stripe's account of every request still fits beside them.
  const lifecycle = lifecycleEvent(
    requestEvent({ id: "iauth_wide" }, past),
    "issuing_authorization.updated",
    {
      status: "pending",
      approved: true,
      amount: past.length,
      requests: past,
    },
  );
  await store.reconcile(lifecycle.data.object as Stripe.Issuing.Authorization, "updated");
  assertEquals((await store.get("iauth_wide"))?.reconciliation?.outcome, "agreed");
});

Deno.test("a request received at a fractional millisecond is found by its authorization and replayed", async () => {
  using kv = await Deno.openKv(":memory:");
  const store = testStore(kv);
  const authorization = authorizationOf(authorizationEvent("online", { id: "iauth_fraction" }));
  const receivedAt = Date.now() - 0.5;
  const { record } = await recordRequest(store, authorization, receivedAt);
  assertEquals((await store.get(authorization.id))?.event_id, record.event_id);
  assertEquals((await recordRequest(store, authorization, receivedAt + 1_000)).replayed, true);
});

Deno.test("an event in three-byte characters over KV's value limit in UTF-8 is trimmed, not refused", async () => {
  using kv = await Deno.openKv(":memory:");
  const store = testStore(kv);
  // Stripe's metadata limits (50 keys, 500 characters a value) in three-byte characters.
  const metadata = Object.fromEntries(
    Array.from({ length: 45 }, (_, i) => [`note_${i}`, "取引".repeat(250)]),
  );
  const event = authorizationEvent("online", { id: "iauth_wide_text" });
  authorizationOf(event).metadata = metadata;
  const eventBytes = JSON.stringify(event).length;
  assertEquals(
    eventBytes < 28_000 && new TextEncoder().encode(JSON.stringify(event)).length > 65_536,
    true,
  );
  const { record, unrecorded } = await recordRequest(store, authorizationOf(event), Date.now(), {
    eventBytes,
  });
  assertEquals([unrecorded, record.fallback, record.trimmed], [undefined, undefined, [
    "request.metadata",
  ]]);
  assertEquals((await store.get("iauth_wide_text"))?.trimmed, ["request.metadata"]);
});

Deno.test("a record over KV's value limit only through what it copies from its event (the merchant's name, twice) is trimmed, not refused", async () => {
  using kv = await Deno.openKv(":memory:");
  const store = testStore(kv);
  const event = authorizationEvent("online", { id: "iauth_copied_name" });
  // 14,000 three-byte characters: an event of about 46 KB in UTF-8, a record of twice that.
  authorizationOf(event).merchant_data.name = "語".repeat(14_000);
  const text = JSON.stringify(event);
  assertEquals(new TextEncoder().encode(text).length < 65_536, true);
  const { record, unrecorded } = await recordRequest(store, authorizationOf(event), Date.now(), {
    eventBytes: text.length,
  });
  assertEquals([unrecorded, record.fallback, record.approved], [undefined, undefined, true]);
  const logged = await store.get("iauth_copied_name");
  assertEquals(logged?.trimmed?.at(-1), "long text");
  assertEquals(logged?.merchant_name, "語".repeat(1_000));
});

Deno.test("an event whose text alone is over KV's value limit (a 70 KB merchant name) is decided and logged with its text cut", async () => {
  using kv = await Deno.openKv(":memory:");
  // A merchant allow-list names the merchant in its decline, and reasons are aggregate keys.
  const store = testStore(
    kv,
    createDecide([merchantList({ mode: "allow", names: ["acme"] })], { policyVersion: "test" }),
  );
  const event = authorizationEvent("online", { id: "iauth_long_name" });
  authorizationOf(event).merchant_data.name = "N".repeat(70_000);
  const eventBytes = JSON.stringify(event).length;
  const { record, unrecorded } = await recordRequest(store, authorizationOf(event), Date.now(), {
    eventBytes,
  });
  assertEquals([unrecorded, record.fallback, record.approved], [undefined, undefined, false]);
  assertEquals(record.reasons[0].detail?.length, 200);
  const logged = await store.get("iauth_long_name");
  assertEquals(logged?.trimmed?.at(-1), "long text");
  assertEquals([logged?.merchant_name?.length, logged?.request.merchant_data.name?.length], [
    1_000,
    1_000,
  ]);
});

/**
 * The record of a 1,000.00 request `spoil`ed past KV's value limit, once it
 * is known to have been answered, approved and reserved whole.
 */
async function loggedOversized(
  store: ReturnType<typeof testStore>,
  id: string,
  spoil: (authorization: Record<string, unknown>) => void,
) {
  const event = authorizationEvent("online", { id, pending_request: { amount: 100_000 } });
  spoil(authorizationOf(event) as unknown as Record<string, unknown>);
  const eventBytes = JSON.stringify(event).length;
  assert(eventBytes > 65_536, `${id}: ${eventBytes} bytes`);
  const { record, unrecorded } = await recordRequest(store, authorizationOf(event), Date.now(), {
    eventBytes,
  });
  assertEquals([unrecorded, record.fallback, record.approved], [undefined, undefined, true], id);
  const logged = (await store.get(id))!;
  assertEquals(logged.reservation.amount, 100_000, id);
  return logged;
}

Deno.test("an event over KV's value limit through fields no text or list trim bounds is logged without its largest fields, and reserves", async () => {
  using kv = await Deno.openKv(":memory:");
  const store = testStore(kv);
  // Before: "a record did not fit one KV value after every trim": answered, never logged or
  // reserved (with FALLBACK_DECISION=approve, 8 such requests of 1,000.00 passed a 5,000.00 limit).
  const cases: [string, Record<string, unknown>, string[]][] = [
    // 22,000 empty objects in a field no Stripe version has: about 70 KB of short JSON.
    ["iauth_wide_field", { fleet: { x: Array.from({ length: 22_000 }, () => ({})) } }, [
      "request.fleet",
    ]],
    // Thousands of transactions listed on the request, each of them small.
    ["iauth_many_transactions", {
      transactions: Array.from({ length: 3_000 }, (_, i) => ({ id: `ipi_${i}`, amount: -1 })),
      fleet: { note: "kept" },
    }, ["request.transactions"]],
  ];
  for (const [id, fields, droppedLast] of cases) {
    const logged = await loggedOversized(
      store,
      id,
      (authorization) => Object.assign(authorization, fields),
    );
    assertEquals(logged.trimmed?.slice(-droppedLast.length), droppedLast, id);
    assertEquals(logged.request.pending_request.amount, 100_000);
  }
  assertEquals((await store.get("iauth_many_transactions"))?.request.fleet, { note: "kept" });
});

Deno.test("thousands of small fields, or junk inside the pending request, are trimmed in one pass, and the record still replays", async () => {
  using kv = await Deno.openKv(":memory:");
  const store = testStore(kv);
  // Before: measured again after each field dropped, 8,000 fields took minutes of the thread every
  // answer waits for (other requests fell back), then failed; a dropped pending request left a
  // record no replay could read.
  const cases: [string, (authorization: Record<string, unknown>) => void, RegExp][] = [
    ["iauth_many_fields", (authorization) => {
      for (let i = 0; i < 8_000; i++) authorization[`x_${i}`] = "0123456789";
    }, /^request\.… \(\d+ more\)$/],
    ["iauth_junk_pending", (authorization) => {
      Object.assign(authorization.pending_request as object, {
        x: Array.from({ length: 22_000 }, () => ({})),
      });
    }, /^request\.pending_request\.x$/],
  ];
  for (const [id, spoil, trimmedLast] of cases) {
    const logged = await loggedOversized(store, id, spoil);
    assertMatch(logged.trimmed?.at(-1) ?? "", trimmedLast);
    const replayed = parseRecordedLine(JSON.stringify(logged));
    assertEquals(replayed?.authorization.pending_request.amount, 100_000);
  }
});

Deno.test("a 70 KB merchant name that a shadow policy's verdict repeats is logged with both traces cut", async () => {
  using kv = await Deno.openKv(":memory:");
  const store = createDecisionStore({
    kv,
    decide: createDecide([], { policyVersion: "live" }),
    shadowDecide: createDecide([merchantList({ mode: "allow", names: ["acme"] })], {
      policyVersion: "shadow",
    }),
    log: () => {},
    retentionMs: 86_400_000,
  });
  const event = authorizationEvent("online", { id: "iauth_shadow_long_name" });
  authorizationOf(event).merchant_data.name = "N".repeat(70_000);
  const { record, unrecorded } = await recordRequest(store, authorizationOf(event), Date.now(), {
    eventBytes: JSON.stringify(event).length,
  });
  assertEquals([unrecorded, record.fallback, record.approved], [undefined, undefined, true]);
  const logged = await store.get("iauth_shadow_long_name");
  assertEquals([logged?.shadow?.approved, logged?.shadow?.trace], [false, []]);
  assertEquals(logged?.trimmed?.includes("trace"), true);
});

Deno.test("reconciliations arriving together share commits, their first outcomes summed per batch", async () => {
  using base = await Deno.openKv(":memory:");
  let counting = false, commits = 0, sums = 0;
  const kv = withAtomicHook(base, (operation) => {
    const sum = operation.sum.bind(operation);
    operation.sum = (key, n) => {
      if (counting) sums++;
      return sum(key, n);
    };
    const commit = operation.commit.bind(operation);
    operation.commit = () => {
      if (counting) commits++;
      return commit();
    };
  });
  const store = testStore(kv);
  const events = Array.from(
    { length: 12 },
    (_, i) =>
      requestEvent({
        id: `iauth_together_${i}`,
        card: { id: `ic_together_${i}` },
        pending_request: { amount: 1_000 },
      }),
  );
  // All decided in the middle of one minute: outcomes are summed in their decision's minute and
  // hour, and two minutes would double the sums a shared commit writes.
  const decidedAt = Math.floor(Date.now() / 60_000) * 60_000 + 30_000;
  for (const event of events) {
    assertEquals((await recordEvent(store, event, decidedAt)).record.approved, true);
  }
  counting = true;
  // A third declined by Stripe after we approved: 8 agreed, 4 mismatches.
  const outcomes = await Promise.all(events.map(async (event, i) => {
    const approved = i % 3 !== 0;
    const created = lifecycleEvent(event, "issuing_authorization.created", {
      status: approved ? "pending" : "closed",
      approved,
      amount: approved ? 1_000 : 0,
      requests: [{ amount: 1_000, approved }],
    });
    const reconciled = await store.reconcile(
      created.data.object as Stripe.Issuing.Authorization,
      "created",
    );
    return reconciled.outcome;
  }));
  counting = false;
  assertEquals(outcomes.filter((outcome) => outcome === "agreed").length, 8);
  // One by one: 12 commits, and a minute and an hour sum each (24). Together: fewer commits, and
  // one sum per outcome and bucket in each.
  assert(commits < 12, `${commits} commits for 12 reconciliations`);
  assert(sums < 24, `${sums} sums in ${commits} commits`);
  const counted: Record<string, number> = {};
  const now = Date.now();
  for (
    const bucket of await readAggregates(base, {
      from: new Date(now - 600_000),
      to: new Date(now + 60_000),
      bucket: "minute",
    })
  ) {
    for (const [outcome, n] of Object.entries(bucket.reconciliations)) {
      counted[outcome] = (counted[outcome] ?? 0) + n;
    }
  }
  assertEquals(counted, { agreed: 8, mismatch: 4 });
});

Deno.test("a request whose card's chain grows while it is decided is decided again on the whole chain", async () => {
  using kv = await Deno.openKv(":memory:");
  const commits = stallingCommits(kv);
  // Two processes: this one's commits can be held back; the other's cannot.
  const one = testStore(commits.kv, chainLimit());
  const two = testStore(kv, chainLimit());
  const approved = async (store: DecisionStore, event: Stripe.Event) =>
    (await recordEvent(store, event)).record.approved;
  assertEquals(await approved(one, cardRequest("iauth_grow_a", "ic_grow_a", null, 60_000)), true);
  // c replaces b, whose own link is unknown: one's chain for c is c → b, holding c's 10,000.
  assertEquals(
    await approved(one, cardRequest("iauth_grow_c1", "ic_grow_c", "ic_grow_b", 10_000)),
    true,
  );
  commits.stallFor(300);
  const pending = approved(one, cardRequest("iauth_grow_c2", "ic_grow_c", "ic_grow_b", 20_000));
  // Meanwhile the other learns b → a and spends 20,000 on b, under a: 90,000 on the chain.
  await two.recordCard({ id: "ic_grow_b", replacement_for: "ic_grow_a" } as Stripe.Issuing.Card);
  assertEquals(
    await approved(two, cardRequest("iauth_grow_b", "ic_grow_b", "ic_grow_a", 20_000)),
    true,
  );
  commits.release();
  assertEquals(await pending, false, "110,000 on the chain is over its 100,000");
});

Deno.test("a request whose card's chain grows on every attempt is still decided on the whole chain", async () => {
  using kv = await Deno.openKv(":memory:");
  const two = testStore(kv, chainLimit());
  // Before each of this process's commits the other learns one more link of the chain: j → i is
  // in the request, then i → h, h → g, … b → a arrive one by one (a commit that conflicts on one
  // and the next that finds it each take one: four readings of the chain anew).
  const links = [..."ihgfedcb"].map((card) =>
    ({
      id: `ic_every_${card}`,
      replacement_for: `ic_every_${String.fromCharCode(card.charCodeAt(0) - 1)}`,
    }) as Stripe.Issuing.Card
  );
  let growing = false;
  const one = testStore(
    withAtomicHook(kv, (operation) => {
      const commit = operation.commit.bind(operation);
      operation.commit = async () => {
        const link = growing ? links.shift() : undefined;
        if (link) await two.recordCard(link);
        return await commit();
      };
    }),
    chainLimit(),
  );
  assertEquals(
    (await recordEvent(two, cardRequest("iauth_every_a", "ic_every_a", null, 70_000))).record
      .approved,
    true,
  );
  growing = true;
  const { record } = await recordEvent(
    one,
    cardRequest("iauth_every_j", "ic_every_j", "ic_every_i", 40_000),
  );
  assertEquals(links, [], "every link was learned while it was decided");
  assertEquals(record.fallback, undefined);
  assertEquals(record.approved, false, "110,000 on the chain is over its 100,000");
});

Deno.test("two requests in one batch, one first linking the other's chain further, never together pass the limit", async (t) => {
  for (const first of ["the linking request", "the other"] as const) {
    await t.step(`${first} first`, async () => {
      using kv = await Deno.openKv(":memory:");
      const commits = stallingCommits(kv);
      const store = testStore(commits.kv, chainLimit());
      const approved = async (event: Stripe.Event) =>
        (await recordEvent(store, event)).record.approved;
      assertEquals(await approved(cardRequest("iauth_batch_a", "ic_batch_a", null, 60_000)), true);
      // c replaces b, whose link is unknown: c's chain is c → b, holding c's 10,000.
      assertEquals(
        await approved(cardRequest("iauth_batch_c1", "ic_batch_c", "ic_batch_b", 10_000)),
        true,
      );
      // Both batch slots held (one batch each), so the next two requests queue for one batch.
      commits.stallFor(200);
      const settle = () => new Promise((resolve) => setTimeout(resolve, 10));
      const held = [];
      for (const n of [1, 2]) {
        held.push(approved(cardRequest(`iauth_batch_x${n}`, `ic_x${n}`, null, 1)));
        await settle();
      }
      // b's first request tells b → a and spends under a; c's spends on its chain as known.
      const linking = () =>
        approved(cardRequest("iauth_batch_b", "ic_batch_b", "ic_batch_a", 20_000));
      const other = () =>
        approved(cardRequest("iauth_batch_c2", "ic_batch_c", "ic_batch_b", 20_000));
      // The linking request reads its chain first (c's is known): queued after it is read.
      const one = first === "the linking request" ? linking() : other();
      await settle();
      await settle();
      const two = first === "the linking request" ? other() : linking();
      commits.release();
      await Promise.all(held);
      const answers = [await one, await two];
      assertEquals(answers.filter(Boolean).length, 1, "110,000 on a 100,000 chain: one of them");
    });
  }
});

Deno.test("a stored link back into the chain beside a legacy link does not keep a request from being decided", async () => {
  using kv = await Deno.openKv(":memory:");
  const store = testStore(kv, chainLimit());
  // Not Stripe's: b "replaces" c, which replaces b; and an earlier version's link from b.
  await kv.set(["card_replaces", "ic_loop_b"], "ic_loop_c");
  await kv.set(["card_root", "ic_loop_b"], "ic_loop_z");
  const event = cardRequest("iauth_loop", "ic_loop_c", "ic_loop_b", 1_000);
  const { record, unrecorded } = await recordEvent(store, event);
  assertEquals([record.approved, record.fallback, unrecorded], [true, undefined, undefined]);
});

Deno.test("a fallback replacing a late commit after the card's chain grew past what one commit reads is still recorded", async () => {
  using kv = await Deno.openKv(":memory:");
  // The first commit held 300 ms, past its request's deadline; once it lands, another process
  // stores b → a. Four rolling limits (10 buckets each) leave a job room for two cards' counters.
  const commits = holdingNextCommit(
    kv,
    300,
    () => kv.set(["card_replaces", "ic_capped_b"], "ic_capped_a"),
  );
  const store = testStore(
    commits.kv,
    createDecide(
      [10, 20, 30, 40].map((minutes) =>
        spendLimit({ window: { rollingMinutes: minutes }, maxAmount: { usd: 100_000 } })
      ),
      { policyVersion: "test" },
    ),
  );
  await recordEvent(store, cardRequest("iauth_capped_warm", "ic_capped_c", "ic_capped_b", 1));
  commits.holdNext();
  const event = cardRequest("iauth_capped", "ic_capped_c", "ic_capped_b", 5_000);
  const answered = await recordEvent(store, event, Date.now(), { deadline: Deadline.after(100) });
  assertEquals([answered.record.approved, answered.unrecorded], [false, true]);
  const logged = await loggedFallback(store, "iauth_capped");
  assertEquals([logged?.approved, logged?.fallback], [false, answered.record.fallback]);
});

Deno.test("a late request logged after Stripe's event for it moves what that event held on the day before to its own day", async () => {
  using kv = await Deno.openKv(":memory:");
  const decide = createDecide([spendLimit({ window: "daily", maxAmount: { usd: 10_000 } })], {
    policyVersion: "test",
  });
  const store = testStore(kv, decide);
  const midnight = Math.floor(Date.now() / 86_400_000) * 86_400_000;
  const request = requestEvent({ id: "iauth_across_midnight", pending_request: { amount: 9_000 } });
  // Stripe created it a second before midnight, approved it by its timeout setting and said so
  // first; our request is logged just after midnight.
  authorizationOf(request).created = midnight / 1000 - 1;
  await reconcileLifecycle(store, request, "created", {
    status: "pending",
    approved: true,
    amount: 9_000,
    requests: [{ amount: 9_000, reason: "webhook_timeout" }],
  });
  assertEquals((await recordEvent(store, request, midnight + 1_000)).record.approved, true);
  const probe = (id: string, amount: number, at: number) =>
    recordRequest(
      store,
      authorizationOf(authorizationEvent("online", { id, pending_request: { amount } })),
      at,
    );
  // Held once: today, where the request was decided; yesterday's 9,000 was given back.
  assertEquals((await probe("iauth_yesterday", 10_000, midnight - 500)).record.approved, true);
  assertEquals((await probe("iauth_today_over", 1_001, midnight + 2_000)).record.approved, false);
  assertEquals((await probe("iauth_today_fits", 1_000, midnight + 3_000)).record.approved, true);
});

Deno.test("an approval answered while the store cannot commit for longer than its background time is still logged and reserved once it can", async () => {
  using kv = await Deno.openKv(":memory:");
  // Another process holds SQLite's write lock for 12 s: every commit until then is refused.
  const locked = lockedFor(kv, 12_000);
  const store = testStore(
    locked,
    createDecide([spendLimit({ window: "daily", maxAmount: { usd: 10_000 } })], {
      policyVersion: "test",
      fallback: "approve",
    }),
  );
  const authorization = authorizationOf(
    authorizationEvent("online", { id: "iauth_long_outage", pending_request: { amount: 6_000 } }),
  );
  const answered = await recordRequest(store, authorization, Date.now(), {
    deadline: Deadline.after(100),
  });
  assertEquals([answered.record.approved, answered.unrecorded], [true, true]);
  const logged = await pollUntil(
    "the answer not logged after the lock",
    () => store.get("iauth_long_outage"),
    (record) => record !== null,
    20_000,
  );
  assertEquals([logged?.approved, logged?.reservation.amount], [true, 6_000]);
  // Reserved: 6,000 of the 10,000 are taken.
  const next = authorizationOf(
    authorizationEvent("online", { id: "iauth_after_outage", pending_request: { amount: 5_000 } }),
  );
  assertEquals((await recordRequest(store, next)).record.approved, false);
});

Deno.test("a request decided again after a partial reversal changed what its authorization holds runs again the policies that read it", async () => {
  using kv = await Deno.openKv(":memory:");
  let gateEntered = () => {};
  const entered = new Promise<void>((resolve) => gateEntered = resolve);
  const { promise: opened, resolve: open } = Promise.withResolvers<void>();
  // A slow lookup (declaring no counters) holds the increment's first decision until the test
  // has Stripe's partial reversal committed.
  const gate: Policy = async function gate(authorization) {
    if (authorization.request_history.length > 0) {
      gateEntered();
      await opened;
    }
    return { outcome: "abstain" };
  };
  const store = testStore(
    kv,
    createDecide([
      gate,
      amountCap({ usd: 10_000 }),
      spendLimit({ window: "daily", maxAmount: { usd: 1_000_000 } }),
    ], { policyVersion: "test" }),
  );
  const first = requestEvent({
    id: "iauth_reversed_meanwhile",
    pending_request: { amount: 6_000 },
  });
  assertEquals((await recordEvent(store, first)).record.approved, true);
  const increment = requestEvent(
    { id: "iauth_reversed_meanwhile", pending_request: { amount: 5_000 } },
    [{ amount: 6_000 }],
  );
  const pending = recordEvent(store, increment);
  await entered;
  // Decided on 6,000 held, the increment would pass the 10,000 cap; Stripe now holds 1,000.
  await reconcileLifecycle(store, first, "updated", {
    status: "pending",
    approved: true,
    amount: 1_000,
    requests: [{ amount: 6_000 }],
  });
  open();
  const { record } = await pending;
  assertEquals([record.approved, record.held.amount], [true, 1_000]);
});

/** A store whose commits are refused for `ms` (another process holds the lock), and its log. */
function lockedStore(kv: Deno.Kv, ms: number): { store: DecisionStore; logs: LogRecord[] } {
  const logs: LogRecord[] = [];
  const store = createDecisionStore({
    kv: lockedFor(kv, ms),
    decide: createDecide(referencePipeline, { policyVersion: "test" }),
    log: (record) => logs.push(record),
    retentionMs: 86_400_000,
  });
  return { store, logs };
}

Deno.test("a store locked for 3 s logs its retries once a second, not at every attempt", async () => {
  using kv = await Deno.openKv(":memory:");
  const { store, logs } = lockedStore(kv, 3_000);
  const authorization = authorizationOf(authorizationEvent("online", { id: "iauth_locked_log" }));
  const { record } = await recordRequest(store, authorization);
  assertEquals(record.approved, true, "committed once the lock was gone");
  const retries = logs.filter((line) => line.msg === "store_retry");
  // Hundreds of attempts in 3 s, a few ms apart: a line for the first, then one a second.
  assert(retries.length >= 2 && retries.length <= 4, `${retries.length} lines`);
  assert(
    retries.slice(1).every((line) => (line.not_logged as number) > 0),
    "and says how many not",
  );
});

Deno.test("a request Stripe decided without us is held in its own day's windows", async (t) => {
  const day = 86_400_000;
  const d0 = Math.floor(Date.now() / day) * day - 3 * day + 36_000_000;
  const d3 = d0 + 3 * day;
  const seconds = (ms: number) => Math.floor(ms / 1000);
  const limited = (kv: Deno.Kv) =>
    testStore(
      kv,
      createDecide([spendLimit({ window: "daily", maxAmount: { usd: 10_000 } })], {
        policyVersion: "test",
      }),
    );
  /** Whether a purchase of `amount` on day 3 still fits the 10,000 daily limit. */
  const fitsOnDay3 = async (store: DecisionStore, id: string, amount: number) =>
    (await recordRequest(
      store,
      authorizationOf(authorizationEvent("online", { id, pending_request: { amount } })),
      d3 + 60_000,
    )).record.approved;
  /** Stripe's `.updated` for `id`: its first request on day 0, its 3,000 increment on day 3. */
  const incrementedOnDay3 = (id: string, first: string, increment: string) => {
    const event = lifecycleEvent(
      requestEvent({ id, pending_request: { amount: 3_000 } }, [{ amount: 5_000 }]),
      "issuing_authorization.updated",
      {
        status: "pending",
        approved: true,
        amount: 8_000,
        requests: [{ amount: 5_000, reason: first }, { amount: 3_000, reason: increment }],
      },
    );
    const authorization = authorizationOf(event) as Stripe.Issuing.Authorization;
    authorization.created = seconds(d0);
    authorization.request_history[0].created = seconds(d0);
    authorization.request_history[1].created = seconds(d3);
    return authorization;
  };

  await t.step(
    "an increment Stripe's network fallback approved on day 3, after ours on day 0",
    async () => {
      using kv = await Deno.openKv(":memory:");
      const store = limited(kv);
      const first = requestEvent({
        id: "iauth_fallback_increment",
        pending_request: { amount: 5_000 },
      });
      authorizationOf(first).created = seconds(d0);
      assertEquals((await recordEvent(store, first, d0)).record.approved, true);
      await store.reconcile(
        incrementedOnDay3("iauth_fallback_increment", "webhook_approved", "network_fallback"),
        "updated",
      );
      // Day 3 holds Stripe's 3,000: 7,000 more fit, not 7,001.
      assertEquals(await fitsOnDay3(store, "iauth_day3_over", 7_001), false);
      assertEquals(await fitsOnDay3(store, "iauth_day3_fits", 7_000), true);
    },
  );

  await t.step("an authorization that never reached us, incremented on day 3", async () => {
    using kv = await Deno.openKv(":memory:");
    const store = limited(kv);
    await store.reconcile(
      incrementedOnDay3("iauth_never_ours", "network_fallback", "network_fallback"),
      "updated",
    );
    assertEquals(await fitsOnDay3(store, "iauth_day3_over", 7_001), false);
    assertEquals(await fitsOnDay3(store, "iauth_day3_fits", 7_000), true);
  });

  await t.step(
    "an increment without a time of its own is held on the authorization's day",
    async () => {
      using kv = await Deno.openKv(":memory:");
      const store = limited(kv);
      const authorization = incrementedOnDay3(
        "iauth_timeless",
        "network_fallback",
        "network_fallback",
      );
      authorization.request_history[1].created = 0;
      await store.reconcile(authorization, "updated");
      // Day 0 holds all 8,000; day 3 nothing.
      assertEquals(await fitsOnDay3(store, "iauth_day3_whole", 10_000), true);
      const onDay0 = (id: string, amount: number) =>
        recordRequest(
          store,
          authorizationOf(authorizationEvent("online", { id, pending_request: { amount } })),
          d0 + 60_000,
        );
      assertEquals((await onDay0("iauth_day0_over", 2_001)).record.approved, false);
    },
  );

  await t.step("our own increment arriving after Stripe's word on it is held once", async () => {
    using kv = await Deno.openKv(":memory:");
    const store = limited(kv);
    const first = requestEvent({ id: "iauth_late_increment", pending_request: { amount: 5_000 } });
    authorizationOf(first).created = seconds(d0);
    assertEquals((await recordEvent(store, first, d0)).record.approved, true);
    await store.reconcile(
      incrementedOnDay3("iauth_late_increment", "webhook_approved", "webhook_timeout"),
      "updated",
    );
    const increment = requestEvent(
      { id: "iauth_late_increment", pending_request: { amount: 3_000 } },
      [{ amount: 5_000 }],
    );
    authorizationOf(increment).created = seconds(d0);
    await recordEvent(store, increment, d3);
    assertEquals(await fitsOnDay3(store, "iauth_day3_over", 7_001), false);
    assertEquals(await fitsOnDay3(store, "iauth_day3_fits", 7_000), true);
  });
});

Deno.test("answers waiting out a lock log their retries once a second; a stop wakes them to commit at once", async () => {
  using kv = await Deno.openKv(":memory:");
  // Locked just past the first attempt's 10 s: the retries then pause 1 s before their next attempt.
  const { store, logs } = lockedStore(kv, 10_500);
  const ids = Array.from({ length: 20 }, (_, i) => `iauth_paused_${i}`);
  const answers = await Promise.all(
    ids.map((id) =>
      recordRequest(store, authorizationOf(authorizationEvent("online", { id })), Date.now(), {
        deadline: Deadline.after(300),
      })
    ),
  );
  assert(answers.every((answer) => answer.unrecorded));
  await pollUntil(
    "the retries' pause",
    () => Promise.resolve(logs.some((line) => line.msg === "store_record_retry")),
    (paused) => paused,
    15_000,
  );
  // Past the lock, about a quarter into the pause.
  await new Promise((resolve) => setTimeout(resolve, 250));
  // 20 answers paused within the same second: one line, not one each.
  assertEquals(logs.filter((line) => line.msg === "store_record_retry").length, 1);
  const started = performance.now();
  assertEquals(await store.stop(), 0, "nothing left unrecorded");
  // Woken: committed at once, not after the rest of their 1 s pause (about 750 ms).
  assert(performance.now() - started < 450, `${performance.now() - started} ms`);
  for (const [i, id] of ids.entries()) {
    assertEquals((await store.get(id))?.approved, answers[i].record.approved);
  }
});

/** Six counters: daily and rolling (an hour), spend and count, per card; daily per cardholder. */
function sixCounters(): Policy[] {
  return [
    spendLimit({ window: "daily", maxAmount: { usd: 1_000_000 } }),
    countLimit({ window: "daily", maxCount: 1_000 }),
    spendLimit({ window: { rollingMinutes: 60 }, maxAmount: { usd: 1_000_000 } }),
    countLimit({ window: { rollingMinutes: 60 }, maxCount: 1_000 }),
    spendLimit({ per: "cardholder", window: "daily", maxAmount: { usd: 1_000_000 } }),
    countLimit({ per: "cardholder", window: "daily", maxCount: 1_000 }),
  ];
}

Deno.test("requests Stripe decided without us stay within the state's bounds", async (t) => {
  const day = 86_400_000;
  const d0 = Math.floor(Date.now() / day) * day - 3 * day + 36_000_000;
  const seconds = (ms: number) => Math.floor(ms / 1000);
  /** Our request at position `earlier.length`, on an authorization created at `createdMs`. */
  const ours = (id: string, amount: number, earlier: PastRequest[], createdMs: number) => {
    const event = requestEvent({ id, pending_request: { amount } }, earlier);
    authorizationOf(event).created = seconds(createdMs);
    return event;
  };
  /** Stripe's `.updated` listing `requests`, each at its time. */
  const updated = (id: string, requests: PastRequest[], amount: number, times: number[]) => {
    const authorization = authorizationOf(
      lifecycleEvent(
        requestEvent({ id, pending_request: { amount: requests[0].amount } }),
        "issuing_authorization.updated",
        { status: "pending", approved: true, amount, requests },
      ),
    ) as Stripe.Issuing.Authorization;
    authorization.created = seconds(times[0]);
    authorization.request_history.forEach((entry, i) => entry.created = seconds(times[i]));
    return authorization;
  };
  /** Ours first, 20 days ago; then Stripe's word on `n - 1` increments, one a day, it decided alone. */
  const incrementedDaily = async (kv: Deno.Kv, policies: Policy[], n: number) => {
    const store = testStore(kv, createDecide(policies, { policyVersion: "test" }));
    const start = d0 - 17 * day;
    await recordEvent(store, ours("iauth_daily", 1_000, [], start), start);
    const requests: PastRequest[] = [
      { amount: 1_000 },
      ...Array.from({ length: n - 1 }, () => ({ amount: 100, reason: "network_fallback" })),
    ];
    const times = requests.map((_, i) => start + i * day);
    return {
      store,
      requests,
      start,
      event: updated("iauth_daily", requests, 1_000 + 100 * (n - 1), times),
    };
  };

  await t.step(
    "16 of them on a state already full: reconciled, not 'Value too large'",
    async () => {
      using kv = await Deno.openKv(":memory:");
      const policies: Policy[] = [];
      for (const per of ["card", "cardholder"] as const) {
        for (const window of ["daily", "weekly", "monthly", "yearly"] as const) {
          policies.push(
            spendLimit({ per, window, maxAmount: { usd: 100_000_000 } }),
            countLimit({ per, window, maxCount: 100_000 }),
          );
        }
      }
      const store = testStore(kv, createDecide(policies, { policyVersion: "test" }));
      const history: PastRequest[] = Array.from({ length: 16 }, () => ({
        amount: 10,
        reason: "network_fallback",
      }));
      // Ours after them, until the state takes no more.
      while (
        (await recordEvent(store, ours("iauth_full", 10, history, d0), d0 + history.length * 1_000))
          .record.approved
      ) history.push({ amount: 10 });
      const times = history.map((_, i) => d0 + i * 1_000);
      await store.reconcile(updated("iauth_full", history, 10 * history.length, times), "updated");
    },
  );

  await t.step(
    "16 of them on 16 days under 7 counters: reconciled within KV's 100 checks",
    async () => {
      using kv = await Deno.openKv(":memory:");
      const { store, event } = await incrementedDaily(kv, [
        ...sixCounters(),
        spendLimit({
          per: "cardholder",
          window: { rollingMinutes: 60 },
          maxAmount: { usd: 1_000_000 },
        }),
      ], 16);
      await store.reconcile(event, "updated");
    },
  );

  await t.step(
    "13 of them on 13 days: our increments on the days after are still decided",
    async () => {
      using kv = await Deno.openKv(":memory:");
      const { store, event, requests, start } = await incrementedDaily(kv, sixCounters(), 13);
      await store.reconcile(event, "updated");
      for (let i = 13; i < 21; i++) {
        const next = await recordEvent(
          store,
          ours("iauth_daily", 100, requests, start),
          start + i * day,
        );
        assertEquals([next.record.approved, next.unrecorded, next.record.reasons], [
          true,
          undefined,
          [],
        ]);
        requests.push({ amount: 100 });
      }
    },
  );

  await t.step(
    "on a replacement card, 12 of them: our next increment is still decided",
    async () => {
      using kv = await Deno.openKv(":memory:");
      const store = testStore(kv, createDecide(sixCounters(), { policyVersion: "test" }));
      await store.recordCard({ id: "ic_mid", replacement_for: "ic_old" } as Stripe.Issuing.Card);
      await store.recordCard({ id: "ic_old", replacement_for: "ic_older" } as Stripe.Issuing.Card);
      const onChain = (event: Stripe.Event) => {
        authorizationOf(event).card.replacement_for = "ic_mid";
        return event;
      };
      const start = d0 - 17 * day;
      await recordEvent(store, onChain(ours("iauth_chain", 1_000, [], start)), start);
      const requests: PastRequest[] = [
        { amount: 1_000 },
        ...Array.from({ length: 12 }, () => ({ amount: 100, reason: "network_fallback" })),
      ];
      const event = updated(
        "iauth_chain",
        requests,
        2_200,
        requests.map((_, i) => start + i * day),
      );
      event.card.replacement_for = "ic_mid";
      await store.reconcile(event, "updated");
      const next = await recordEvent(store, onChain(ours("iauth_chain", 100, requests, start)));
      assertEquals([next.record.approved, next.unrecorded], [true, undefined]);
    },
  );

  await t.step(
    "a reduction comes off the oldest, not off increments held past the bounds",
    async () => {
      using kv = await Deno.openKv(":memory:");
      const store = testStore(
        kv,
        createDecide([
          spendLimit({ window: "daily", maxAmount: { usd: 1_000_000 } }),
          countLimit({ window: "daily", maxCount: 1_000 }),
        ], { policyVersion: "test" }),
      );
      const start = d0 - 10 * day;
      // Ours on day 0 (1,000), then 9 of 100 Stripe decided alone, a day apart: past the 12 extra
      // counters (2 a day), the last ones are held with the newest that has an entry.
      const requests: PastRequest[] = [
        { amount: 1_000 },
        ...Array.from({ length: 9 }, () => ({ amount: 100, reason: "network_fallback" })),
      ];
      const times = requests.map((_, i) => start + i * day);
      await recordEvent(store, ours("iauth_past_bounds", 1_000, [], start), start);
      await store.reconcile(updated("iauth_past_bounds", requests, 1_900, times), "updated");
      // A partial reversal to 1,500: 400 off day 0; every increment still held.
      await store.reconcile(updated("iauth_past_bounds", requests, 1_500, times), "updated");
      const onDay0 = (id: string, amount: number) =>
        recordRequest(
          store,
          authorizationOf(authorizationEvent("online", { id, pending_request: { amount } })),
          start + 60_000,
        );
      // Day 0 holds 600 of its 1,000,000: 999,400 more fit there, not 999,401.
      assertEquals((await onDay0("iauth_day0_over", 999_401)).record.approved, false);
      assertEquals((await onDay0("iauth_day0_fits", 999_400)).record.approved, true);
    },
  );

  await t.step("a first request on a three-card chain under six counters is decided", async () => {
    using kv = await Deno.openKv(":memory:");
    // 33 keys a card: with the chain's links, three cards leave no room for the job's other keys.
    const store = testStore(
      kv,
      createDecide([
        spendLimit({ window: { rollingMinutes: 60 }, maxAmount: { usd: 1_000_000 } }),
        countLimit({ window: { rollingMinutes: 60 }, maxCount: 1_000 }),
        spendLimit({ window: { rollingMinutes: 30 }, maxAmount: { usd: 1_000_000 } }),
        spendLimit({ window: "daily", maxAmount: { usd: 1_000_000 } }),
        countLimit({ window: "daily", maxCount: 1_000 }),
        spendLimit({ window: "weekly", maxAmount: { usd: 1_000_000 } }),
      ], { policyVersion: "test" }),
    );
    await store.recordCard({ id: "ic_c1", replacement_for: "ic_c2" } as Stripe.Issuing.Card);
    const first = ours("iauth_chain_first", 1_000, [], Date.now());
    authorizationOf(first).card.replacement_for = "ic_c1";
    const decided = await recordEvent(store, first);
    assertEquals([decided.record.approved, decided.unrecorded], [true, undefined]);
  });

  await t.step(
    "a reduction comes off the oldest position, however the requests were stored",
    async () => {
      using kv = await Deno.openKv(":memory:");
      const store = testStore(
        kv,
        createDecide([spendLimit({ window: "daily", maxAmount: { usd: 10_000 } })], {
          policyVersion: "test",
        }),
      );
      const [d1, d2] = [d0 + day, d0 + 2 * day];
      await recordEvent(store, ours("iauth_order", 5_000, [], d0), d0);
      const [first, increment] = [{ amount: 5_000 }, { amount: 3_000, reason: "network_fallback" }];
      // Ours at position 2 on day 2, before Stripe's word on position 1 (day 1).
      await recordEvent(store, ours("iauth_order", 2_000, [first, increment], d0), d2);
      // Stripe holds 4,000 of the 10,000 after a partial reversal: positions 2 and 1 keep 2,000 each.
      await store.reconcile(
        updated("iauth_order", [first, increment, { amount: 2_000 }], 4_000, [d0, d1, d2]),
        "updated",
      );
      const fits = async (id: string, at: number, amount: number) =>
        (await recordRequest(
          store,
          authorizationOf(authorizationEvent("online", { id, pending_request: { amount } })),
          at,
        )).record.approved;
      assertEquals(await fits("iauth_day1_over", d1 + 60_000, 8_001), false);
      assertEquals(await fits("iauth_day2_over", d2 + 60_000, 8_001), false);
      assertEquals(await fits("iauth_day0_whole", d0 + 60_000, 10_000), true);
    },
  );
});

/** A store deciding under {@linkcode sixCounters}. */
function sixCountersStore(kv: Deno.Kv): DecisionStore {
  return testStore(kv, createDecide(sixCounters(), { policyVersion: "test" }));
}

/** Every velocity counter: its key, amount and count. */
async function countersIn(kv: Deno.Kv) {
  const counters: { key: Deno.KvKey; amount: number; count: number }[] = [];
  for await (
    const { key, value } of kv.list<{ amount: number; count: number }>({ prefix: ["usage"] })
  ) {
    counters.push({ key, ...value });
  }
  return counters;
}

/** What every counter holds: amount and count, each. */
async function usageHeld(kv: Deno.Kv): Promise<number[]> {
  return (await countersIn(kv)).flatMap(({ amount, count }) => [amount, count]);
}

/** What each daily counter holds: [amount, count]. */
async function dailyHeld(kv: Deno.Kv): Promise<[number, number][]> {
  return (await countersIn(kv)).flatMap(({ key, amount, count }) =>
    key.includes("daily") ? [[amount, count] as [number, number]] : []
  );
}

/**
 * Our requests of 100 on authorization `id` until `requests` (which grows)
 * holds `to`, the one at position n received on day n of the last 26, each
 * approved and committed; the last one.
 */
async function incrementsDaily(
  store: DecisionStore,
  id: string,
  requests: PastRequest[],
  to: number,
): Promise<Stripe.Event> {
  const day = 86_400_000;
  const start = Math.floor(Date.now() / day) * day - 26 * day + 36_000_000;
  let last!: Stripe.Event;
  while (requests.length < to) {
    last = requestEvent({ id, pending_request: { amount: 100 } }, requests);
    authorizationOf(last).created = Math.floor(start / 1000);
    const { record, unrecorded } = await recordEvent(store, last, start + requests.length * day);
    assertEquals([record.approved, unrecorded, record.reasons], [true, undefined, []]);
    requests.push({ amount: 100 });
  }
  return last;
}

/** Stripe's `.updated` for the authorization of `request`: `status`, holding `amount` of `requests`. */
function updatedAs(
  request: Stripe.Event,
  status: "pending" | "reversed" | "expired",
  amount: number,
  requests: PastRequest[],
): Stripe.Issuing.Authorization {
  return authorizationOf(
    lifecycleEvent(request, "issuing_authorization.updated", {
      status,
      approved: true,
      amount,
      requests,
    }),
  ) as Stripe.Issuing.Authorization;
}

Deno.test("our own increments on 25 days under six counters (151 keys, past one commit's 100 checks) are reconciled in steps: a reversal gives every day back", async () => {
  using kv = await Deno.openKv(":memory:");
  const store = sixCountersStore(kv);
  const requests: PastRequest[] = [];
  const last = await incrementsDaily(store, "iauth_ours_25_days", requests, 25);
  assert((await usageHeld(kv)).some((n) => n > 0));
  const reconciliation = await store.reconcile(updatedAs(last, "reversed", 0, requests), "updated");
  assertEquals(reconciliation.status, "reversed");
  assertEquals((await usageHeld(kv)).filter((n) => n !== 0), []);
  assertEquals((await store.get("iauth_ours_25_days"))?.reservation.amount, 0);
});

Deno.test("after Stripe's word on 10 days of our increments under six counters, our next increments are decided, not a fallback, and every day holds its own", async () => {
  using kv = await Deno.openKv(":memory:");
  const store = sixCountersStore(kv);
  const id = "iauth_ours_after_stripe";
  const requests: PastRequest[] = [];
  let last = await incrementsDaily(store, id, requests, 10);
  // Reconciled in one commit; each later increment reads what it reserved in beside its own.
  await store.reconcile(updatedAs(last, "pending", 1_000, requests), "updated");
  last = await incrementsDaily(store, id, requests, 25);
  // Each day's four daily counters (spend and count, per card and per cardholder) hold its 100,
  // and the authorization counts once, on its first day.
  const daily = await dailyHeld(kv);
  assertEquals(daily.length, 4 * 25);
  assertEquals(daily.filter(([amount]) => amount !== 100), []);
  assertEquals(daily.reduce((sum, [, count]) => sum + count, 0), 4);
  await store.reconcile(updatedAs(last, "reversed", 0, requests), "updated");
  assertEquals((await usageHeld(kv)).filter((n) => n !== 0), []);
});

Deno.test("a capture after expiry, linked to our own increments on 25 days under six counters, holds every day's share again, in steps", async () => {
  using kv = await Deno.openKv(":memory:");
  const store = sixCountersStore(kv);
  const id = "iauth_captured_25_days";
  const requests: PastRequest[] = [];
  const last = await incrementsDaily(store, id, requests, 25);
  await store.reconcile(updatedAs(last, "expired", 0, requests), "updated");
  assertEquals((await usageHeld(kv)).filter((n) => n !== 0), []);
  // Stripe captured all of it after it expired: 2,500, signed as Stripe signs a capture.
  const capture = transactionEvent(last, { id: "ipi_late_capture", amount: -2_500, linked: true });
  assertEquals(
    await store.recordTransaction(capture.data.object as Stripe.Issuing.Transaction),
    "applied",
  );
  const daily = await dailyHeld(kv);
  assertEquals(daily.length, 4 * 25);
  assertEquals(daily.filter(([amount]) => amount !== 100), []);
});

Deno.test("two deliveries of a reversal at once on our own increments on 25 days under six counters settle together", async () => {
  using kv = await Deno.openKv(":memory:");
  const store = sixCountersStore(kv);
  const requests: PastRequest[] = [];
  const last = await incrementsDaily(store, "iauth_settled_twice", requests, 25);
  const reversed = updatedAs(last, "reversed", 0, requests);
  const [first, second] = await Promise.all([
    store.reconcile(reversed, "updated"),
    store.reconcile(structuredClone(reversed), "updated"),
  ]);
  assertEquals([first.status, second.status], ["reversed", "reversed"]);
  assertEquals((await usageHeld(kv)).filter((n) => n !== 0), []);
});

Deno.test("on a replacement chain whose counters fill a commit, what a request after Stripe's word could not move is settled after it", async (t) => {
  const day = 86_400_000;
  const start = Math.floor(Date.now() / day) * day - 3 * day + 36_000_000;
  // 46 keys a card (four rolling windows of 10 buckets, six calendar ones): two cards of the chain
  // fill the commit, and the first request's counters do not fit beside them.
  const usd = { usd: 1_000_000 };
  const chainStore = (kv: Deno.Kv) =>
    testStore(
      kv,
      createDecide([
        ...[{ rollingMinutes: 60 }, { rollingMinutes: 30 }, "daily", "weekly"].flatMap((
          window,
        ) => [
          spendLimit({ window: window as VelocityWindow, maxAmount: usd }),
          countLimit({ window: window as VelocityWindow, maxCount: 1_000 }),
        ]),
        spendLimit({ window: "monthly", maxAmount: usd }),
        spendLimit({ window: "yearly", maxAmount: usd }),
      ], { policyVersion: "test" }),
    );
  const id = "iauth_settled_after";
  const onChain = (event: Stripe.Event) => {
    authorizationOf(event).card.replacement_for = "ic_c1";
    authorizationOf(event).created = Math.floor(start / 1000);
    return event;
  };
  /** A request of 1,000 on the chain; Stripe captured 1,500 of it (a tip); the increment next. */
  const tipped = async (store: DecisionStore) => {
    await store.recordCard({ id: "ic_c1", replacement_for: "ic_c2" } as Stripe.Issuing.Card);
    const first = onChain(requestEvent({ id, pending_request: { amount: 1_000 } }));
    assertEquals((await recordEvent(store, first, start)).record.approved, true);
    await store.reconcile(updatedAs(first, "pending", 1_000, [{ amount: 1_000 }]), "updated");
    const tip = transactionEvent(first, { id: "ipi_tip", amount: -1_500, linked: true });
    await store.recordTransaction(tip.data.object as Stripe.Issuing.Transaction);
    return onChain(requestEvent({ id, pending_request: { amount: 100 } }, [{ amount: 1_000 }]));
  };
  const byDay = async (kv: Deno.Kv) => {
    const held: Record<string, number> = {};
    for await (const { key, value } of kv.list<{ amount: number }>({ prefix: ["usage"] })) {
      if (key.includes("daily") && key.includes("usd")) held[String(key.at(-1))] = value.amount;
    }
    return Object.values(held).toSorted((a, b) => a - b);
  };
  const settled = (kv: Deno.Kv, held: number[]) =>
    pollUntil(
      "the first day's hold settled",
      () => byDay(kv),
      (by) => by.join() === held.join(),
      10_000,
    );

  // The newest request holds the 500 more than its hold: the increment takes it on, and the first
  // day's counters, which it cannot read, give it back after.
  await t.step("answered", async () => {
    using kv = await Deno.openKv(":memory:");
    const store = chainStore(kv);
    const { record, unrecorded } = await recordEvent(store, await tipped(store), start + day);
    assertEquals([record.approved, unrecorded], [true, undefined]);
    assertEquals(await settled(kv, [600, 1_000]), [600, 1_000]);
  });

  await t.step("a fallback, recorded after its answer", async () => {
    using kv = await Deno.openKv(":memory:");
    const commits = stallingCommits(kv);
    const store = chainStore(commits.kv);
    const increment = await tipped(store);
    commits.stallFor(300);
    const answered = await recordEvent(store, increment, start + day, {
      deadline: Deadline.after(100),
    });
    assertEquals([answered.record.approved, answered.unrecorded], [false, true]);
    commits.release();
    await commits.settled();
    assertEquals(await settled(kv, [500, 1_000]), [500, 1_000]);
  });
});

Deno.test("a late increment racing Stripe's event that lists it, in another day's windows, is counted once", async (t) => {
  const day = 86_400_000;
  const start = Math.floor(Date.now() / day) * day - 5 * day + 36_000_000;
  const both = [{ amount: 5_000 }, { amount: 3_000 }];
  for (
    const [name, word] of [
      ["pending", (increment: Stripe.Event) => updatedAs(increment, "pending", 8_000, both)],
      ["closed, its capture's own event first", (increment: Stripe.Event) =>
        authorizationOf(
          lifecycleEvent(increment, "issuing_authorization.updated", {
            status: "closed",
            approved: true,
            amount: 0,
            requests: both,
            transactions: [-8_000],
          }),
        ) as Stripe.Issuing.Authorization],
    ] as const
  ) {
    await t.step(name, async () => {
      using kv = await Deno.openKv(":memory:");
      const store = testStore(
        kv,
        createDecide([spendLimit({ window: "daily", maxAmount: { usd: 1_000_000 } })], {
          policyVersion: "test",
        }),
      );
      const id = "iauth_late_racing";
      const ours = (earlier: PastRequest[], amount: number) => {
        const event = requestEvent({ id, pending_request: { amount } }, earlier);
        authorizationOf(event).created = Math.floor(start / 1000);
        return event;
      };
      const first = ours([], 5_000);
      await recordEvent(store, first, start);
      await store.reconcile(updatedAs(first, "pending", 5_000, [{ amount: 5_000 }]), "updated");
      // Our 3,000 increment, received 10 s after midnight two days later, answered late: Stripe
      // stamped it 20 s before midnight, and its event listing it commits while ours is decided.
      const increment = ours([{ amount: 5_000 }], 3_000);
      const receivedAt = Math.floor(start / day) * day + 2 * day + 10_000;
      const listed = word(increment);
      listed.request_history[1].created = Math.floor((receivedAt - 20_000) / 1000);
      if (listed.status === "closed") {
        // The id the closing event lists it under (fixtures/lifecycle.ts).
        const capture = transactionEvent(increment, {
          id: "ipi_late_racing_0",
          amount: -8_000,
          linked: true,
        });
        await store.recordTransaction(capture.data.object as Stripe.Issuing.Transaction);
      }
      await Promise.all([
        recordEvent(store, increment, receivedAt),
        store.reconcile(listed, "updated"),
      ]);
      const held = (await dailyHeld(kv)).map(([amount]) => amount).filter((n) => n > 0);
      assertEquals(held.toSorted((a, b) => a - b), [3_000, 5_000]);
    });
  }
});

Deno.test("a late request between whose asks three of Stripe's events land (another process) is still decided, and what it could not read is settled after", async () => {
  using kv = await Deno.openKv(":memory:");
  const decide = createDecide([spendLimit({ window: "daily", maxAmount: { usd: 1_000_000 } })], {
    policyVersion: "test",
  });
  const other = testStore(kv, decide);
  // Each commit of ours that writes nothing (a run that asks for more keys) lets the next of
  // Stripe's events land, in the other process, before our next run.
  const landing: (() => Promise<unknown>)[] = [];
  const ours = testStore(
    withAtomicHook(kv, (operation) => {
      let writes = 0;
      const set = operation.set.bind(operation);
      operation.set = (...args) => (writes++, set(...args));
      const commit = operation.commit.bind(operation);
      operation.commit = async () => {
        const result = await commit();
        if (result.ok && writes === 0) await landing.shift()?.();
        return result;
      };
    }),
    decide,
  );
  const day = 86_400_000;
  const d0 = Math.floor(Date.now() / day) * day - 6 * day + 36_000_000;
  const id = "iauth_asks_between";
  const first = requestEvent({ id, pending_request: { amount: 5_000 } });
  authorizationOf(first).created = Math.floor(d0 / 1000);
  await recordEvent(other, first, d0);
  // Our increment timed out at Stripe, stamped 20 s before the midnight after which it reached us;
  // Stripe decides the next ones alone, on the days after.
  const received = Math.floor(d0 / day) * day + day + 10_000;
  const word = (n: number) => {
    const requests: PastRequest[] = [
      { amount: 5_000 },
      { amount: 1_000, reason: "webhook_timeout" },
      ...Array.from({ length: n - 2 }, () => ({ amount: 100, reason: "network_fallback" })),
    ];
    const told = updatedAs(first, "pending", 5_800 + 100 * n, requests);
    told.request_history.forEach((request, i) =>
      request.created = Math.floor(
        (i === 0 ? d0 : i === 1 ? received - 20_000 : received + (i - 1) * day) / 1000,
      )
    );
    return told;
  };
  await other.reconcile(word(2), "updated");
  landing.push(...[3, 4, 5].map((n) => () => other.reconcile(word(n), "updated")));
  const increment = requestEvent({ id, pending_request: { amount: 1_000 } }, [{ amount: 5_000 }]);
  authorizationOf(increment).created = Math.floor(d0 / 1000);
  const { record, unrecorded } = await recordEvent(ours, increment, received);
  assertEquals([landing.length, record.approved, record.reasons, unrecorded], [
    0,
    true,
    [],
    undefined,
  ]);
  // Each day holds its own: ours on the day it reached us, Stripe's on theirs.
  const held = async () =>
    (await dailyHeld(kv)).map(([amount]) => amount).filter((n) => n > 0).toSorted((a, b) => a - b);
  assertEquals(
    await pollUntil(
      "every day settled",
      held,
      (amounts) => amounts.join() === "100,100,100,1000,5000",
      10_000,
    ),
    [100, 100, 100, 1_000, 5_000],
  );
});

Deno.test("transactions linked one by one stop at what the authorization's state can keep, before or after its lifecycle", async (t) => {
  using kv = await Deno.openKv(":memory:");
  const store = testStore(kv);
  // Before: its state grew past one KV value, and each transaction after was a commit error (a 503).
  const linkAll = async (request: Stripe.Event, count: number) => {
    const refused: unknown[] = [];
    for (let from = 0; from < count; from += 100) {
      await Promise.all(Array.from({ length: Math.min(100, count - from) }, (_, i) => {
        const id = `ipi_${String(from + i).padStart(24, "0")}`;
        const transaction = transactionEvent(request, { id, amount: -1, linked: true });
        return store.recordTransaction(transaction.data.object as Stripe.Issuing.Transaction)
          .catch((error) => refused.push(error));
      }));
    }
    return refused;
  };
  for (const lifecycleFirst of [false, true]) {
    await t.step(lifecycleFirst ? "after its .created" : "before any lifecycle event", async () => {
      const id = `iauth_linked_${lifecycleFirst ? "after" : "before"}`;
      const request = requestEvent({ id, pending_request: { amount: 5_000 } });
      if (lifecycleFirst) {
        await reconcileLifecycle(store, request, "created", {
          status: "pending",
          approved: true,
          amount: 5_000,
          requests: [{ amount: 5_000 }],
        });
      }
      const refused = await linkAll(request, 2_400);
      assert(refused.length > 0 && refused.length < 2_400, `${refused.length} refused`);
      assert(refused.every((error) => error instanceof StateFullError), String(refused[0]));
      const stored = await kv.get(["authorization", id]);
      assert(stored.versionstamp !== null);
    });
  }
});
