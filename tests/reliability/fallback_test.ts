/**
 * What the service answers when its store cannot decide or commit in time
 * with `FALLBACK_DECISION=approve` (issue 15): the approving fallback stands
 * in for a decision that is unknown, never for a decline in hand, one the
 * policies make without the store, or what an earlier delivery answered; and
 * a card's limits hold through the outage and after it.
 */
import { abstain, decline, limit, type Policy } from "../../lib/engine/policy.ts";
import { amountCap } from "../../policies/amount_cap.ts";
import { blockCategories } from "../../policies/block_categories.ts";
import { spendLimit } from "../../policies/spend_limit.ts";
import { when } from "../../policies/when.ts";
import { assert, assertEquals } from "../_assert.ts";
import { delayedGetMany, refusingCommits, withMethod } from "../_kv.ts";
import { postSigned, startTestServer, type TestServer } from "../_helpers.ts";
import { pollUntil } from "../_store.ts";
import { authorizationEvent, type AuthorizationPatch } from "../../fixtures/events.ts";
import { requestEvent } from "../../fixtures/lifecycle.ts";

const ADMIN_TOKEN = "fallback-admin-token-0123456789";
const APPROVING = { ADMIN_TOKEN, DECISION_BUDGET_MS: "100", FALLBACK_DECISION: "approve" };

/** The service with {@linkcode APPROVING}, deciding by `policies` on `kv` (else its own). */
function approvingServer(kv: Deno.Kv | undefined, ...policies: Policy[]): Promise<TestServer> {
  return startTestServer(APPROVING, { kv, policies });
}

async function post(url: string, event: unknown) {
  const response = await postSigned(`${url}/webhook`, event);
  return { status: response.status, body: await response.json() };
}

/** The answer's reasons, in order. */
const reasons = ({ metadata }: { metadata: Record<string, string> }) =>
  Object.entries(metadata).filter(([key]) => key.startsWith("reason_")).map(([, value]) => value);

/**
 * A KV (`kv`, else a new one) whose commits are refused while `locked` is set,
 * as SQLite's while another process writes (or, given its words, while its
 * disk is full).
 */
async function lockableKv(kv?: Deno.Kv, error = "database is locked") {
  const lock = { locked: false };
  const { kv: refusing } = refusingCommits(
    kv ?? await Deno.openKv(":memory:"),
    () => lock.locked,
    error,
  );
  return Object.assign(lock, { kv: refusing });
}

/** `id`'s logged record, once its recording (retried after an outage) has landed: 5 s at most. */
async function loggedOnce(server: TestServer, id: string) {
  const response = await pollUntil(
    `${id} logged`,
    () => server.decision(id),
    (response) => response.ok || (response.body?.cancel(), false),
    5_000,
  );
  return await response.json();
}

/** A KV whose reads never answer while `hanging` is set, fail while `failing` is, or take `slowMs`. */
async function faultyReadsKv() {
  const faults = { hanging: false, failing: false, slowMs: 0 };
  let kv = await Deno.openKv(":memory:");
  for (const method of ["get", "getMany"] as const) {
    const read = kv[method].bind(kv) as (...args: unknown[]) => Promise<unknown>;
    kv = withMethod(
      kv,
      method,
      ((...args: unknown[]) =>
        faults.hanging
          ? new Promise(() => {})
          : faults.failing
          ? Promise.reject(new TypeError("connection reset"))
          : faults.slowMs
          ? new Promise((resolve) => setTimeout(resolve, faults.slowMs)).then(() => read(...args))
          : read(...args)) as Deno.Kv[typeof method],
    );
  }
  return Object.assign(faults, { kv });
}

/** 1,000.00 a day per card, the limit most of these tests set. */
const thousandADay = spendLimit({ window: "daily", maxAmount: { usd: 100_000 } });

/** A 600.00 request on `card`: under {@linkcode thousandADay}, one fits. */
const sixHundred = (id: string, card: string) =>
  authorizationEvent("online", { id, card: { id: card }, pending_request: { amount: 60_000 } });

/** A request of `amount` on `card`, a card that replaces `replaces` (`null`: none). */
function onCard(id: string, card: string, replaces: string | null, amount: number) {
  const event = authorizationEvent("online", {
    id,
    card: { id: card },
    pending_request: { amount },
  });
  (event.data.object as { card: { replacement_for: string | null } }).card.replacement_for =
    replaces;
  return event;
}

/** Partially approves an authorization's first request over 2,000 (to 2,000). */
const partialFirst: Policy = function partialFirst(authorization) {
  const { amount } = authorization.pending_request;
  return authorization.request_history.length === 0 && amount > 2_000
    ? limit(2_000, "amount_over_cap", "usd")
    : abstain();
};

Deno.test("an approving fallback for a request the store never decided still declines what needs no store", async () => {
  const store = await lockableKv();
  await using server = await approvingServer(
    store.kv,
    blockCategories(["betting_casino_gambling"]),
    amountCap({ usd: 100_000 }),
    spendLimit({ window: "daily", maxAmount: { usd: 1_000_000 } }),
  );
  const onLockedCard = (id: string, patch: AuthorizationPatch) =>
    authorizationEvent("online", { id, card: { id: "ic_locked" }, ...patch });
  store.locked = true;
  // Decided, then answered as decided when its commit cannot land; that commit, retried in the
  // background, holds the card's keys: the requests after it on the card are never decided.
  const first = await post(server.url, onLockedCard("iauth_locked_first", {}));
  assertEquals(first.body.approved, true);
  const casino = await post(
    server.url,
    onLockedCard("iauth_locked_casino", {
      merchant_data: { category: "betting_casino_gambling", category_code: "7995" },
    }),
  );
  assertEquals([casino.body.approved, reasons(casino.body)], [false, [
    "mcc_blocked:betting_casino_gambling (blockCategories)",
    "fallback:store_timeout (store)",
  ]]);
  const overCap = await post(
    server.url,
    onLockedCard("iauth_locked_overCap", {
      pending_request: { amount: 150_000, is_amount_controllable: true },
    }),
  );
  assertEquals([overCap.body.approved, overCap.body.amount], [true, 100_000]);
  const grocery = await post(server.url, onLockedCard("iauth_locked_grocery", {}));
  assertEquals([grocery.body.approved, reasons(grocery.body)], [true, [
    "fallback:store_timeout (store)",
  ]]);
  assertEquals(
    server.logs.filter((r) => r.msg === "store_fallback").map((r) => r.answered),
    ["decided", "decided_without_store", "decided_without_store", "fallback"],
  );

  store.locked = false;
  // Each answer is committed as answered once the store commits again (the retry's pause: 1 s).
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  for (const [id, { body }] of Object.entries({ casino, overCap })) {
    const record = await (await server.decision(`iauth_locked_${id}`)).json();
    assertEquals([record.fallback, record.response], ["store_timeout", body]);
  }
});

Deno.test("a card's daily limit holds through a locked store with FALLBACK_DECISION=approve, and after it", async () => {
  const store = await lockableKv();
  await using server = await approvingServer(
    store.kv,
    spendLimit({ window: "daily", maxAmount: { usd: 500_000 } }),
  );
  const request = async (id: string, amount: number) =>
    (await post(
      server.url,
      authorizationEvent("online", {
        id,
        card: { id: "ic_outage" },
        pending_request: { amount, is_amount_controllable: true },
      }),
    )).body;
  store.locked = true;
  const first = await request("iauth_outage_0", 200_000);
  assertEquals([first.approved, first.amount], [true, undefined]);
  // Its commit, retried in the background, fails its first attempt (10 s) and pauses.
  await pollUntil(
    "the retry's pause",
    () => Promise.resolve(server.logs.some((r) => r.msg === "store_record_retry")),
    (paused) => paused,
    15_000,
  );
  // The store is back, before the first answer's retry lands: the next request is decided and
  // committed against the store, which does not hold that answer yet.
  store.locked = false;
  const second = await request("iauth_outage_1", 400_000);
  assertEquals([second.approved, second.amount, reasons(second)], [true, 300_000, [
    "spend_limit_exceeded:daily:usd (spendLimit)",
  ]]);
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  assertEquals((await request("iauth_outage_landed", 1)).approved, false);
  const held = await Promise.all(
    [0, 1].map(async (i) =>
      (await (await server.decision(`iauth_outage_${i}`)).json()).reservation.amount
    ),
  );
  assertEquals(held, [200_000, 300_000], "each answer reserved as answered");
});

Deno.test("a card's daily limit holds through a full disk with FALLBACK_DECISION=approve, and what was answered is logged after it", async () => {
  // SQLite refuses every commit at once: the answers were dropped as they failed, each in ms.
  const disk = await lockableKv(undefined, "database or disk is full");
  await using server = await approvingServer(disk.kv, thousandADay);
  disk.locked = true;
  const first = await post(server.url, sixHundred("iauth_full_0", "ic_full"));
  const second = await post(server.url, sixHundred("iauth_full_1", "ic_full"));
  assertEquals([first.body.approved, second.body.approved], [true, false]);
  assertEquals(reasons(second.body), ["spend_limit_exceeded:daily:usd (spendLimit)"]);
  disk.locked = false;
  for (const [i, answered] of [[0, 60_000], [1, 0]]) {
    assertEquals((await loggedOnce(server, `iauth_full_${i}`)).reservation.amount, answered);
  }
  assertEquals(
    (await post(server.url, sixHundred("iauth_full_2", "ic_full"))).body.approved,
    false,
  );
  assert(!server.logs.some((record) => record.msg === "store_unrecorded"));
});

Deno.test("a card's spend committed before the store locked still counts in what is answered without it", async () => {
  const store = await lockableKv();
  await using server = await approvingServer(store.kv, thousandADay);
  const before = await post(server.url, sixHundred("iauth_spent_before", "ic_spent"));
  assertEquals(before.body.approved, true);
  store.locked = true;
  const during = [];
  // One after another: each waits out the commits on this card still retrying, and is answered
  // without the store.
  for (let i = 0; i < 3; i++) {
    during.push((await post(server.url, sixHundred(`iauth_spent_during_${i}`, "ic_spent"))).body);
  }
  store.locked = false;
  assertEquals(during.map((body) => body.approved), [false, false, false]);
});

Deno.test("a card's spend another process committed counts in what is answered without the store once this process has read it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/kv.sqlite3`;
    const policies = [thousandADay];
    // Two services on one store file, as two processes: the other one spends on the card.
    const elsewhere = await lockableKv(await Deno.openKv(path));
    await using other = await approvingServer(elsewhere.kv, ...policies);
    const spent = await post(other.url, sixHundred("iauth_other_before", "ic_other"));
    assertEquals(spent.body.approved, true);
    // This one reads the card's spend only in the commit the lock refuses.
    const here = await lockableKv(await Deno.openKv(path));
    await using server = await approvingServer(here.kv, ...policies);
    here.locked = true;
    const during = [];
    for (let i = 0; i < 3; i++) {
      during.push((await post(server.url, sixHundred(`iauth_other_during_${i}`, "ic_other"))).body);
    }
    here.locked = false;
    assertEquals(during.map((body) => body.approved), [false, false, false]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an async decline in hand is answered when the store cannot commit, with the lookup made once", async () => {
  const store = await lockableKv();
  let lookups = 0;
  // Before topping up an authorization, ask the bank (150 ms) whether the card was frozen since.
  const cardFrozen: Policy = function cardFrozen(authorization) {
    if (authorization.request_history.length === 0) return abstain();
    lookups++;
    return new Promise((resolve) =>
      setTimeout(() => resolve(decline("merchant_blocked", "card_frozen")), 150)
    );
  };
  await using server = await startTestServer({ ...APPROVING, DECISION_BUDGET_MS: "300" }, {
    kv: store.kv,
    policies: [
      partialFirst,
      cardFrozen,
      spendLimit({ window: "daily", maxAmount: { usd: 1_000_000 } }),
    ],
  });
  const card = { id: "ic_frozen" };
  const first = await post(
    server.url,
    authorizationEvent("online", {
      id: "iauth_frozen",
      card,
      pending_request: { amount: 4_000, is_amount_controllable: true },
    }),
  );
  assertEquals([first.body.approved, first.body.amount], [true, 2_000]);
  const topUp = post(
    server.url,
    requestEvent({ id: "iauth_frozen", card, pending_request: { amount: 1_000 } }, [
      { amount: 4_000 },
    ]),
  );
  await new Promise((resolve) => setTimeout(resolve, 20));
  // While the lookup runs, another request on the card waits out a locked store holding the
  // card's counters: the top-up is never decided again.
  store.locked = true;
  const other = post(
    server.url,
    authorizationEvent("online", {
      id: "iauth_frozen_other",
      card,
      pending_request: { amount: 500 },
    }),
  );
  const [answered] = await Promise.all([topUp, other]);
  assert(
    server.logs.some((r) =>
      r.msg === "store_fallback" && r.authorization_id === "iauth_frozen" &&
      r.answered === "decided"
    ),
    "answered as the policies decided",
  );
  assertEquals([answered.body.approved, reasons(answered.body)], [false, [
    "merchant_blocked:card_frozen (cardFrozen)",
  ]]);
  assertEquals(lookups, 1, "looked up once");
});

Deno.test("answered without the store, an increment after a partial approval and its redelivery get what the store gives", async () => {
  const store = await faultyReadsKv();
  await using server = await approvingServer(store.kv, partialFirst, amountCap({ usd: 10_000 }));
  const first = await post(
    server.url,
    authorizationEvent("online", {
      id: "iauth_partial",
      card: { id: "ic_partial" },
      pending_request: { amount: 4_000, is_amount_controllable: true },
    }),
  );
  assertEquals(first.body.amount, 2_000);
  // 2,000 of the cap's 10,000 are held (Stripe's history says 4,000 were asked): 7,000 fit.
  const increment = (controllable: boolean) =>
    requestEvent({
      id: "iauth_partial",
      card: { id: "ic_partial" },
      pending_request: { amount: 7_000, is_amount_controllable: controllable },
    }, [{ amount: 4_000 }]);
  store.hanging = true;
  const withoutStore = await post(server.url, increment(false));
  assertEquals([withoutStore.body.approved, reasons(withoutStore.body)], [true, [
    "fallback:store_timeout (store)",
  ]]);
  store.hanging = false;
  // A read that never answered holds up the store's next batches for 2 s at most.
  await new Promise((resolve) => setTimeout(resolve, 2_100));

  const decided = await post(
    server.url,
    requestEvent({
      id: "iauth_partial_2",
      card: { id: "ic_partial" },
      pending_request: { amount: 4_000, is_amount_controllable: true },
    }),
  );
  const overCap = requestEvent({
    id: "iauth_partial_2",
    card: { id: "ic_partial" },
    pending_request: { amount: 9_000, is_amount_controllable: false },
  }, [{ amount: 4_000 }]);
  const logged = await post(server.url, overCap);
  assertEquals([decided.body.amount, logged.body.approved], [2_000, false], "over the cap");
  // Redelivered while the store's reads never answer: the logged decline, not a new decision.
  store.hanging = true;
  const redelivered = await post(server.url, overCap);
  store.hanging = false;
  assertEquals(redelivered.body.approved, false);
});

Deno.test("an answer given while a replacement card's chain could not be read is logged once it can be", async () => {
  const store = await faultyReadsKv();
  await using server = await approvingServer(
    store.kv,
    blockCategories(["betting_casino_gambling"]),
  );
  // A replacement card: deciding on it needs its chain, read from the store.
  const event = onCard("iauth_new_card", "ic_new", "ic_old", 10_000);
  store.failing = true;
  const answered = await post(server.url, event);
  store.failing = false;
  assertEquals(reasons(answered.body), ["fallback:store_error (store)"]);
  // Read again a second later, as a commit is retried.
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const logged = await server.decision("iauth_new_card");
  assertEquals(logged.status, 200);
  assertEquals((await logged.json()).response, answered.body);
});

Deno.test("an answer given while a replacement card's chain could not be read counts against its limit", async () => {
  const store = await faultyReadsKv();
  await using server = await approvingServer(store.kv, thousandADay);
  const onNewCard = (id: string) => onCard(id, "ic_new_limited", "ic_old", 60_000);
  store.failing = true;
  const first = await post(server.url, onNewCard("iauth_new_limited_1"));
  store.failing = false;
  // Decided by the store (its chain read now), before the first answer is recorded.
  const second = await post(server.url, onNewCard("iauth_new_limited_2"));
  assertEquals([first.body.approved, second.body.approved], [true, false]);
});

Deno.test("an answer given while a replacement card's chain could not be read counts against its limit once the chain is known", async () => {
  const reads = await faultyReadsKv();
  const commits = await lockableKv(reads.kv);
  await using server = await approvingServer(commits.kv, thousandADay);
  const onNewCard = (id: string) => onCard(id, "ic_new_outage", "ic_old", 60_000);
  commits.locked = true;
  reads.failing = true;
  const first = await post(server.url, onNewCard("iauth_new_outage_1"));
  reads.failing = false;
  // The chain is read again a second later, for the first answer's recording, which stays locked.
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  reads.hanging = true;
  const second = await post(server.url, onNewCard("iauth_new_outage_2"));
  reads.hanging = false;
  assertEquals([first.body.approved, second.body.approved], [true, false]);
  assertEquals(reasons(second.body), [
    "spend_limit_exceeded:daily:usd (spendLimit)",
    "fallback:store_timeout (store)",
  ]);
});

Deno.test("a replacement card whose chain cannot be read still counts the spend of the card its event names", async () => {
  const store = await faultyReadsKv();
  await using server = await approvingServer(store.kv, thousandADay);
  const spent = await post(server.url, onCard("iauth_replaced_card", "ic_replaced", null, 90_000));
  assertEquals(spent.body.approved, true);
  const replacement = onCard("iauth_replacement_card", "ic_replacement", "ic_replaced", 20_000);
  store.failing = true;
  const answered = await post(server.url, replacement);
  store.failing = false;
  assertEquals(answered.body.approved, false);
});

Deno.test("a chain learned while the store cannot commit is followed by the next request on a card after it", async () => {
  const store = await lockableKv();
  await using server = await approvingServer(store.kv, thousandADay);

  const spent = await post(server.url, onCard("iauth_old_card", "ic_old_card", null, 90_000));
  assertEquals(spent.body.approved, true);
  store.locked = true;
  // ic_newer replaces ic_new, which replaces ic_old_card: the second link is learned only from
  // ic_new's own request, during the outage, and its commit (which stores it) is refused.
  const first = await post(server.url, onCard("iauth_newer_1", "ic_newer", "ic_new", 10_000));
  const linking = await post(server.url, onCard("iauth_new_1", "ic_new", "ic_old_card", 10_000));
  const second = await post(server.url, onCard("iauth_newer_2", "ic_newer", "ic_new", 10_000));
  store.locked = false;
  assertEquals(
    [first.body.approved, linking.body.approved, second.body.approved],
    [true, false, false],
  );
});

Deno.test("a policy whose counters cannot be named fails alone: the others' declines stand, and the decision is logged", async () => {
  // Before: it failed the whole request as the store's (`fallback:store_error`), unlogged, and with
  // FALLBACK_DECISION=approve a gambling or over-cap purchase was approved, reserving nothing.
  const namesNoCounters = Object.assign((() => abstain()) as Policy, {
    counters: () => {
      throw new Error("a bug in counters()");
    },
  });
  // A README-style scope on metadata some cards lack: its condition throws where it is missing.
  const corporate = when(
    (authorization) => authorization.card.metadata.program.toLowerCase() === "corporate",
    spendLimit({ window: "daily", maxAmount: { usd: 100_000 } }),
  );
  await using server = await approvingServer(
    undefined,
    blockCategories(["betting_casino_gambling"]),
    amountCap({ usd: 100_000 }),
    namesNoCounters,
    corporate,
  );
  const cases: [string, AuthorizationPatch, boolean, string[]][] = [
    // The answer names the first policy that failed.
    ["iauth_no_counters", {}, true, ["fallback:error (policy_3)"]],
    [
      "iauth_no_counters_casino",
      {
        merchant_data: { category: "betting_casino_gambling" },
      },
      false,
      ["mcc_blocked:betting_casino_gambling (blockCategories)"],
    ],
    ["iauth_no_counters_over_cap", { pending_request: { amount: 900_000 } }, false, [
      "amount_over_cap:usd (amountCap)",
    ]],
  ];
  for (const [id, patch, approved, expected] of cases) {
    const { status, body } = await post(server.url, authorizationEvent("online", { id, ...patch }));
    assertEquals([status, body.approved], [200, approved], id);
    assertEquals(reasons(body).filter((reason) => expected.includes(reason)), expected, id);
    const logged = await server.decision(id);
    assertEquals([logged.status, (await logged.json()).approved], [200, approved], id);
  }
  const failedPolicies = server.logs.filter((record) => record.msg === "policy_fallback")
    .map((record) => record.policy);
  assert(failedPolicies.includes("spendLimit") && failedPolicies.includes("policy_3"));
  assert(server.logs.every((record) => record.msg !== "store_fallback"));
});

Deno.test("concurrent requests on a card answered without a commit hold its limit", async (t) => {
  // Beside the limit, an async check: each decision waits for it outside the store.
  const asyncCheck: Policy = () =>
    new Promise((resolve) => setTimeout(() => resolve(abstain()), 10));
  for (const outage of ["reads never answer", "commits are refused"] as const) {
    await t.step(outage, async () => {
      const reads = await faultyReadsKv();
      const commits = await lockableKv();
      await using server = await startTestServer({ ...APPROVING, DECISION_BUDGET_MS: "300" }, {
        kv: outage === "reads never answer" ? reads.kv : commits.kv,
        policies: [thousandADay, asyncCheck],
      });
      reads.hanging = commits.locked = true;
      // Five requests of 600.00 at once against 1,000.00 a day: one fits.
      const answers = await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          post(
            server.url,
            sixHundred(`iauth_together_${i}`, "ic_together"),
          )),
      );
      assertEquals(answers.filter(({ body }) => body.approved).length, 1);
    });
  }
});

Deno.test("reads failing at once through an outage: every answer is logged after it, and the limit holds", async () => {
  const store = await faultyReadsKv();
  await using server = await approvingServer(store.kv, thousandADay);
  store.failing = true;
  const answers = [];
  for (let i = 0; i < 6; i++) {
    const { body } = await post(
      server.url,
      sixHundred(`iauth_failing_${i}`, "ic_failing"),
    );
    answers.push(body.approved);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  store.failing = false;
  assertEquals(answers, [true, false, false, false, false, false]);
  // Retried as long as the store fails (its reads' errors used up a commit's attempts in a second).
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  const logged = await Promise.all(answers.map(async (_, i) => {
    const response = await server.decision(`iauth_failing_${i}`);
    return response.status === 200 ? (await response.json()).reservation.amount : response.status;
  }));
  assertEquals(logged, [60_000, 0, 0, 0, 0, 0]);
  const after = await post(
    server.url,
    sixHundred("iauth_failing_after", "ic_failing"),
  );
  assertEquals(after.body.approved, false);
});

Deno.test("a redelivery during an outage does not count its own first answer", async () => {
  const store = await faultyReadsKv();
  await using server = await approvingServer(store.kv, thousandADay);
  const event = sixHundred("iauth_again", "ic_again");
  store.hanging = true;
  const first = await post(server.url, event);
  const again = await post(server.url, event);
  store.hanging = false;
  assertEquals([first.body.approved, again.body.approved], [true, true]);
});

Deno.test("a redelivery while the store cannot commit is answered what the first delivery answered", async () => {
  // Reads answer, commits do not: another process holds SQLite's write lock (or the disk is full).
  for (const error of ["database is locked", "database or disk is full"]) {
    const store = await lockableKv(undefined, error);
    // The default fallback, which declines: the redelivery was declined with it.
    await using server = await startTestServer(
      { ADMIN_TOKEN, DECISION_BUDGET_MS: "100" },
      { kv: store.kv, policies: [thousandADay] },
    );
    const event = sixHundred("iauth_redelivered", "ic_redelivered");
    const first = await post(server.url, event);
    store.locked = true;
    const again = await post(server.url, { ...event, id: "evt_redelivered_again" });
    store.locked = false;
    assertEquals([first.body.approved, again.body.approved], [true, true], error);
    const logged = await (await server.decision("iauth_redelivered")).json();
    assertEquals([logged.approved, logged.reservation.amount], [true, 60_000], error);
  }
});

Deno.test("two deliveries of one request in one batch while the disk is full answer alike, as logged", async () => {
  const disk = await lockableKv(undefined, "database or disk is full");
  // Reads slowed, and a request already in flight: the two deliveries queue into one batch.
  const slow = { ms: 0 };
  const kv = delayedGetMany(disk.kv, () => slow.ms);
  await using server = await startTestServer(
    { ADMIN_TOKEN, DECISION_BUDGET_MS: "100" },
    { kv, policies: [thousandADay] },
  );
  const event = sixHundred("iauth_twice", "ic_twice");
  disk.locked = true;
  slow.ms = 60;
  const inFlight = post(server.url, sixHundred("iauth_ahead", "ic_ahead"));
  await new Promise((resolve) => setTimeout(resolve, 20));
  // The second ran on the first's state as the batch wrote it, which never landed: it answered
  // that approval, which no log holds, where the first answered its fallback.
  const [first, again] = await Promise.all([
    post(server.url, event),
    post(server.url, { ...event, id: "evt_twice_again" }),
  ]);
  await inFlight;
  slow.ms = 0;
  disk.locked = false;
  const { approved } = await loggedOnce(server, "iauth_twice");
  assertEquals([first.body.approved, again.body.approved], [approved, approved]);
});

Deno.test("redeliveries while the disk is full get the first delivery's answer, and count nothing more", async () => {
  const disk = await lockableKv(undefined, "database or disk is full");
  await using server = await approvingServer(disk.kv, thousandADay);
  const onCard = (id: string, amount: number) =>
    authorizationEvent("online", {
      id,
      card: { id: "ic_full_again" },
      pending_request: { amount },
    });
  disk.locked = true;
  const first = onCard("iauth_full_again", 60_000);
  const answers = [
    await post(server.url, first),
    // Before: the new event id was decided anew, its own first answer counting: declined.
    await post(server.url, { ...first, id: "evt_full_again_2" }),
    await post(server.url, first),
  ];
  assertEquals(answers.map(({ body }) => body.approved), [true, true, true]);
  // 600.00 counted once (before: each redelivery again, and 300.00 more was declined).
  assertEquals((await post(server.url, onCard("iauth_full_300", 30_000))).body.approved, true);
  assertEquals((await post(server.url, onCard("iauth_full_200", 20_000))).body.approved, false);
  disk.locked = false;
  const record = await loggedOnce(server, "iauth_full_again");
  assertEquals([record.approved, record.reservation.amount], [true, 60_000]);
});

Deno.test("a store whose reads take over a second still decides", async () => {
  const store = await faultyReadsKv();
  await using server = await startTestServer({ ADMIN_TOKEN, FALLBACK_DECISION: "approve" }, {
    kv: store.kv,
    policies: [thousandADay],
  });
  store.slowMs = 1_200;
  const { body } = await post(
    server.url,
    sixHundred("iauth_slow_reads", "ic_slow_reads"),
  );
  assertEquals([body.approved, reasons(body)], [true, []], "decided, not a fallback");
});

Deno.test("an async policy the store's outage left no time is not logged as failing", async () => {
  const store = await faultyReadsKv();
  const asyncCheck: Policy = () =>
    new Promise((resolve) => setTimeout(() => resolve(abstain()), 250));
  await using server = await startTestServer({ ...APPROVING, DECISION_BUDGET_MS: "300" }, {
    kv: store.kv,
    policies: [thousandADay, asyncCheck],
  });
  store.hanging = true;
  const { body } = await post(server.url, authorizationEvent("online", { id: "iauth_no_time" }));
  store.hanging = false;
  assertEquals([body.approved, reasons(body)], [true, ["fallback:store_timeout (store)"]]);
  assertEquals(server.logs.filter((r) => r.msg === "policy_fallback"), [], "the store's failure");
});
