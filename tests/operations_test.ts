/** Operations through the real service: `/metrics`, and shadow pipelines. */
import type { Policy } from "../lib/engine/policy.ts";
import { blockCategories } from "../policies/block_categories.ts";
import { referencePipeline } from "./fixtures/pipelines/reference.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "./_assert.ts";
import { withMethod } from "./_kv.ts";
import { startTestServer } from "./_helpers.ts";
import { authorizationEvent, SCENARIOS } from "../fixtures/events.ts";

const ADMIN_TOKEN = "operations-admin-token-0123456789";
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

/** The metric samples as `name{labels}` → value. */
async function scrape(url: string): Promise<Map<string, number>> {
  const response = await fetch(`${url}/metrics`, { headers: admin });
  assertEquals(response.headers.get("content-type"), "text/plain; version=0.0.4");
  const samples = new Map<string, number>();
  for (const line of (await response.text()).split("\n")) {
    if (line && !line.startsWith("#")) {
      const at = line.lastIndexOf(" ");
      samples.set(line.slice(0, at), Number(line.slice(at + 1)));
    }
  }
  return samples;
}

Deno.test("/metrics counters move by the right amounts after known requests", async () => {
  const throwsOnJpy: Policy = function throwsOnJpy(authorization) {
    if (authorization.pending_request.currency === "jpy") throw new Error("bug");
    return { outcome: "abstain" };
  };
  await using server = await startTestServer({ ADMIN_TOKEN }, {
    policies: [throwsOnJpy, ...referencePipeline],
  });
  const before = await scrape(server.url);
  assertEquals(before.get('authorizer_decisions_total{outcome="approved"}'), undefined);

  for (const scenario of ["ordinary_grocery", "fuel_controllable_under_hold"]) {
    await (await server.postEvent(SCENARIOS[scenario])).body?.cancel();
  }
  await (await server.postEvent(SCENARIOS.fuel_controllable_over_hold)).body?.cancel();
  for (const scenario of ["gambling", "gambling_over_cap", "unknown_currency"]) {
    await (await server.postEvent(SCENARIOS[scenario])).body?.cancel();
  }
  await (await server.postEvent(SCENARIOS.gambling)).body?.cancel(); // a redelivery: not a new decision
  await (await server.postEvent(SCENARIOS.gambling, { secret: "whsec_forged" })).body?.cancel();
  await (await fetch(`${server.url}/nowhere/${crypto.randomUUID()}`)).body?.cancel();

  const after = await scrape(server.url);
  assertEquals(after.get('authorizer_decisions_total{outcome="approved"}'), 2);
  assertEquals(after.get('authorizer_decisions_total{outcome="limited"}'), 1);
  assertEquals(after.get('authorizer_decisions_total{outcome="declined"}'), 3);
  assertEquals(
    after.get('authorizer_decision_reasons_total{reason="mcc_blocked:betting_casino_gambling"}'),
    2,
  );
  assertEquals(after.get('authorizer_decision_reasons_total{reason="amount_over_cap:usd"}'), 1);
  assertEquals(
    after.get('authorizer_decision_reasons_total{reason="partial_hold:automated_fuel_dispensers"}'),
    1,
  );
  assertEquals(after.get('authorizer_fallbacks_total{kind="error"}'), 1);
  assertEquals(
    after.get(
      'authorizer_rejected_requests_total{reason="no signature matches the payload and secret"}',
    ),
    1,
  );
  assertEquals(after.get('authorizer_rejected_requests_total{reason="http_404"}'), 1);
  assertEquals(after.get("authorizer_decision_latency_seconds_count"), 6);
  assertEquals(after.get('authorizer_decision_latency_seconds_bucket{le="+Inf"}'), 6);
});

Deno.test("/metrics is an admin route", async () => {
  await using server = await startTestServer({ ADMIN_TOKEN });
  const response = await fetch(`${server.url}/metrics`);
  assertEquals(response.status, 401);
  await response.body?.cancel();
});

Deno.test("admin reads answer HEAD as GET without a body, and the Bearer scheme in any case", async () => {
  // Before: HEAD was a 405 (RFC 9110, 9.1: GET and HEAD), and `bearer <token>` a 401 logged as a
  // wrong guess (11.1: schemes match in any case).
  await using server = await startTestServer({ ADMIN_TOKEN });
  for (const path of ["/decisions", "/metrics", "/dashboard/login"]) {
    const got = await fetch(`${server.url}${path}`, { headers: admin });
    const head = await fetch(`${server.url}${path}`, { method: "HEAD", headers: admin });
    assertEquals([head.status, head.headers.get("content-type")], [
      got.status,
      got.headers.get("content-type"),
    ], path);
    assertEquals(await head.text(), "", path);
    await got.body?.cancel();
  }
  const lower = await fetch(`${server.url}/decisions`, {
    headers: { authorization: `bearer ${ADMIN_TOKEN}` },
  });
  assertEquals(lower.status, 200);
  await lower.body?.cancel();
  const post = await fetch(`${server.url}/decisions`, { method: "POST", headers: admin });
  assertEquals([post.status, post.headers.get("allow")], [405, "GET, HEAD"]);
  await post.body?.cancel();
});

Deno.test("a shadow pipeline is logged beside the live decision and never changes the answer", async (t) => {
  const stricter = [...referencePipeline, blockCategories(["grocery_stores_supermarkets"])];
  const hangs: Policy = function hangs() {
    return new Promise(() => {});
  };

  await t.step(
    "a disagreement is logged and counted by reason; the answer is the live one",
    async () => {
      await using server = await startTestServer({ ADMIN_TOKEN }, { shadowPolicies: stricter });
      const response = await (await server.postEvent(SCENARIOS.ordinary_grocery)).json();
      assertEquals(response.approved, true, "the live pipeline approves groceries");
      const record =
        await (await fetch(`${server.url}/decisions/iauth_grocery`, { headers: admin })).json();
      assertEquals(record.approved, true);
      assertEquals(record.shadow.approved, false);
      assertEquals(record.shadow.disagrees, true);
      assertEquals(record.shadow.reasons, [{
        policy: "blockCategories",
        code: "mcc_blocked",
        detail: "grocery_stores_supermarkets",
      }]);
      assertEquals(record.shadow.trace.length, 5);

      await (await server.postEvent(SCENARIOS.gambling)).body?.cancel();
      const gambling =
        await (await fetch(`${server.url}/decisions/iauth_gambling`, { headers: admin })).json();
      assertEquals(gambling.shadow.disagrees, false, "both decline gambling");

      const samples = await scrape(server.url);
      assertEquals(
        samples.get(
          'authorizer_shadow_disagreements_total{reason="mcc_blocked:grocery_stores_supermarkets"}',
        ),
        1,
      );
    },
  );

  await t.step("a shadow policy that hangs never delays the answer", async () => {
    await using server = await startTestServer({ ADMIN_TOKEN, DECISION_BUDGET_MS: "100" }, {
      shadowPolicies: [hangs],
    });
    const started = performance.now();
    const response = await (await server.postEvent(SCENARIOS.ordinary_grocery)).json();
    const elapsed = performance.now() - started;
    assertEquals(response.approved, true);
    assert(elapsed < 1_000, `answered in ${elapsed} ms`);
    // The shadow falls back on its own budget, and is recorded once it does.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const record = await (await fetch(`${server.url}/decisions/iauth_grocery`, { headers: admin }))
      .json();
    assertEquals(record.shadow.reasons, [{ policy: "hangs", code: "fallback", detail: "timeout" }]);
    assert(
      server.logs.some((line) => line.msg === "shadow_policy_fallback" && line.policy === "hangs"),
    );
  });
});

Deno.test("the admin API pages decisions by cursor, filters by substring and exports", async (t) => {
  await using server = await startTestServer({ ADMIN_TOKEN });
  const ids: string[] = [];
  for (let i = 0; i < 23; i++) {
    const id = `iauth_page_${String(i).padStart(2, "0")}`;
    ids.push(id);
    const merchant = i % 4 === 0
      ? { name: "LUCKY CASINO", category: "betting_casino_gambling" }
      : { name: "CITY CABS", category: "taxicabs_limousines" };
    await (await server.postEvent(authorizationEvent("online", {
      id,
      card: { id: `ic_page_${i % 3}` },
      merchant_data: merchant,
      pending_request: { amount: 1_000 + i },
    }))).body?.cancel();
  }
  const get = async (search: string) => {
    const response = await fetch(`${server.url}/decisions?${search}`, { headers: admin });
    assertEquals(response.status, 200, search);
    return await response.json();
  };

  await t.step(
    "pages of 5 through 23 decisions: each once, newest first, then no next",
    async () => {
      const seen: string[] = [];
      let cursor = "";
      for (let page = 0; page < 10; page++) {
        const body = await get(`range=1h&limit=5${cursor ? `&cursor=${cursor}` : ""}`);
        seen.push(
          ...body.data.map((record: { authorization_id: string }) => record.authorization_id),
        );
        if (!body.next) break;
        cursor = encodeURIComponent(body.next);
      }
      assertEquals(seen, [...ids].reverse());
    },
  );

  await t.step("text filters match substrings, case-insensitively", async () => {
    const casino = await get("range=1h&merchant=Casino&limit=50");
    assertEquals(casino.data.length, 6);
    const card = await get("range=1h&card=page_1&limit=50");
    assert(
      card.data.every((record: { card_id: string }) => record.card_id === "ic_page_1"),
    );
    assertEquals(card.data.length, 8);
    const reason = await get("range=1h&reason=mcc_BLOCK&outcome=declined&limit=50");
    assertEquals(reason.data.length, 6);
  });

  await t.step(
    "a cursor older than the range (followed after it moved on) is an empty last page, and an empty export",
    async () => {
      // 0 ms, and an hour and a minute ago: both before the last hour's start.
      for (const at of [0, Date.now() - 3_660_000]) {
        const cursor = encodeURIComponent(`${at}.iauth_page_00`);
        assertEquals(await get(`range=1h&cursor=${cursor}`), {
          data: [],
          next: null,
          searched_to: null,
        });
        for (const format of ["csv", "jsonl"]) {
          const response = await fetch(
            `${server.url}/decisions.${format}?range=1h&cursor=${cursor}`,
            {
              headers: admin,
            },
          );
          assertEquals(response.status, 200, format);
          const lines = (await response.text()).split("\n").filter((line) => line !== "");
          assertEquals(lines.length, format === "csv" ? 1 : 0, `${format}: only a CSV header`);
        }
      }
    },
  );

  await t.step("bad filters are a 400 with the reason", async () => {
    for (
      const [search, reason] of [
        ["range=1y", "range must be 1h, 24h or 7d"],
        ["range=toString", "range must be 1h, 24h or 7d"],
        ["cursor=nonsense", "cursor must be"],
        ["reconciliation=maybe", "reconciliation must be one of"],
        [`merchant=${"x".repeat(201)}`, "merchant must be at most 200 characters"],
        // Misspelt, or not a filter: not everything, unfiltered, as if it had matched.
        ["reasons=mcc_blocked", 'unknown query parameter "reasons"'],
        ["card=ic_1&foo=1", 'unknown query parameter "foo"'],
        ["disagreement=2", "disagreement must be 1"],
      ]
    ) {
      for (const path of ["/decisions", "/decisions.csv"]) {
        const response = await fetch(`${server.url}${path}?${search}`, { headers: admin });
        assertEquals(response.status, 400, `${path}?${search}`);
        assertStringIncludes((await response.json()).error, reason);
      }
    }
    const stats = await fetch(`${server.url}/stats?range=1h&outcome=declined`, { headers: admin });
    assertEquals(stats.status, 400, "/stats reads only a range");
    assertStringIncludes((await stats.json()).error, 'unknown query parameter "outcome"');
  });

  await t.step(
    "/stats refuses a range that is not one (an object's own keys included)",
    async () => {
      for (const range of ["1y", "toString", "__proto__"]) {
        const response = await fetch(`${server.url}/stats?range=${range}`, { headers: admin });
        assertEquals(response.status, 400, range);
        assertStringIncludes((await response.json()).error, "range must be 1h, 24h or 7d");
      }
    },
  );

  await t.step("/stats counts the range from the aggregates", async () => {
    const response = await fetch(`${server.url}/stats?range=1h`, { headers: admin });
    const stats = await response.json();
    assertEquals([stats.totals.approved, stats.totals.declined], [17, 6]);
    assertEquals(stats.series.length, 60);
    assertEquals(stats.totals.policy_hits.blockCategories, { declined: 6, limited: 0 });
    const week = await (await fetch(`${server.url}/stats?range=7d`, { headers: admin })).json();
    assertEquals(week.series.length, 168);
    assertEquals(week.totals.approved, 17);
  });

  await t.step(
    "exports carry every match, CSV and JSON lines, for the admin token only",
    async () => {
      const csv = await fetch(`${server.url}/decisions.csv?range=1h&merchant=casino`, {
        headers: admin,
      });
      assertEquals(csv.headers.get("content-type"), "text/csv; charset=utf-8");
      assertMatch(
        csv.headers.get("content-disposition")!,
        /attachment; filename="decisions-.*\.csv"/,
      );
      const lines = (await csv.text()).trimEnd().split("\r\n");
      assertEquals(lines.length, 7);
      assert(lines.slice(1).every((line) => line.includes(",LUCKY CASINO,")));
      const jsonl = await fetch(`${server.url}/decisions.jsonl?range=1h`, { headers: admin });
      const records = (await jsonl.text()).trimEnd().split("\n").map((line) => JSON.parse(line));
      assertEquals(records.length, 23);
      const anonymous = await fetch(`${server.url}/decisions.csv`);
      assertEquals(anonymous.status, 401);
      await anonymous.body?.cancel();
    },
  );

  await t.step("answers of the admin API are never stored by a cache nor sniffed", async () => {
    const paths = ["/decisions", "/decisions.csv", "/decisions/iauth_page_00", "/stats"];
    for (const path of [...paths, "/policies", "/metrics"]) {
      const response = await fetch(`${server.url}${path}`, { headers: admin });
      assertEquals(response.status, 200, path);
      assertEquals(response.headers.get("cache-control"), "no-store", path);
      assertEquals(response.headers.get("x-content-type-options"), "nosniff", path);
      await response.body?.cancel();
    }
  });
});

Deno.test("an export whose read fails once streaming is cut short, and logged with its path", async () => {
  using memory = await Deno.openKv(":memory:");
  // The log's pages are read with `list`: every one fails, as a store that broke mid-export.
  const kv = withMethod(memory, "list", () => {
    throw new TypeError("database disk image is malformed");
  });
  await using server = await startTestServer({ ADMIN_TOKEN }, { kv });
  const response = await fetch(`${server.url}/decisions.csv?range=1h`, { headers: admin });
  assertEquals(response.status, 200);
  await assertRejects(() => response.text(), Error);
  const failed = server.logs.find((record) => record.msg === "export_failed");
  assertEquals(failed?.path, "/decisions.csv");
  assertStringIncludes(String(failed?.error), "malformed");
});
