import { createDecide, type Decision, type FallbackEvent } from "../../../lib/engine/decide.ts";
import type { AuthorizationRequest } from "../../../lib/engine/policy.ts";
import type { PolicyResults } from "../../../lib/engine/decide.ts";
import {
  abstain,
  challenge,
  decline,
  type Held,
  limit,
  type Policy,
  velocityPolicy,
} from "../../../lib/engine/policy.ts";
import { amountCap } from "../../../policies/amount_cap.ts";
import { assert, assertEquals, assertThrows } from "../../_assert.ts";
import { authorizationEvent, authorizationOf } from "../../../fixtures/events.ts";

/**
 * The codes these tests give, registered the way a user registers theirs in
 * policies/reason_codes.ts: one table, then decline()/limit() accept them.
 */
const TEST_CODES = {
  tooMuch: "too_much",
  first: "first",
  second: "second",
  bigCap: "big_cap",
  smallCap: "small_cap",
  cap: "cap",
  spent: "spent",
  later: "later",
  x: "x",
} as const;
declare module "../../../lib/engine/policy.ts" {
  interface ReasonCodeRegistry {
    decideTest: typeof TEST_CODES;
  }
}

const online = authorizationOf(
  authorizationEvent("online", { pending_request: { amount: 20_000 } }),
);
const controllable = authorizationOf(
  authorizationEvent("fuel", { pending_request: { amount: 20_000, is_amount_controllable: true } }),
);
/** 1,500.00 with 1,200.00 of it cash back, amount-controllable. */
const cashback = authorizationOf(authorizationEvent("online", {
  pending_request: {
    amount: 150_000,
    is_amount_controllable: true,
    amount_details: { cashback_amount: 120_000, atm_fee: null },
  },
}));

function named(name: string, verdict: ReturnType<Policy>): Policy {
  const policy: Policy = () => verdict;
  Object.defineProperty(policy, "name", { value: name });
  return policy;
}

function decideWith(policies: Policy[], options: Partial<Parameters<typeof createDecide>[1]> = {}) {
  return createDecide(policies, { policyVersion: "v1", ...options });
}

Deno.test("createDecide() composition rules", async (t) => {
  await t.step("no policy objects → approve with no reasons", () => {
    const decision = decideWith([named("a", abstain()), named("b", abstain())])(online) as Decision;
    assertEquals([decision.approved, decision.amount, decision.reasons], [true, undefined, []]);
    assertEquals(decision.trace.map((entry) => entry.policy), ["a", "b"]);
    assertEquals(decision.policyVersion, "v1");
  });

  await t.step("an empty pipeline approves", () => {
    assertEquals((decideWith([])(online) as Decision).approved, true);
  });

  await t.step("any decline wins over limits and approvals, and every decline is a reason", () => {
    const decision = decideWith([
      named("lim", limit(5_000, "too_much")),
      named("no1", decline("first", "x")),
      named("yes", abstain()),
      named("no2", decline("second")),
    ])(controllable) as Decision;
    assertEquals(decision.approved, false);
    assertEquals(decision.amount, undefined);
    assertEquals(decision.reasons, [
      { policy: "no1", code: "first", detail: "x" },
      { policy: "no2", code: "second" },
    ]);
  });

  await t.step("limits take the smallest amount; only the binding limit is a reason", () => {
    const decision = decideWith([
      named("big", limit(15_000, "big_cap")),
      named("small", limit(8_000, "small_cap", "usd")),
    ])(controllable) as Decision;
    assertEquals([decision.approved, decision.amount], [true, 8_000]);
    assertEquals(decision.reasons, [{ policy: "small", code: "small_cap", detail: "usd" }]);
  });

  await t.step("a limit at or above the requested amount changes nothing", () => {
    for (const amount of [20_000, 50_000]) {
      const decision = decideWith([named("cap", limit(amount, "cap"))])(controllable) as Decision;
      assertEquals([decision.approved, decision.amount, decision.reasons], [true, undefined, []]);
    }
  });

  await t.step("a limit to zero or below becomes a decline that says so", () => {
    for (const amount of [0, -10]) {
      const decision = decideWith([named("cap", limit(amount, "spent"))])(controllable) as Decision;
      assertEquals(decision.approved, false);
      assertEquals(decision.reasons, [
        { policy: "cap", code: "spent" },
        { policy: "engine", code: "limit_not_positive" },
      ]);
    }
  });

  await t.step("a limit on a request that is not amount-controllable becomes a decline", () => {
    const decision = decideWith([named("cap", limit(5_000, "cap"))])(online) as Decision;
    assertEquals(decision.approved, false);
    assertEquals(decision.reasons, [
      { policy: "cap", code: "cap" },
      { policy: "engine", code: "limit_not_amount_controllable" },
    ]);
  });

  await t.step("a limit below the request's cashback becomes a decline that says so", () => {
    const below = decideWith([named("cap", limit(100_000, "cap"))])(cashback) as Decision;
    assertEquals([below.approved, below.amount], [false, undefined]);
    assertEquals(below.reasons, [
      { policy: "cap", code: "cap" },
      { policy: "engine", code: "limit_below_cashback", detail: "120000" },
    ]);
    const above = decideWith([named("cap", limit(130_000, "cap"))])(cashback) as Decision;
    assertEquals([above.approved, above.amount], [true, 130_000]);
  });

  await t.step("a decline asks for a fraud challenge only when every decline asks for one", () => {
    const challenged = decideWith([
      named("risk", challenge("network_risk_high", "91")),
      named("velocity", challenge("count_limit_exceeded", "rolling_10m")),
    ])(online) as Decision;
    assertEquals([challenged.approved, challenged.sendFraudChallenges], [false, ["sms"]]);
    const hard = decideWith([
      named("risk", challenge("network_risk_high", "91")),
      named("blocked", decline("mcc_blocked", "betting_casino_gambling")),
    ])(online) as Decision;
    assertEquals([hard.approved, hard.sendFraudChallenges], [false, undefined]);
    // A limit that is a decline itself (below the cash back here) is one too: before, the
    // cardholder was challenged, and the request declined again once confirmed, for the cap.
    const capped = decideWith([
      named("risk", challenge("network_risk_high", "91")),
      named("cap", limit(100_000, "cap")),
    ])(cashback) as Decision;
    assertEquals([capped.approved, capped.sendFraudChallenges], [false, undefined]);
    assertEquals(capped.reasons.map((reason) => reason.code), [
      "network_risk_high",
      "cap",
      "limit_below_cashback",
    ]);
    // One the challenged request could still be approved under: the challenge is asked for.
    const partial = decideWith([
      named("risk", challenge("network_risk_high", "91")),
      named("cap", limit(130_000, "cap")),
    ])(cashback) as Decision;
    assertEquals([partial.sendFraudChallenges, partial.reasons.length], [["sms"], 1]);
  });

  await t.step("there is no approve verdict: a policy returning one falls back", () => {
    const decision = decideWith([named("legacy", { outcome: "approve" } as never)])(
      online,
    ) as Decision;
    assertEquals([decision.approved, decision.fallback], [false, "error"]);
  });

  await t.step("async policies compose by the same rules", async () => {
    const decision = await decideWith([
      named("sync", abstain()),
      named("async", Promise.resolve(limit(7_000, "later"))),
    ])(controllable);
    assertEquals([decision.approved, decision.amount], [true, 7_000]);
    assertEquals(decision.trace.map((entry) => entry.policy), ["sync", "async"]);
  });

  await t.step("an unnamed policy is named by its position", () => {
    const decision = decideWith([() => decline("x")])(online) as Decision;
    assertEquals(decision.reasons[0].policy, "policy_1");
  });
});

Deno.test("createDecide() falls back when a policy fails", async (t) => {
  const failures: FallbackEvent[] = [];
  const onFallback = (event: FallbackEvent) => failures.push(event);
  function boom(): never {
    throw new Error("boom");
  }

  await t.step("a throwing policy → fallback decline `fallback:error`, reported once", () => {
    const decision = decideWith([named("ok", abstain()), boom], { onFallback })(online) as Decision;
    assertEquals(decision.approved, false);
    assertEquals(decision.fallback, "error");
    assertEquals(decision.reasons, [{ policy: "boom", code: "fallback", detail: "error" }]);
    assertEquals(decision.trace.map((entry) => entry.policy), ["ok"]);
    assertEquals(failures.length, 1);
    assertEquals([failures[0].kind, failures[0].policy], ["error", "boom"]);
  });

  await t.step("a rejecting policy → `fallback:error`", async () => {
    const decision = await decideWith([named("rejects", Promise.reject(new Error("no")))])(online);
    assertEquals(decision.reasons, [{ policy: "rejects", code: "fallback", detail: "error" }]);
  });

  await t.step("an answer that is not a verdict → `fallback:error`", () => {
    const decision = decideWith([named("bad", { outcome: "limit", code: "x" } as never)])(
      online,
    ) as Decision;
    assertEquals(decision.fallback, "error");
  });

  await t.step("a verdict whose code or detail could not be logged → `fallback:error`", () => {
    const answers = {
      "an empty code": { outcome: "decline", code: "" },
      "a code of 3,000 characters (past a KV key's bound)": {
        outcome: "decline",
        code: "x".repeat(3_000),
      },
      "a code of 65 characters, one past the bound": { outcome: "decline", code: "x".repeat(65) },
      "a symbol for its detail (no text)": { outcome: "decline", code: "x", detail: Symbol("x") },
      "an object for its detail": { outcome: "limit", amount: 100, code: "x", detail: { a: 1 } },
    };
    for (const [name, answer] of Object.entries(answers)) {
      const decision = decideWith([named("bad", answer as never)])(online) as Decision;
      assertEquals(decision.reasons, [{ policy: "bad", code: "fallback", detail: "error" }], name);
    }
    const longest = decideWith([named("ok", decline("x".repeat(64) as never))])(online) as Decision;
    assertEquals(longest.reasons, [{ policy: "ok", code: "x".repeat(64) }], "64 characters: kept");
    const nameless = decideWith([named("ok", decline("x", null as never))])(online) as Decision;
    assertEquals(
      nameless.reasons,
      [{ policy: "ok", code: "x", detail: null }],
      "null, as Stripe's",
    );
  });

  await t.step(
    "a policy that writes to the request fails, and the others decide on it as Stripe sent it",
    () => {
      const request = authorizationOf(
        authorizationEvent("online", { pending_request: { amount: 150_000 } }),
      );
      const shrinks: Policy = function shrinks(authorization) {
        authorization.pending_request.amount = 1;
        authorization.pending_request.is_amount_controllable = true;
        return limit(1, "x");
      };
      const approving = decideWith([shrinks, amountCap({ usd: 100_000 })], { fallback: "approve" });
      const decision = approving(request) as Decision;
      assertEquals(decision.approved, false);
      assertEquals(decision.reasons.map((reason) => reason.code), ["amount_over_cap", "fallback"]);
      assertEquals(request.pending_request.amount, 150_000);
      assertEquals(request.pending_request.is_amount_controllable, false);
      // A caller's own shallow freeze does not stop the engine's at the top.
      const shallow = Object.freeze(
        authorizationOf(authorizationEvent("online", { pending_request: { amount: 150_000 } })),
      );
      assertEquals((approving(shallow) as Decision).reasons.map((reason) => reason.code), [
        "amount_over_cap",
        "fallback",
      ]);
    },
  );

  await t.step(
    "the request is frozen before a velocity policy names its counters, and a policy's clock and holdings are its own",
    () => {
      const request = authorizationOf(authorizationEvent("online"));
      const shrinksInCounters = velocityPolicy(() => abstain(), (authorization) => {
        authorization.pending_request.amount = 1;
        return [];
      }, null);
      const decideIt = decideWith([shrinksInCounters]);
      const requested = request.pending_request.amount;
      // Its write throws: it names no counters, and fails alone when the request is decided.
      assertEquals(decideIt.counters(request, new Date()), []);
      assertEquals(request.pending_request.amount, requested);
      assertEquals((decideIt(request) as Decision).reasons, [
        { policy: "policy_1", code: "fallback", detail: "error" },
      ]);
      // Before: the record's time moved to 2001, and what it held read 777.
      const now = new Date(Date.UTC(2026, 10, 27));
      const held = { amount: 0, requests: 0 };
      const rewinds: Policy = (_authorization, context) => {
        context.now.setTime(Date.UTC(2001, 0, 1));
        (context.held as { amount: number }).amount = 777;
        return abstain();
      };
      // Nor the policies' after it: each reads the clock anew (before, a policy's start of the day
      // moved a later allowTimes to midnight).
      decideWith([rewinds])(authorizationOf(authorizationEvent("online")), { now, held });
      assertEquals([now.getTime(), held.amount], [Date.UTC(2026, 10, 27), 0]);
      let seen = 0;
      const startOfDay: Policy = (_authorization, context) => {
        context.now.setUTCHours(0, 0, 0, 0);
        return abstain();
      };
      const reads: Policy = (_authorization, context) => (seen = context.now.getTime(), abstain());
      const noon = new Date(Date.UTC(2026, 10, 27, 12));
      decideWith([startOfDay, reads])(authorizationOf(authorizationEvent("online")), { now: noon });
      assertEquals(seen, noon.getTime());
    },
  );

  await t.step(
    "a hanging policy → `fallback:timeout` once the budget is spent, and its signal aborts",
    async () => {
      let signal: AbortSignal | undefined;
      const hangs: Policy = function hangs(_auth, context) {
        signal = context.signal;
        return new Promise(() => {});
      };
      const started = performance.now();
      const decision = await decideWith([hangs], { budgetMs: 50 })(online);
      const elapsed = performance.now() - started;
      assertEquals(decision.reasons, [{ policy: "hangs", code: "fallback", detail: "timeout" }]);
      assert(elapsed >= 45, `waited for the budget (${elapsed} ms)`);
      assert(signal?.aborted, "the policy's signal is aborted");
    },
  );

  await t.step("FALLBACK approve → the fallback approves", () => {
    const decision = decideWith([boom], { fallback: "approve" })(online) as Decision;
    assertEquals([decision.approved, decision.fallback], [true, "error"]);
  });

  await t.step("FALLBACK approve never overrules a decline or a limit in hand", async (t) => {
    const approving = (policies: Policy[], budgetMs?: number) =>
      decideWith(policies, { fallback: "approve", ...(budgetMs ? { budgetMs } : {}) });
    const blocked = named("blocked", decline("first"));
    const hangs = named("hangs", new Promise<never>(() => {}));
    const cases: [string, Policy[], AuthorizationRequest, Partial<Decision>][] = [
      ["a decline before the failure", [blocked, boom], online, { approved: false }],
      ["a decline after it: the rest still run", [boom, blocked], online, { approved: false }],
      [
        "a decline after a rejection",
        [named("rejects", Promise.reject(new Error("no"))), blocked],
        online,
        { approved: false },
      ],
      [
        "a limit before the failure",
        [named("cap", limit(5_000, "cap")), boom],
        controllable,
        { approved: true, amount: 5_000 },
      ],
      ["a decline before a timeout", [blocked, hangs], online, { approved: false }],
      ["a synchronous decline after a timeout", [hangs, blocked], online, { approved: false }],
      [
        "an async decline that answers at once, after a timeout",
        [hangs, named("blockedAsync", Promise.resolve(decline("first")))],
        online,
        { approved: false },
      ],
      [
        "an async decline after another one left pending, after a timeout",
        [hangs, named("late", new Promise<never>(() => {})), async function blockedAsync() {
          await null;
          return decline("first");
        }],
        online,
        { approved: false },
      ],
    ];
    for (const [name, policies, authorization, expected] of cases) {
      await t.step(name, async () => {
        const decision = await approving(policies, 30)(authorization);
        assertEquals(decision.fallback, undefined);
        assertEquals(
          { approved: decision.approved, amount: decision.amount },
          { amount: undefined, ...expected },
        );
        // Each failure is a reason beside the objection: a policy failing every time still shows.
        const [objection, ...failures] = decision.reasons.map((reason) => reason.code);
        assertEquals(objection, decision.approved ? "cap" : "first");
        assert(failures.length > 0 && failures.every((code) => code === "fallback"), `${failures}`);
      });
    }
    await t.step("nothing objected: the fallback approves, the rest of the trace kept", () => {
      const decision = approving([boom, named("ok", abstain())])(online) as Decision;
      assertEquals([decision.approved, decision.fallback], [true, "error"]);
      assertEquals(decision.reasons, [{ policy: "boom", code: "fallback", detail: "error" }]);
      assertEquals(decision.trace.map((entry) => entry.policy), ["ok"]);
    });
  });

  await t.step("a budget that is not positive is refused at start-up", () => {
    assertThrows(() => decideWith([], { budgetMs: 0 }), RangeError, "budgetMs");
  });

  await t.step("a policy's name over 64 characters is refused at start-up", () => {
    // Before: it started, and each request the policy failed or declined on went unrecorded (a
    // reason's aggregate key over KV's 2 KiB).
    const named = (length: number) =>
      Object.defineProperty(() => abstain(), "name", { value: "p".repeat(length) }) as Policy;
    decideWith([named(64)]);
    assertThrows(() => decideWith([named(3_000)]), RangeError, "at most 64 characters");
  });
});

Deno.test("after the budget runs out, the async policies still to run get a timer turn each for 50 ms at most", async () => {
  // 400 policies that each answer a timer turn after they are called: given a turn each, they
  // would keep the answer hundreds of milliseconds past the budget, and Stripe waits 2 s in all.
  const nextTurn: Policy = () => new Promise((resolve) => setTimeout(() => resolve(abstain()), 0));
  const hangs: Policy = () => new Promise(() => {});
  const decide = decideWith([hangs, ...Array(400).fill(nextTurn)], {
    budgetMs: 20,
    fallback: "approve",
  });
  const started = performance.now();
  const decision = await decide(online);
  const pastBudget = performance.now() - started - 20;
  assertEquals([decision.approved, decision.fallback], [true, "timeout"]);
  // 50 ms of turns, and a busy machine's slack: not the 900 ms a turn each took.
  assert(pastBudget < 300, `answered ${pastBudget.toFixed(0)} ms past the budget`);
});

Deno.test("a reason's detail is kept to 200 characters, and a detail that is not text is kept as it is", () => {
  const long = decideWith([
    named("long", { outcome: "decline", code: "x", detail: "n".repeat(70_000) }),
  ])(
    online,
    { now: new Date() },
  ) as Decision;
  assertEquals(long.reasons[0].detail?.length, 200);
  // A policy may pass what Stripe gave it: merchant_data.name is `string | null`.
  const none = decideWith([
    named("none", { outcome: "decline", code: "x", detail: null as never }),
  ])(
    online,
    { now: new Date() },
  ) as Decision;
  assertEquals([none.approved, none.fallback, none.reasons[0].detail], [false, undefined, null]);
});

Deno.test("a reason code must be registered: decline() and limit() reject a typo at type-check", () => {
  // @ts-expect-error "mcc_blockd" is in no registered table (deno check fails if this type-checks)
  const typo = decline("mcc_blockd");
  assertEquals(typo.outcome, "decline");
  // A code registered above in this file type-checks.
  assertEquals(limit(1, "too_much").outcome, "limit");
});

Deno.test("amountCap() caps the authorization's total across increments, or each request", async (t) => {
  const increment = (amount: number, is_amount_controllable: boolean) =>
    authorizationOf(authorizationEvent("online", {
      pending_request: { amount, is_amount_controllable },
    }));
  const held: Held = { amount: 90_000, requests: 1 };
  const decide = decideWith([amountCap({ usd: 100_000 })]);

  await t.step(
    "a controllable increment is limited to what is left: positive, at most the increment",
    () => {
      const decision = decide(increment(30_000, true), { held }) as Decision;
      assertEquals([decision.approved, decision.amount], [true, 10_000]);
    },
  );
  await t.step("a fixed increment past the cap is declined", () => {
    const decision = decide(increment(30_000, false), { held }) as Decision;
    assertEquals(decision.reasons, [{
      policy: "amountCap",
      code: "amount_over_cap",
      detail: "usd",
    }]);
  });
  await t.step("an authorization already at its cap gets no further controllable increment", () => {
    const decision = decide(increment(5_000, true), {
      held: { amount: 100_000, requests: 2 },
    }) as Decision;
    assertEquals(decision.approved, false);
  });
  await t.step("per: request caps each request on its own", () => {
    const perRequest = decideWith([amountCap({ usd: 100_000 }, { per: "request" })]);
    assertEquals((perRequest(increment(30_000, false), { held }) as Decision).approved, true);
  });
  await t.step("an unknown reading is refused at start-up", () => {
    assertThrows(() => amountCap({ usd: 1 }, { per: "card" as never }), RangeError, "per");
  });
});

Deno.test("createDecide() reuses a request's results of policies that declare no counters", async (t) => {
  const calls: string[] = [];
  const failures: FallbackEvent[] = [];
  const lookup: Policy = function lookup() {
    calls.push("lookup");
    return Promise.resolve(abstain());
  };
  const flaky: Policy = function flaky() {
    calls.push("flaky");
    throw new Error("down");
  };
  const decide = decideWith([lookup, flaky, amountCap({ usd: 1_000_000 })], {
    fallback: "approve",
    onFallback: (event) => failures.push(event),
  });
  const results: PolicyResults = [];
  await t.step("the first run fills them", async () => {
    const decision = await decide(online, { results });
    assertEquals([decision.approved, decision.fallback], [true, "error"]);
    assertEquals(calls, ["lookup", "flaky"]);
    assertEquals(results.slice(0, 2), [{ outcome: "abstain" }, { failed: "error" }]);
  });
  await t.step(
    "a run again (the card's counters moved) reuses them, reporting nothing twice",
    () => {
      const decision = decide(online, { results }) as Decision;
      assertEquals([decision.approved, decision.fallback], [true, "error"]);
      assertEquals(calls, ["lookup", "flaky"], "neither policy ran again");
      assertEquals(failures.length, 1);
      assertEquals(failures[0].authorizationId, online.id);
    },
  );
  await t.step("after a timeout, a policy left pending is recorded as timed out", async () => {
    const hangs = named("hangs", new Promise<never>(() => {}));
    const late = named("late", new Promise<never>(() => {}));
    const own: PolicyResults = [];
    const first = await decideWith([hangs, late], { fallback: "approve", budgetMs: 20 })(online, {
      results: own,
    });
    assertEquals([first.approved, first.fallback], [true, "timeout"]);
    assertEquals(own, [{ failed: "timeout" }, { failed: "timeout" }]);
  });
});
