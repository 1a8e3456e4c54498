/** Paging and filtering of the decision log, over a real store. */
import type Stripe from "stripe";
import {
  createOverviewReader,
  type DecisionFilter,
  exportDecisions,
  filterFromSearch,
  findDecisions,
} from "../../../lib/ops/decision_queries.ts";
import { Pacer } from "../../../lib/ops/pacer.ts";
import { exportResponse } from "../../../lib/ops/decision_export.ts";
import { assert, assertEquals, assertThrows } from "../../_assert.ts";
import { withMethod } from "../../_kv.ts";
import { recordEvent, recordRequest, testStore } from "../../_store.ts";
import { authorizationEvent, authorizationOf } from "../../../fixtures/events.ts";
import { lifecycleEvent, requestEvent } from "../../../fixtures/lifecycle.ts";

async function storeWith(times: readonly number[]) {
  const kv = await Deno.openKv(":memory:");
  const store = testStore(kv);
  const ids: string[] = [];
  for (const [i, at] of times.entries()) {
    const id = `iauth_q${String(i).padStart(3, "0")}`;
    ids.push(id);
    await recordRequest(
      store,
      authorizationOf(authorizationEvent("online", {
        id,
        merchant_data: i % 2 === 0
          ? { name: "LUCKY CASINO", category: "betting_casino_gambling" }
          : { name: "CITY CABS", category: "taxicabs_limousines" },
      })),
      at,
    );
  }
  return { kv, store, ids };
}

async function allPages(
  store: Parameters<typeof findDecisions>[0],
  filter: DecisionFilter,
  now: Date,
  budget?: number,
) {
  const seen: string[] = [];
  let cursor: string | undefined, pages = 0;
  do {
    const page = await findDecisions(store, { ...filter, cursor }, now, budget);
    seen.push(...page.data.map((record) => record.authorization_id));
    cursor = page.next ?? undefined;
    pages++;
  } while (cursor && pages < 100);
  return { seen, pages };
}

Deno.test("findDecisions() pages through decisions of one millisecond without loss or repeats", async () => {
  const now = Date.now();
  const { kv, store, ids } = await storeWith(Array.from({ length: 30 }, () => now - 1_000));
  const { seen } = await allPages(store, { range: "1h", limit: 7 }, new Date(now));
  assertEquals(seen, [...ids].sort().reverse());
  kv.close();
});

Deno.test("findDecisions() pages past any id the webhook takes: 255 characters, spaces, dots", async () => {
  // Before: a cursor took ids of 200 characters at most, without spaces, so the page after such a
  // record was a 400 ("Older" on the dashboard too).
  const now = Date.now();
  const kv = await Deno.openKv(":memory:");
  const store = testStore(kv);
  const ids = [`iauth_${"x".repeat(236)} with a space`, "iauth_dotted.5", "iauth_plain"];
  for (const [i, id] of ids.entries()) {
    await recordRequest(store, authorizationOf(authorizationEvent("online", { id })), now - i);
  }
  assertEquals(ids[0].length, 255);
  const { seen } = await allPages(store, { range: "1h", limit: 1 }, new Date(now));
  assertEquals(seen, ids);
  const page = await findDecisions(store, { range: "1h", limit: 1 }, new Date(now));
  const next = filterFromSearch(new URLSearchParams({ cursor: page.next! }), 50);
  assertEquals(next.cursor, page.next);
  kv.close();
});

Deno.test("findDecisions() lists each request of an authorization decided in one millisecond, by part or all of its id, on every page size", async () => {
  const now = Date.now();
  using kv = await Deno.openKv(":memory:");
  const store = testStore(kv);
  const at = now - 1_000;
  // A first request and its increment, and another authorization, all in one millisecond.
  await recordEvent(
    store,
    requestEvent({ id: "iauth_hotel", pending_request: { amount: 5_000 } }),
    at,
  );
  await recordEvent(
    store,
    requestEvent({ id: "iauth_hotel", pending_request: { amount: 9_000 } }, [{ amount: 5_000 }]),
    at,
  );
  await recordEvent(store, requestEvent({ id: "iauth_grocery" }), at);
  for (const limit of [1, 2, 50]) {
    const requests: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await findDecisions(store, { range: "1h", limit, cursor }, new Date(now));
      requests.push(
        ...page.data.map((record) => `${record.authorization_id}#${record.request_index}`),
      );
      cursor = page.next ?? undefined;
    } while (cursor && requests.length < 10);
    assertEquals(requests, ["iauth_hotel#1", "iauth_hotel#0", "iauth_grocery#0"], `limit ${limit}`);
    // By a part of its id (a scan) and by its whole id (read directly): each request a row.
    for (const authorization of ["hotel", "iauth_hotel"]) {
      const rows: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await findDecisions(
          store,
          { range: "1h", limit, authorization, cursor },
          new Date(now),
        );
        rows.push(
          ...page.data.map((record) => `${record.authorization_id}#${record.request_index}`),
        );
        cursor = page.next ?? undefined;
      } while (cursor && rows.length < 10);
      assertEquals(rows, ["iauth_hotel#1", "iauth_hotel#0"], `limit ${limit}, ${authorization}`);
    }
  }
});

/** Every page of `filter` from the first, each row as `authorization#request`. */
async function rowsOf(
  store: Parameters<typeof findDecisions>[0],
  filter: DecisionFilter,
  now: Date,
) {
  const rows: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await findDecisions(store, { ...filter, cursor }, now);
    rows.push(...page.data.map((record) => `${record.authorization_id}#${record.request_index}`));
    cursor = page.next ?? undefined;
  } while (cursor && rows.length < 1_000);
  return rows;
}

Deno.test("findDecisions() by a whole authorization id gives the rows a search by part of it gives", async () => {
  const now = Date.now();
  using kv = await Deno.openKv(":memory:");
  const store = testStore(kv);
  // Requests logged out of their order in time (a fallback recorded late, say), then reconciled.
  const requests = [[5_000, now - 2_000], [2_000, now - 3_000], [1_000, now - 1_000]] as const;
  for (const [i, [amount, at]] of requests.entries()) {
    const earlier = requests.slice(0, i).map(([amount]) => ({ amount }));
    await recordEvent(
      store,
      requestEvent({ id: "iauth_late", pending_request: { amount } }, earlier),
      at,
    );
  }
  await store.reconcile(
    lifecycleEvent(requestEvent({ id: "iauth_late" }), "issuing_authorization.created", {
      status: "pending",
      approved: true,
      amount: 8_000,
      requests: requests.map(([amount]) => ({ amount })),
    }).data.object as Stripe.Issuing.Authorization,
    "created",
  );
  for (const limit of [1, 2, 50]) {
    for (const authorization of ["late", "iauth_late"]) {
      const filter = { range: "1h", limit, authorization } as const;
      assertEquals(await rowsOf(store, filter, new Date(now)), [
        "iauth_late#2",
        "iauth_late#0",
        "iauth_late#1",
      ], `limit ${limit}, ${authorization}`);
      const [first] = (await findDecisions(store, filter, new Date(now))).data;
      assertEquals("reconciliation" in first, false, "only when filtered by it");
    }
  }
});

Deno.test("findDecisions() by a whole authorization id lists the requests declined once it took no more", async () => {
  const now = Date.now();
  using kv = await Deno.openKv(":memory:");
  const store = testStore(kv);
  const earlier: { amount: number }[] = [];
  for (let i = 0; i < 101; i++) {
    await recordEvent(
      store,
      requestEvent({ id: "iauth_full", pending_request: { amount: 100 } }, earlier),
      now - 1_000,
    );
    earlier.push({ amount: 100 });
  }
  const rows = await rowsOf(
    store,
    { range: "1h", limit: 500, authorization: "iauth_full" },
    new Date(now),
  );
  assertEquals(rows.length, 101);
  assertEquals(rows[0], "iauth_full#100");
});

Deno.test("findDecisions() stops at its read budget and says how far it looked", async () => {
  const now = Date.now();
  const { kv, store, ids } = await storeWith(millisecondsApart(now, 12));
  // Casino decisions are every other one: a budget of 4 reads finds 2 of them a page.
  const first = await findDecisions(
    store,
    { range: "1h", limit: 50, merchant: "casino" },
    new Date(now),
    4,
  );
  assertEquals(first.data.length, 2);
  assert(first.next !== null && first.searched_to !== null);
  const { seen } = await allPages(
    store,
    { range: "1h", limit: 50, merchant: "casino" },
    new Date(now),
    4,
  );
  assertEquals(seen, ids.filter((_, i) => i % 2 === 0).reverse());
  kv.close();
});

Deno.test("findDecisions() by reconciliation reads authorizations a chunk at a time, never one by one", async () => {
  const now = Date.now();
  const { kv, store, ids } = await storeWith(millisecondsApart(now, 30));
  // Stripe approved every one: the casino requests (every other one), which we declined, disagree.
  for (const id of ids) {
    const closed = lifecycleEvent(
      authorizationEvent("online", { id }),
      "issuing_authorization.updated",
      {
        status: "closed",
        approved: true,
        amount: 1_000,
        requests: [{ amount: 1_000 }],
      },
    );
    await store.reconcile(closed.data.object as Stripe.Issuing.Authorization, "updated");
  }
  let gets = 0;
  const counted = testStore(
    withMethod(
      kv,
      "get",
      ((key, options) => {
        gets++;
        return kv.get(key, options);
      }) as Deno.Kv["get"],
    ),
  );
  const filter = { range: "1h", limit: 4, reconciliation: "mismatch" } as const;
  const { seen } = await allPages(counted, filter, new Date(now));
  assertEquals(seen, ids.filter((_, i) => i % 2 === 0).reverse());
  assertEquals(gets, 0, "no authorization read on its own");
  kv.close();
});

Deno.test("findDecisions() keeps to the time range", async () => {
  const now = Date.now();
  const { kv, store } = await storeWith([now - 3 * 3_600_000, now - 30 * 60_000, now - 60_000]);
  const hour = await findDecisions(store, { range: "1h", limit: 50 }, new Date(now));
  assertEquals(hour.data.map((record) => record.authorization_id), ["iauth_q002", "iauth_q001"]);
  const day = await findDecisions(store, { range: "24h", limit: 50 }, new Date(now));
  assertEquals(day.data.length, 3);
  kv.close();
});

Deno.test("findDecisions() by merchant passes over a record whose merchant name is no text", async () => {
  // Logged before the webhook refused such events: every merchant search over it failed (503).
  using kv = await Deno.openKv(":memory:");
  const store = testStore(kv);
  const merchants = [{ name: 12345 }, { name: "ACME TOOLS" }, { name: null }];
  for (const [i, merchant] of merchants.entries()) {
    const event = authorizationEvent("online", { id: `iauth_named_${i}` });
    Object.assign(authorizationOf(event).merchant_data, merchant);
    await recordEvent(store, event);
  }
  const found = await findDecisions(
    store,
    { range: "1h", limit: 50, merchant: "acme" },
    new Date(),
  );
  assertEquals(found.data.map((record) => record.authorization_id), ["iauth_named_1"]);
  const all = await findDecisions(store, { range: "1h", limit: 50 }, new Date());
  assertEquals(all.data.length, 3);
});

Deno.test("createOverviewReader() shares one read among viewers within its ttl", async () => {
  const now = Date.now();
  const { kv, store } = await storeWith([now - 60_000]);
  const overview = createOverviewReader({ kv, store, ttlMs: 5_000 });
  const [a, b] = await Promise.all([overview("1h", new Date(now)), overview("1h", new Date(now))]);
  assert(a === b, "concurrent viewers share the read");
  assertEquals(a.totals.declined, 1);
  await recordRequest(
    store,
    authorizationOf(authorizationEvent("online", { id: "iauth_later" })),
    now,
  );
  assertEquals((await overview("1h", new Date(now + 1_000))).totals.approved, 0, "cached");
  assertEquals((await overview("1h", new Date(now + 6_000))).totals.approved, 1, "read again");
  assertThrows(() => createOverviewReader({ kv, store, ttlMs: -1 }), RangeError);
  kv.close();
});

function millisecondsApart(now: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => now - 60_000 + i);
}

Deno.test("exportDecisions() reads each chunk of the log in its own turn of the pacer", async () => {
  const now = Date.now();
  const { kv, store } = await storeWith(Array.from({ length: 450 }, (_, i) => now - 1_000 * i));
  try {
    const pacer = new Pacer();
    const run = pacer.run.bind(pacer);
    let turns = 0;
    pacer.run = (work) => (turns++, run(work));
    let rows = 0;
    const filter = { range: "1h", limit: 50 } as const;
    for await (const _ of exportDecisions(store, filter, new Date(now + 1), pacer)) rows++;
    // 200, 200 and the last 50: three turns, none holding the thread for the whole export.
    assertEquals([rows, turns], [450, 3]);
  } finally {
    kv.close();
  }
});

Deno.test("an export its bounds stop ends with a line saying so, in CSV and in JSON Lines", async (t) => {
  // Before: cut at its rows or its reads, the file ended as a complete one would (a narrow filter
  // over 7 days matched records past the reads, and the export had 0 rows and nothing else).
  const now = Date.now();
  const { kv, store } = await storeWith(Array.from({ length: 30 }, (_, i) => now - 1_000 * i));
  const lines = async (format: "csv" | "jsonl", limits: { rows: number; reads: number }) => {
    const records = exportDecisions(
      store,
      { range: "1h", limit: 50 },
      new Date(now + 1),
      undefined,
      limits,
    );
    return (await exportResponse(records, format, {}, () => {}).text()).trimEnd().split(/\r?\n/);
  };
  try {
    await t.step("whole: no cut line", async () => {
      const csv = await lines("csv", { rows: 30, reads: 30 });
      assertEquals(csv.length, 31);
      assert(!csv.some((line) => line.includes("cut short")));
    });
    await t.step("at its rows", async () => {
      const csv = await lines("csv", { rows: 10, reads: 100 });
      assertEquals(csv.length, 12);
      assertEquals(
        csv.at(-1),
        '"# cut short: more decisions match than one export writes; narrow the range or the filters"',
      );
      const jsonl = await lines("jsonl", { rows: 10, reads: 100 });
      assertEquals([jsonl.length, JSON.parse(jsonl.at(-1)!)], [11, { cut: "rows" }]);
    });
    await t.step("at its reads", async () => {
      const jsonl = await lines("jsonl", { rows: 100, reads: 20 });
      assertEquals(jsonl.length, 21);
      const cut = JSON.parse(jsonl.at(-1)!);
      assertEquals(cut.cut, "reads");
      assertEquals(cut.searched_to, JSON.parse(jsonl.at(-2)!).decided_at);
      const csv = await lines("csv", { rows: 100, reads: 20 });
      assert(
        csv.at(-1)!.startsWith('"# cut short: read the most records one export reads'),
        csv.at(-1),
      );
    });
  } finally {
    kv.close();
  }
});
