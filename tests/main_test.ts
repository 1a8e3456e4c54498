/**
 * `main.ts` as users run it: a child process started by the `start` task's
 * command, by `deno serve`, and as Deno Deploy would.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_assert.ts";
import { postSigned, TEST_SECRET } from "./_helpers.ts";
import { freePort, ROOT, runDeno, spawnService, startTaskArgs } from "./_process.ts";
import { authorizationEvent } from "../fixtures/events.ts";

/** An authorization request signed by stripe-node's signer, as Stripe would send it. */
function postRequest(url: string, secret: string): Promise<Response> {
  return postSigned(`${url}/webhook`, authorizationEvent(), { secret, signer: "stripe" });
}

Deno.test("the start task's command serves signed requests on PORT", async () => {
  await using child = await spawnService(
    startTaskArgs(),
    { STRIPE_WEBHOOK_SECRET: TEST_SECRET },
    freePort(),
  );
  const response = await postRequest(child.url, TEST_SECRET);
  assertEquals(response.status, 200);
  assertEquals((await response.json()).approved, true);
});

Deno.test("`deno serve main.ts` uses the default export", async () => {
  const port = freePort();
  await using child = await spawnService(
    [
      "serve",
      "--allow-net",
      "--allow-env",
      "--allow-read=./policies,./data",
      `--port=${port}`,
      "--host=127.0.0.1",
      "main.ts",
    ],
    { STRIPE_WEBHOOK_SECRET: TEST_SECRET },
    port,
  );
  const response = await postRequest(child.url, TEST_SECRET);
  assertEquals(response.status, 200);
  assertEquals(response.headers.get("content-type"), "application/json");
  await response.body?.cancel();
});

Deno.test("on Deno Deploy, start-up without STRIPE_WEBHOOK_SECRET is refused with one line", async () => {
  const { code, stderr } = await runDeno(startTaskArgs(), {
    env: { DENO_DEPLOYMENT_ID: "test-deployment", PORT: String(freePort()) },
  });
  assertEquals(code, 1);
  const text = stderr.trim();
  assertMatch(
    text.split("\n").at(-1)!,
    /^Cannot start: STRIPE_WEBHOOK_SECRET is required on Deno Deploy/,
  );
});

Deno.test("a bad setting stops start-up with a one-line reason", async () => {
  const { code, stderr } = await runDeno(startTaskArgs(), {
    env: { STRIPE_WEBHOOK_SECRET: TEST_SECRET, PORT: "eighty" },
  });
  assertEquals(code, 1);
  assertStringIncludes(
    stderr,
    'Cannot start: PORT must be an integer from 0 to 65535, got "eighty"',
  );
});

Deno.test("without a secret, a local development secret is created once, used, and never printed", async () => {
  // A scratch copy of the entry point's folder, so the test never touches the repository's data/.
  const dir = await Deno.makeTempDir();
  try {
    for (const entry of ["main.ts", "deno.json", "deno.lock", "lib", "policies"]) {
      await new Deno.Command("cp", { args: ["-r", new URL(entry, ROOT).pathname, dir] }).output();
    }
    const port = freePort();
    let secret: string;
    {
      await using child = await spawnService(startTaskArgs(), {}, port, {
        cwd: new URL(`file://${dir}/`),
      });
      secret = (await Deno.readTextFile(`${dir}/data/dev_webhook_secret`)).trim();
      assertMatch(secret, /^whsec_[A-Za-z0-9+/=]{40,}$/);
      const mode = (await Deno.stat(`${dir}/data/dev_webhook_secret`)).mode! & 0o777;
      assertEquals(mode, 0o600);
      const response = await postRequest(child.url, secret);
      assertEquals(response.status, 200);
      await response.body?.cancel();
      const text = await child.stop();
      assertStringIncludes(text, "data/dev_webhook_secret");
      assertStringIncludes(
        text,
        `"forward":"stripe listen --forward-to localhost:${port}/webhook"`,
      );
      assert(!text.includes(secret), "the secret itself is never printed");
      assert(!text.includes("did you mean"), "no default `fetch` export for deno run to warn of");
    }
    {
      await using child = await spawnService(startTaskArgs(), {}, port, {
        cwd: new URL(`file://${dir}/`),
      });
      assertEquals(
        (await Deno.readTextFile(`${dir}/data/dev_webhook_secret`)).trim(),
        secret,
        "kept across restarts",
      );
      const response = await postRequest(child.url, secret);
      assertEquals(response.status, 200);
      await response.body?.cancel();
    }
    {
      // `deno serve` listens on its own `--port`, not `PORT` (8000 by default): the command to
      // forward Stripe's events names the port it listens on (before, 8000). On every interface,
      // as `deno serve` does by default, with the development secret it answers only this
      // machine: a request from another address (this machine's own, off loopback; the test task
      // may read the interfaces for it) gets a 403.
      const servePort = freePort();
      await using child = await spawnService(
        ["serve", "--allow-all", `--port=${servePort}`, "--host=0.0.0.0", "main.ts"],
        {},
        servePort,
        { cwd: new URL(`file://${dir}/`) },
      );
      const response = await postRequest(child.url, secret);
      assertEquals(response.status, 200);
      await response.body?.cancel();
      const offLoopback = Deno.networkInterfaces().find((i) =>
        i.family === "IPv4" && !i.address.startsWith("127.")
      );
      assert(offLoopback, "an address off loopback to call from");
      const refused = await postRequest(`http://${offLoopback.address}:${servePort}`, secret);
      assertEquals(refused.status, 403);
      assertStringIncludes((await refused.json()).error, "only this machine is answered");
      const text = await child.stop();
      assertStringIncludes(
        text,
        `"forward":"stripe listen --forward-to localhost:${servePort}/webhook"`,
      );
      assert(!text.includes("localhost:8000"), text);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
