/**
 * Dashboard sessions and CSRF in a real browser (Debian's `chromium` through
 * puppeteer-core): the sign-in and sign-out forms work, a page on another
 * site that posts to them gets a 403 and changes nothing, and a cookie kept
 * from before sign-out no longer opens the dashboard.
 */
import { assertEquals } from "./_assert.ts";
import { launchChromium, NO_BROWSER } from "./_browser.ts";
import { startTestServer } from "./_helpers.ts";

const ADMIN_TOKEN = "session-admin-token-0123456789";

Deno.test({
  name: "dashboard sessions and CSRF in headless Chromium",
  ignore: NO_BROWSER,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await using server = await startTestServer({ ADMIN_TOKEN });
    // Another site: `localhost` is not `127.0.0.1`, so its forms are cross-site to the dashboard.
    const attacker = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
      const target = new URL(request.url).searchParams.get("target")!;
      return new Response(
        `<!doctype html><form method="post" action="${server.url}${target}">` +
          `<input name="token" value="${ADMIN_TOKEN}"><input name="csrf" value="guess"></form>` +
          `<script>document.forms[0].submit()</script>`,
        { headers: { "content-type": "text/html" } },
      );
    });
    const attackerUrl = `http://localhost:${attacker.addr.port}/`;
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const sessionCookie = async () =>
        (await page.cookies(`${server.url}/dashboard`)).find(({ name }) =>
          name === "authorizer_session"
        );

      await t.step("signing in through the form starts a session", async () => {
        await page.goto(`${server.url}/dashboard`);
        await page.type("input[name=token]", ADMIN_TOKEN);
        await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
        assertEquals(new URL(page.url()).pathname, "/dashboard");
      });
      const before = (await sessionCookie())!;

      for (const target of ["/dashboard/logout", "/dashboard/login"]) {
        await t.step(`a page on another site posting to ${target} gets 403`, async () => {
          const posted = page.waitForResponse((response) =>
            response.url() === `${server.url}${target}` && response.request().method() === "POST"
          );
          await page.goto(`${attackerUrl}?target=${target}`);
          assertEquals((await posted).status(), 403);
          assertEquals((await sessionCookie())?.value, before.value, "the session is untouched");
          await page.goto(`${server.url}/dashboard`);
          assertEquals(new URL(page.url()).pathname, "/dashboard", "still signed in");
        });
      }

      await t.step("signing out revokes the session: its old cookie opens nothing", async () => {
        await Promise.all([
          page.waitForNavigation(),
          page.click("form[action='/dashboard/logout'] button"),
        ]);
        assertEquals(new URL(page.url()).pathname, "/dashboard/login");
        const replayed = await fetch(`${server.url}/dashboard`, {
          headers: { cookie: `authorizer_session=${before.value}` },
          redirect: "manual",
        });
        await replayed.body?.cancel();
        assertEquals([replayed.status, replayed.headers.get("location")], [
          303,
          "/dashboard/login",
        ]);
      });
    } finally {
      await browser.close();
      await attacker.shutdown();
    }
  },
});
