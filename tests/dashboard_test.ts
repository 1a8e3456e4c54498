/**
 * The dashboard in a real headless Chromium (Debian's `chromium`, driven by
 * puppeteer-core), over decisions made by real signed webhooks (and a week
 * of older ones decided through a store on the same KV): sign-in, totals,
 * charts for one minute and for a week, the time range, filters, exports,
 * the reconciliation and policy panels, layouts at three widths, error pages.
 * Screenshots go to `.cache/screenshots/`.
 *
 * Skipped only where no Chromium is installed and `REQUIRE_BROWSER` is unset;
 * CI installs Chromium and sets it.
 */
import type { Page } from "puppeteer-core";
import { blockCategories } from "../policies/block_categories.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_assert.ts";
import { launchChromium, NO_BROWSER } from "./_browser.ts";
import { signInToDashboard, startTestServer } from "./_helpers.ts";
import { referencePipeline } from "./fixtures/pipelines/reference.ts";
import { authorizationEvent, SCENARIOS } from "../fixtures/events.ts";
import { lifecycleEvent, requestEvent } from "../fixtures/lifecycle.ts";
import { seedDecisions } from "../tasks/screenshots.ts";

const ADMIN_TOKEN = "dashboard-admin-token-0123456789";
const SCREENSHOTS = new URL("../.cache/screenshots/", import.meta.url).pathname;
const OTHER_CARD = "ic_dashboard_other";
const HOUR_MS = 3_600_000;
const CHARTS = [
  "decisions",
  "approval-rate",
  "latency",
  "decline-reasons",
  "policy-hits",
  "shadow",
];

async function summary(page: Page): Promise<Record<string, string>> {
  return await page.$$eval(
    "dd[data-count]",
    (dds) =>
      Object.fromEntries(dds.map((dd) => [dd.getAttribute("data-count"), dd.textContent ?? ""])),
  );
}

async function rows(page: Page): Promise<string[]> {
  return await page.$$eval("#decisions tbody tr", (trs) => trs.map((tr) => tr.textContent ?? ""));
}

/** Each chart's axis labels, unit and legend, as the browser laid them out. */
async function charts(page: Page) {
  return await page.$$eval("figure[data-chart]", (figures) =>
    figures.map((figure) => ({
      id: figure.getAttribute("data-chart"),
      xTicks: [...figure.querySelectorAll("text.x-tick")].map((text) => text.textContent),
      yTicks: [...figure.querySelectorAll("text.y-tick")].map((text) => text.textContent),
      unit: figure.querySelector(".unit")?.textContent ?? "",
      legend: [...figure.querySelectorAll("ul.legend li")].map((li) => li.textContent),
      marks: figure.querySelectorAll("svg rect:not(.hover), svg circle").length,
      tooltips: [...figure.querySelectorAll("svg title")].map((title) => title.textContent),
      width: figure.getBoundingClientRect().width,
    })));
}

/** How far the page is wider than the window (0 when it fits). */
async function overflow(page: Page): Promise<number> {
  // A string, evaluated in the page: this file is type-checked without the DOM library.
  return Number(
    await page.evaluate(
      "document.documentElement.scrollWidth - document.documentElement.clientWidth",
    ),
  );
}

/** Fetches a URL from inside the page, with its session cookie. */
async function fetchInPage(page: Page, path: string) {
  return JSON.parse(
    String(
      await page.evaluate(`fetch(${JSON.stringify(path)}).then(async (r) => JSON.stringify({
        status: r.status, type: r.headers.get("content-type"), text: await r.text() }))`),
    ),
  ) as { status: number; type: string; text: string };
}

async function visit(page: Page, url: string): Promise<void> {
  await page.goto(url);
}

Deno.test({
  name: "the dashboard in headless Chromium",
  ignore: NO_BROWSER,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await Deno.mkdir(SCREENSHOTS, { recursive: true });
    const kv = await Deno.openKv(":memory:");
    const shadowPolicies = [...referencePipeline, blockCategories(["grocery_stores_supermarkets"])];
    // A week of older decisions, up to two hours ago, decided through a store on the same KV.
    const older = await seedDecisions(kv, {
      policies: referencePipeline,
      now: new Date(Date.now() - 2 * HOUR_MS),
      spanMs: 6 * 24 * HOUR_MS,
      peakPerHour: 4,
    });
    await using server = await startTestServer({ ADMIN_TOKEN }, { kv, shadowPolicies });
    const expected = { approved: 0, declined: 0, limited: 0 };
    const events = [
      // Named, not Object.values(SCENARIOS): the expectations below are about these.
      ...[
        "ordinary_grocery",
        "gambling",
        "over_cap",
        "over_cap_controllable",
        "gambling_over_cap",
        "fuel_controllable_under_hold",
        "fuel_controllable_at_hold",
        "fuel_controllable_over_hold",
        "fuel_not_controllable",
        "foreign_merchant",
        "unknown_currency",
      ].map((scenario) => SCENARIOS[scenario]),
      authorizationEvent("online", { id: "iauth_other_card", card: { id: OTHER_CARD } }),
      // A hotel: a first request and an incremental authorization on it.
      requestEvent({ id: "iauth_hotel", pending_request: { amount: 5_000 } }),
      requestEvent({ id: "iauth_hotel", pending_request: { amount: 9_000 } }, [{ amount: 5_000 }]),
    ];
    for (const event of events) {
      const body = await (await server.postEvent(event)).json();
      expected[!body.approved ? "declined" : "amount" in body ? "limited" : "approved"]++;
    }
    for (
      const created of [
        lifecycleEvent(SCENARIOS.ordinary_grocery, "issuing_authorization.created", {
          status: "pending",
          approved: true,
          amount: 4_250,
          requests: [{ amount: 4_250 }],
        }),
        // Stripe approved what we declined.
        lifecycleEvent(SCENARIOS.gambling, "issuing_authorization.created", {
          status: "pending",
          approved: true,
          amount: 5_000,
          requests: [{ amount: 5_000, approved: true }],
        }),
      ]
    ) {
      await (await server.postEvent(created)).body?.cancel();
    }
    const recent = events.length;

    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.setViewport({ width: 1280, height: 900 });

      await t.step("without a session every dashboard page redirects to sign-in", async () => {
        for (const path of ["/dashboard", "/dashboard/decisions/iauth_gambling"]) {
          await visit(page, `${server.url}${path}`);
          assertEquals(new URL(page.url()).pathname, "/dashboard/login");
        }
      });

      await t.step("a wrong token gets the sign-in page again, with an error", async () => {
        await page.type("input[name=token]", "not-the-token");
        const [response] = await Promise.all([
          page.waitForNavigation(),
          page.click("button[type=submit]"),
        ]);
        assertEquals(response?.status(), 401);
        assertStringIncludes(
          await page.$eval("[role=alert]", (element) => element.textContent ?? ""),
          "Wrong token.",
        );
        assertEquals(
          (await page.cookies()).filter(({ name }) => name === "authorizer_session"),
          [],
        );
      });

      await t.step(
        "the right token signs in with an HttpOnly, SameSite=Strict cookie",
        async () => {
          await page.type("input[name=token]", ADMIN_TOKEN);
          await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
          assertEquals(new URL(page.url()).pathname, "/dashboard");
          const [cookie] = await page.cookies();
          assertEquals([cookie.name, cookie.httpOnly, cookie.sameSite], [
            "authorizer_session",
            true,
            "Strict",
          ]);
          assert(!cookie.value.includes(ADMIN_TOKEN));
        },
      );

      await t.step("the last hour's totals are the decisions just sent", async () => {
        await visit(page, `${server.url}/dashboard?range=1h`);
        const shown = await summary(page);
        assertEquals(
          [shown.approved, shown.declined, shown.limited, shown.decisions].map(Number),
          [expected.approved, expected.declined, expected.limited, recent],
        );
        assertEquals(shown.shadow_disagreements, "1", "the shadow declines groceries");
      });

      await t.step(
        "charts of one minute of data have time axes, units, legends and values",
        async () => {
          const shown = await charts(page);
          assertEquals(shown.map((chart) => chart.id), CHARTS);
          for (const chart of shown) {
            assert(chart.xTicks.length >= 5, `${chart.id}: ${chart.xTicks}`);
            for (const tick of chart.xTicks) assertMatch(tick!, /^\d\d:\d\d$/);
            assert(chart.yTicks.length >= 2, `${chart.id} has a value axis`);
            assert(chart.unit.length > 0, `${chart.id} says its unit`);
            assert(chart.legend.length >= 1, `${chart.id} has a legend`);
            assert(chart.marks >= 1, `${chart.id} draws its one minute`);
          }
          const decisions = shown.find((chart) => chart.id === "decisions")!;
          assert(
            decisions.tooltips.some((title) =>
              title?.includes(`approved ${expected.approved}`) &&
              title.includes(`declined ${expected.declined}`)
            ),
            "hovering the minute names its values",
          );
          const latency = shown.find((chart) => chart.id === "latency")!;
          assertMatch(latency.unit, /ms/);
          assert(latency.tooltips.some((title) => /p99 \d/.test(title ?? "")));
          assertEquals(
            shown.find((chart) => chart.id === "approval-rate")!.yTicks.at(-1),
            "100%",
          );
          assert(
            shown.find((chart) => chart.id === "decline-reasons")!.legend.includes(
              "mcc_blocked:betting_casino_gambling",
            ),
          );
          await page.screenshot({ path: `${SCREENSHOTS}dashboard-1h.png`, fullPage: true });
        },
      );

      await t.step(
        "the time range changes what is shown: a week has day labels and more",
        async () => {
          await Promise.all([
            page.waitForNavigation(),
            page.click("nav.ranges a[href*='range=7d']"),
          ]);
          assertEquals(new URL(page.url()).searchParams.get("range"), "7d");
          const shown = await summary(page);
          assertEquals(Number(shown.decisions), recent + older);
          for (const chart of await charts(page)) {
            assert(chart.xTicks.length >= 5, `${chart.id}: ${chart.xTicks}`);
            for (const tick of chart.xTicks) assertMatch(tick!, /^\d\d-\d\d$/);
            assert(chart.yTicks.length >= 2);
          }
          const decisions = (await charts(page)).find((chart) => chart.id === "decisions")!;
          assert(decisions.marks > 20, "a week of hourly bars");
          assert(decisions.tooltips.some((title) => title?.includes("no data") === false));
          await page.screenshot({ path: `${SCREENSHOTS}dashboard-7d.png`, fullPage: true });
        },
      );

      await t.step("no horizontal overflow at 1280, 1920 and 390 px", async () => {
        for (const width of [1280, 1920, 390]) {
          await page.setViewport({ width, height: 900 });
          for (
            const path of [
              "/dashboard?range=1h",
              "/dashboard?range=7d",
              "/dashboard/decisions/iauth_gambling",
            ]
          ) {
            await visit(page, `${server.url}${path}`);
            assertEquals(await overflow(page), 0, `${path} at ${width} px`);
          }
        }
        await visit(page, `${server.url}/dashboard?range=1h`);
        await page.screenshot({ path: `${SCREENSHOTS}dashboard-phone.png`, fullPage: true });
        await page.setViewport({ width: 1280, height: 900 });
      });

      await t.step(
        "the decisions table shows time, card, merchant, amount, outcome and reasons",
        async () => {
          await visit(page, `${server.url}/dashboard?range=1h`);
          const headers = await page.$$eval(
            "#decisions thead th",
            (ths) => ths.map((th) => th.textContent),
          );
          assertEquals(headers, ["Time (UTC)", "Card", "Merchant", "Amount", "Outcome", "Reasons"]);
          const gambling = (await rows(page)).find((row) => row.includes("iauth_gambling\n"))!;
          for (
            const text of [
              "LUCKY CASINO",
              "50.00 USD",
              "declined",
              "mcc_blocked:betting_casino_gambling",
            ]
          ) {
            assertStringIncludes(gambling, text);
          }
          // Every cell is inside the table's box: nothing clipped or scrolled away.
          const clipped = await page.$$eval("#decisions td", (tds) => {
            const table = tds[0].closest("table")!.getBoundingClientRect();
            return tds.filter((td) => td.getBoundingClientRect().right > table.right + 1).length;
          });
          assertEquals(clipped, 0);
        },
      );

      await t.step("filters match prefixes and substrings, by outcome and range", async () => {
        const ids = async (search: string) => {
          await visit(page, `${server.url}/dashboard?${search}`);
          return (await rows(page)).map((row) => /iauth_\S+/.exec(row)![0]).sort();
        };
        assertEquals(await ids("range=1h&merchant=casino"), [
          "iauth_gambling",
          "iauth_gambling_over_cap",
        ]);
        assertEquals(await ids("range=1h&reason=mcc_block"), [
          "iauth_gambling",
          "iauth_gambling_over_cap",
        ]);
        assertEquals(await ids("range=1h&card=ic_dashboard_ot"), ["iauth_other_card"]);
        assertEquals(await ids("range=1h&authorization=iauth_fuel"), [
          "iauth_fuel_at",
          "iauth_fuel_fixed",
          "iauth_fuel_over",
          "iauth_fuel_under",
        ]);
        assertEquals((await ids("range=1h&outcome=limited")).length, expected.limited);
        assertEquals((await ids("range=7d&merchant=casino&outcome=declined")).length > 2, true);

        await visit(page, `${server.url}/dashboard?range=1h`);
        await page.type("form.filters input[name=merchant]", "Lucky");
        await page.select("form.filters select[name=outcome]", "declined");
        await Promise.all([
          page.waitForNavigation(),
          page.click("form.filters button[type=submit]"),
        ]);
        assertEquals((await rows(page)).length, 2);
      });

      await t.step("exports return the filtered decisions as CSV and JSON lines", async () => {
        const [csvLink, jsonlLink] = await page.$$eval(
          "p.exports a",
          (links) => links.map((link) => link.getAttribute("href")!),
        );
        const csv = await fetchInPage(page, csvLink);
        assertEquals([csv.status, csv.type], [200, "text/csv; charset=utf-8"]);
        const lines = csv.text.trimEnd().split("\r\n");
        assertEquals(lines[0].split(",").slice(0, 4), [
          "decided_at",
          "authorization_id",
          "card_id",
          "merchant_name",
        ]);
        assertEquals(lines.slice(1).map((line) => line.split(",")[1]).sort(), [
          "iauth_gambling",
          "iauth_gambling_over_cap",
        ]);
        const jsonl = await fetchInPage(page, jsonlLink);
        assertEquals(jsonl.type, "application/x-ndjson");
        const records = jsonl.text.trimEnd().split("\n").map((line) => JSON.parse(line));
        assertEquals(records.map((record) => record.authorization_id).sort(), [
          "iauth_gambling",
          "iauth_gambling_over_cap",
        ]);
        assert(records.every((record) => record.approved === false && record.trace.length > 0));

        const api = await fetch(`${server.url}/decisions.csv?range=1h&card=ic_dashboard_ot`, {
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        });
        const apiLines = (await api.text()).trimEnd().split("\r\n");
        assertEquals(apiLines.length, 2);
        assertStringIncludes(apiLines[1], "iauth_other_card");
      });

      await t.step(
        "the reconciliation panel counts outcomes and links to those decisions",
        async () => {
          await visit(page, `${server.url}/dashboard?range=1h`);
          const counts = await page.$$eval("td[data-reconciliation]", (tds) =>
            Object.fromEntries(
              tds.map((td) => [td.getAttribute("data-reconciliation"), Number(td.textContent)]),
            ));
          assertEquals(counts, {
            agreed: 1,
            mismatch: 1,
            webhook_timeout: 0,
            webhook_error: 0,
            network_decided: 0,
            stripe_declined: 0,
            stripe_error: 0,
            stripe_only: 0,
            unknown_reason: 0,
          });
          await Promise.all([
            page.waitForNavigation(),
            page.click("a[href*='reconciliation=mismatch']"),
          ]);
          const mismatched = await rows(page);
          assertEquals(mismatched.length, 1);
          assertStringIncludes(mismatched[0], "iauth_gambling");
        },
      );

      await t.step(
        "the policy panel shows live and shadow hits and shadow disagreements",
        async () => {
          await visit(page, `${server.url}/dashboard?range=1h`);
          const hits = await page.$$eval("tr[data-policy]", (trs) =>
            Object.fromEntries(
              trs.map((tr) => [
                tr.getAttribute("data-policy"),
                [...tr.querySelectorAll("td")].map((td) => Number(td.textContent)),
              ]),
            ));
          assertEquals(hits["live:blockCategories"], [2, 0]);
          assertEquals(hits["live:partialHold"][1] > 0, true);
          assertEquals(hits["shadow:blockCategories"], [3, 0], "gambling twice, groceries once");
          const examples = await page.$$eval(
            "ul.examples li",
            (lis) => lis.map((li) => li.textContent ?? ""),
          );
          assertEquals(examples.length, 1);
          assertStringIncludes(examples[0], "iauth_grocery");
        },
      );

      await t.step("one decision's page shows its fields and each policy's verdict", async () => {
        await visit(page, `${server.url}/dashboard?range=1h&merchant=casino`);
        await Promise.all([
          page.waitForNavigation(),
          page.click("a[href='/dashboard/decisions/iauth_gambling']"),
        ]);
        const trace = await page.$$eval(
          "table.trace tbody tr",
          (trs) => trs.map((tr) => tr.textContent ?? ""),
        );
        assertStringIncludes(trace[0], "blockCategories");
        assertStringIncludes(trace[0], "mcc_blocked:betting_casino_gambling");
        const text = await page.$eval("main", (main) => main.textContent ?? "");
        assertStringIncludes(text, "LUCKY CASINO");
        assertStringIncludes(text, "50.00 USD");
        assertStringIncludes(text, "mismatch");
        await page.screenshot({ path: `${SCREENSHOTS}decision.png`, fullPage: true });
      });

      await t.step("an authorization with an increment lists each request", async () => {
        await visit(page, `${server.url}/dashboard?range=1h&authorization=hotel`);
        const hotel = await rows(page);
        assertEquals(hotel.length, 2);
        assertStringIncludes(hotel[0], "increment 1");
        await visit(page, `${server.url}/dashboard/decisions/iauth_hotel`);
        const requests = await page.$$eval(
          "table.requests tbody tr",
          (trs) => trs.map((tr) => tr.textContent ?? ""),
        );
        assertEquals(requests.length, 2);
        assertStringIncludes(requests[0], "50.00 USD");
        assertStringIncludes(requests[1], "increment: approved");
        assertStringIncludes(requests[1], "90.00 USD");
        assertEquals(await overflow(page), 0);
      });

      await t.step("errors inside the dashboard are HTML pages with a reason", async () => {
        for (
          const [path, status, heading, reason] of [
            ["/dashboard/decisions/iauth_nope", 404, "Not found", "no decision for iauth_nope"],
            ["/dashboard/nowhere", 404, "Not found", "no page at /dashboard/nowhere"],
            ["/dashboard?range=2y", 400, "Bad request", "range must be 1h, 24h or 7d"],
            ["/dashboard?outcome=maybe", 400, "Bad request", "outcome must be"],
          ] as const
        ) {
          const response = await page.goto(`${server.url}${path}`);
          assertEquals(response?.status(), status, path);
          assertEquals(response?.headers()["content-type"], "text/html; charset=utf-8");
          assertEquals(await page.$eval("h1", (h1) => h1.textContent), heading);
          assertStringIncludes(await page.$eval("main", (main) => main.textContent ?? ""), reason);
          assertEquals(await overflow(page), 0);
        }
      });

      await t.step("auto-refresh updates the overview in place", async () => {
        await visit(page, `${server.url}/dashboard?range=1h`);
        const before = Number((await summary(page)).decisions);
        await page.evaluate(
          `document.getElementById("auto-refresh").dataset.refreshMs = "250"`,
        );
        await page.click("#auto-refresh");
        await (await server.postEvent(
          authorizationEvent("online", { id: "iauth_while_watching" }),
        )).body?.cancel();
        // The overview is cached for 5 s: the page shows the new decision within that.
        await page.waitForFunction(
          `document.querySelector("dd[data-count=decisions]").textContent === "${before + 1}"`,
          { timeout: 10_000 },
        );
        assertEquals(new URL(page.url()).pathname, "/dashboard", "no navigation");
        await page.click("#auto-refresh");
      });

      await t.step("signing out ends the session", async () => {
        await visit(page, `${server.url}/dashboard`);
        await Promise.all([
          page.waitForNavigation(),
          page.click("form[action='/dashboard/logout'] button"),
        ]);
        await visit(page, `${server.url}/dashboard`);
        assertEquals(new URL(page.url()).pathname, "/dashboard/login");
      });
    } finally {
      await browser.close();
    }
  },
});

Deno.test("/dashboard without ADMIN_TOKEN explains in one line how to enable it", async () => {
  await using server = await startTestServer({});
  for (const path of ["/dashboard", "/dashboard/decisions/iauth_1"]) {
    const response = await fetch(`${server.url}${path}`);
    assertEquals(response.status, 404);
    assertEquals(response.headers.get("content-type"), "text/html; charset=utf-8");
    const text = await response.text();
    assertMatch(
      text,
      /<p>Set <code>ADMIN_TOKEN<\/code>[^\n]*restart the service to enable it\.<\/p>/,
    );
  }
  const api = await fetch(`${server.url}/decisions`);
  assertEquals(api.status, 404, "the admin API stays off");
  await api.body?.cancel();
});

Deno.test("a wrong token, at sign-in or on the admin API, is refused with 401, logged and counted as a refusal", async () => {
  await using server = await startTestServer({ ADMIN_TOKEN });
  const form = await fetch(`${server.url}/dashboard/login`);
  const csrf = (await form.text()).match(/name="csrf" value="([^"]+)"/)![1];
  const cookie = form.headers.get("set-cookie")!.split(";")[0];
  const signIn = await fetch(`${server.url}/dashboard/login`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie },
    body: new URLSearchParams({ csrf, token: "not-the-admin-token-at-all" }),
  });
  assertEquals(signIn.status, 401);
  await signIn.body?.cancel();
  const api = await fetch(`${server.url}/stats`, { headers: { authorization: "Bearer wrong" } });
  assertEquals([api.status, (await api.json()).error], [401, "missing or wrong admin token"]);
  const refusals = server.logs.filter((record) =>
    record.msg === "rejected" && record.status === 401
  );
  assertEquals(refusals.map((record) => record.path), ["/dashboard/login", "/stats"]);
  const metrics = await fetch(`${server.url}/metrics`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  assertStringIncludes(
    await metrics.text(),
    'authorizer_rejected_requests_total{reason="http_401"} 2',
  );
  assert(!JSON.stringify(server.logs).includes("not-the-admin-token-at-all"));
});

Deno.test("the sign-in form refuses an oversized body without reading it", async () => {
  await using server = await startTestServer({ ADMIN_TOKEN });
  const response = await fetch(`${server.url}/dashboard/login`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: `token=${"x".repeat(10_000)}`,
  });
  assertEquals(response.status, 413);
  assertEquals(response.headers.get("content-type"), "text/html; charset=utf-8");
  await response.body?.cancel();
});

Deno.test("dashboard responses carry a strict Content-Security-Policy, and forged cookies are refused", async () => {
  await using server = await startTestServer({ ADMIN_TOKEN });
  const login = await fetch(`${server.url}/dashboard/login`);
  await login.body?.cancel();
  assertStringIncludes(login.headers.get("content-security-policy")!, "default-src 'none'");
  for (
    const cookie of ["authorizer_session=9999999999.forged", "authorizer_session=1.x", "other=1"]
  ) {
    for (const path of ["/dashboard", "/dashboard/decisions.csv"]) {
      const response = await fetch(`${server.url}${path}`, {
        headers: { cookie },
        redirect: "manual",
      });
      await response.body?.cancel();
      assertEquals([response.status, response.headers.get("location")], [303, "/dashboard/login"]);
    }
  }
});

Deno.test("a dashboard cursor older than the range shows an empty page and exports only the CSV header", async () => {
  await using server = await startTestServer({ ADMIN_TOKEN });
  await (await server.postEvent(authorizationEvent("online", { id: "iauth_old_cursor" }))).body
    ?.cancel();
  const cookie = await signInToDashboard(server.url, ADMIN_TOKEN);
  const cursor = encodeURIComponent(`${Date.now() - 3_660_000}.iauth_old_cursor`);
  const page = await fetch(`${server.url}/dashboard?range=1h&cursor=${cursor}`, {
    headers: { cookie },
  });
  assertEquals(page.status, 200);
  assert(!(await page.text()).includes("iauth_old_cursor"), "nothing listed");
  const csv = await fetch(`${server.url}/dashboard/decisions.csv?range=1h&cursor=${cursor}`, {
    headers: { cookie },
  });
  assertEquals(csv.status, 200);
  assertEquals((await csv.text()).trim().split("\n").length, 1);
});
