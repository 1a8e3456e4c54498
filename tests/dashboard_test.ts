/**
 * The dashboard in a real headless Chromium (Debian's `chromium`, driven by
 * puppeteer-core): sign-in, counts, the decisions table, a card filter, one
 * decision's trace, and refusals. Screenshots go to `.cache/screenshots/`.
 *
 * Skipped only where no Chromium is installed and `REQUIRE_BROWSER` is unset;
 * CI installs Chromium and sets it.
 */
import puppeteer, { type Page } from "puppeteer-core";
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { startTestServer } from "./_helpers.ts";
import { authorizationEvent, SCENARIOS } from "../fixtures/events.ts";

const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";
const hasChromium = await Deno.stat(CHROMIUM).then(() => true, () => false);
const ADMIN_TOKEN = "dashboard-admin-token-0123456789";
const SCREENSHOTS = new URL("../.cache/screenshots/", import.meta.url).pathname;
const OTHER_CARD = "ic_dashboard_other";

async function counts(page: Page, card: "Last hour" | "Last day"): Promise<Record<string, number>> {
  return await page.$$eval("section.card", (sections, title) => {
    const section = sections.find((element) => element.querySelector("h3")?.textContent === title)!;
    return Object.fromEntries(
      [...section.querySelectorAll("dd[data-count]")].map((
        dd,
      ) => [dd.getAttribute("data-count"), Number(dd.textContent)]),
    );
  }, card);
}

async function rows(page: Page): Promise<string[]> {
  return await page.$$eval("#decisions tbody tr", (trs) => trs.map((tr) => tr.textContent ?? ""));
}

Deno.test({
  name: "the dashboard in headless Chromium: sign-in, counts, table, filter, trace, refusals",
  ignore: !hasChromium && !Deno.env.get("REQUIRE_BROWSER"),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await Deno.mkdir(SCREENSHOTS, { recursive: true });
    await using server = await startTestServer({ ADMIN_TOKEN });
    const expected = { approved: 0, declined: 0, limited: 0 };
    const events = [
      ...Object.values(SCENARIOS),
      authorizationEvent("online", { id: "iauth_other_card", card: { id: OTHER_CARD } }),
    ];
    for (const event of events) {
      const body = await (await server.postEvent(event)).json();
      expected[!body.approved ? "declined" : "amount" in body ? "limited" : "approved"]++;
    }

    const browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    try {
      const page = await browser.newPage();
      await page.setViewport({ width: 1200, height: 900 });

      await t.step("without a session every dashboard page redirects to sign-in", async () => {
        for (const path of ["/dashboard", "/dashboard/decisions/iauth_gambling"]) {
          await page.goto(`${server.url}${path}`);
          assertEquals(new URL(page.url()).pathname, "/dashboard/login");
        }
        await page.screenshot({ path: `${SCREENSHOTS}login.png` });
      });

      await t.step(
        "a wrong token gets the sign-in page again, with an error and no session",
        async () => {
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
          assertEquals((await page.cookies()).length, 0);
        },
      );

      await t.step(
        "the right token signs in with an HttpOnly, SameSite=Strict session cookie",
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

      await t.step("the counts and the table show the decisions sent", async () => {
        const lastHour = await counts(page, "Last hour");
        assertEquals(
          { approved: lastHour.approved, declined: lastHour.declined, limited: lastHour.limited },
          expected,
        );
        assertEquals((await rows(page)).length, events.length);
        const gambling = (await rows(page)).find((row) =>
          row.split(/\s+/).includes("iauth_gambling")
        )!;
        assertStringIncludes(gambling, "50.00 USD");
        assertStringIncludes(gambling, "mcc_blocked:betting_casino_gambling");
        assertStringIncludes(await page.content(), "blockCategories");
        await page.screenshot({ path: `${SCREENSHOTS}dashboard.png`, fullPage: true });
      });

      await t.step("filtering by a card shows only its decisions", async () => {
        await page.type("input[name=card]", OTHER_CARD);
        await Promise.all([
          page.waitForNavigation(),
          page.click("form.filters button[type=submit]"),
        ]);
        const filtered = await rows(page);
        assertEquals(filtered.length, 1);
        assertStringIncludes(filtered[0], "iauth_other_card");
      });

      await t.step(
        "one decision's page shows its fields and each policy's verdict in order",
        async () => {
          await page.goto(`${server.url}/dashboard`);
          await Promise.all([
            page.waitForNavigation(),
            page.click("a[href='/dashboard/decisions/iauth_gambling']"),
          ]);
          const trace = await page.$$eval(
            "table.trace tbody tr",
            (trs) => trs.map((tr) => tr.textContent ?? ""),
          );
          assertEquals(trace.length, 4);
          assertStringIncludes(trace[0], "blockCategories");
          assertStringIncludes(trace[0], "mcc_blocked:betting_casino_gambling");
          assertStringIncludes(trace[1], "amountCap");
          const text = await page.$eval("main", (main) => main.textContent ?? "");
          assertStringIncludes(text, "LUCKY CASINO");
          assertStringIncludes(text, "50.00 USD");
          await page.screenshot({ path: `${SCREENSHOTS}decision.png`, fullPage: true });
        },
      );

      await t.step("on a phone-sized screen nothing overflows the page", async () => {
        await page.setViewport({ width: 390, height: 844 });
        await page.goto(`${server.url}/dashboard`);
        // A string, evaluated in the page: this file is type-checked without the DOM library.
        const overflow = Number(
          await page.evaluate("document.documentElement.scrollWidth - window.innerWidth"),
        );
        assert(overflow <= 0, `the page is ${overflow}px wider than the screen`);
        await page.screenshot({ path: `${SCREENSHOTS}dashboard-phone.png` });
      });

      await t.step("signing out ends the session", async () => {
        await page.setViewport({ width: 1200, height: 900 });
        await Promise.all([
          page.waitForNavigation(),
          page.click("form[action='/dashboard/logout'] button"),
        ]);
        await page.goto(`${server.url}/dashboard`);
        assertEquals(new URL(page.url()).pathname, "/dashboard/login");
      });
    } finally {
      await browser.close();
    }
  },
});

Deno.test("the sign-in form refuses an oversized body without reading it", async () => {
  await using server = await startTestServer({ ADMIN_TOKEN });
  const response = await fetch(`${server.url}/dashboard/login`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: `token=${"x".repeat(10_000)}`,
  });
  assertEquals(response.status, 413);
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
    const response = await fetch(`${server.url}/dashboard`, {
      headers: { cookie },
      redirect: "manual",
    });
    await response.body?.cancel();
    assertEquals([response.status, response.headers.get("location")], [303, "/dashboard/login"]);
  }
});
