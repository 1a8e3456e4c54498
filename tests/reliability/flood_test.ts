/**
 * Connection floods and descriptor exhaustion against real processes on
 * loopback (issue 16): the server runs under `prlimit --nofile=256`, more idle
 * connections than that are held open, and the same process must answer a
 * signed request once they close; a half-sent request head is cut off.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../_assert.ts";
import { postSigned, TEST_SECRET } from "../_helpers.ts";
import {
  type Child,
  freePort,
  msUntilClosed,
  PARTIAL_HEAD,
  ROOT,
  serveParallelArgs,
  spawnService,
  startTaskArgs,
} from "../_process.ts";
import { authorizationEvent } from "../../fixtures/events.ts";

const DESCRIPTORS = 256;
const FLOOD = 400;
const hasPrlimit = (() => {
  try {
    return new Deno.Command("prlimit", { args: ["--version"], stdout: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
})();

/** `deno <args>` under `prlimit --nofile=<limits>`, ready once `/healthz` answers. */
function startLimited(args: string[], port = freePort(), limits = `${DESCRIPTORS}`) {
  return spawnService(args, { DENO_JOBS: "2", STRIPE_WEBHOOK_SECRET: TEST_SECRET }, port, {
    wrapper: ["prlimit", `--nofile=${limits}`],
  });
}

/**
 * Floods the service with more half-sent request heads than it may open,
 * holds them for a second, lets them go, then posts a signed request.
 */
async function floodThenPost({ port, url }: Child): Promise<Response> {
  const held = await holdIdle(port, FLOOD);
  assert(held.length > DESCRIPTORS, `held ${held.length} connections`);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  for (const conn of held) conn.close();
  return await postAfterFlood(url);
}

/** Opens up to `count` connections that each send half a request head and wait. */
async function holdIdle(port: number, count: number): Promise<Deno.Conn[]> {
  const held: Deno.Conn[] = [];
  for (let i = 0; i < count; i++) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      held.push(conn);
      await conn.write(PARTIAL_HEAD);
    } catch {
      break; // the backlog is full: enough
    }
  }
  return held;
}

function postAfterFlood(url: string): Promise<Response> {
  return postSigned(`${url}/webhook`, authorizationEvent("online", { id: "iauth_after_flood" }));
}

Deno.test({
  name: "deno task start: a flood past the descriptor limit, then the same process decides again",
  ignore: !hasPrlimit,
  async fn() {
    await using server = await startLimited(startTaskArgs());
    const response = await floodThenPost(server);
    assertEquals(response.status, 200);
    assertEquals((await response.json()).approved, true);
    assert(server.running(), "the process that took the flood answered");
    const output = await server.stop();
    assertMatch(
      output,
      /"only \d+ file descriptors free \(open-file limit too low\): serving at most \d+ connections at once/,
    );
  },
});

Deno.test({
  name:
    "deno task start without the descriptor count: accept fails with EMFILE, the process lives on",
  ignore: !hasPrlimit,
  async fn() {
    // No read access to /dev/null: no count, no connection cap, so the flood reaches the limit.
    const args = startTaskArgs().map((arg) =>
      arg.startsWith("--allow-read=") ? arg.replace(",/dev/null", "") : arg
    );
    await using server = await startLimited(args);
    const response = await floodThenPost(server);
    assertEquals(response.status, 200);
    await response.body?.cancel();
    assert(server.running(), "the process that hit EMFILE answered");
    assertMatch(
      await server.stop(),
      /"msg":"accept_failed","error":"Error: Too many open files \(os error 24\)"/,
    );
  },
});

Deno.test({
  name:
    "deno task start under a soft limit of 256 and a hard one of 4,096: the runtime raises it, no warning",
  ignore: !hasPrlimit,
  async fn() {
    await using server = await startLimited(startTaskArgs(), freePort(), `${DESCRIPTORS}:4096`);
    const held = await holdIdle(server.port, FLOOD);
    const response = await postAfterFlood(server.url);
    assertEquals(response.status, 200);
    await response.body?.cancel();
    for (const conn of held) conn.close();
    const output = await server.stop();
    assert(!output.includes("file descriptors free"), output);
    assert(!output.includes("accept_failed"), output);
  },
});

Deno.test({
  name: "deno task start: a connection that sends half a request head is closed within 15 s",
  ignore: !hasPrlimit,
  async fn() {
    await using server = await startLimited(startTaskArgs());
    const seconds = await msUntilClosed(server.port) / 1_000;
    assert(seconds >= 9 && seconds < 15, `closed after ${seconds.toFixed(1)} s`);
    assertStringIncludes(
      await server.stop(),
      '"msg":"headers_timeout"',
    );
  },
});

const hasHaproxy = (() => {
  try {
    return new Deno.Command("haproxy", { args: ["-v"], stdout: "null" }).outputSync().success;
  } catch {
    return false;
  }
})();

Deno.test({
  name:
    "deno serve --parallel alone: the runtime holds a half-sent head and dies of a flood (why docs/haproxy.cfg)",
  ignore: !hasPrlimit,
  async fn() {
    // Documents a limit of Deno 2.9.6 (denoland/deno#10148): `deno serve` owns its accept loop.
    // When this fails, the runtime has caught up: SECURITY.md's front proxy becomes optional.
    const port = freePort();
    await using server = await startLimited(serveParallelArgs(port), port);
    const partial = await Deno.connect({ hostname: "127.0.0.1", port });
    await partial.write(PARTIAL_HEAD);
    await new Promise((resolve) => setTimeout(resolve, 12_000));
    const closed = await Promise.race([
      partial.read(new Uint8Array(64)).then(() => true, () => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), 200)),
    ]);
    assertEquals(closed, false, "a half-sent request head is still open after 12 s");
    partial.close();
    const held = await holdIdle(port, FLOOD);
    for (let i = 0; i < 100 && server.running(); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    for (const conn of held) conn.close();
    assert(!server.running(), "the process exited");
    assertStringIncludes(await server.stop(), "Too many open files");
  },
});

Deno.test({
  name:
    "deno serve --parallel behind docs/haproxy.cfg: a flood, a half-sent head cut off, and the same process decides",
  ignore: !hasPrlimit || !hasHaproxy,
  async fn() {
    const port = freePort();
    await using server = await startLimited(serveParallelArgs(port), port);
    const frontPort = freePort();
    const proxy = new Deno.Command("haproxy", {
      args: ["-db", "-f", new URL("docs/haproxy.cfg", ROOT).pathname],
      env: { FRONT_BIND: `127.0.0.1:${frontPort}`, BACKEND: `127.0.0.1:${port}` },
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      let ready = false;
      for (let i = 0; i < 100 && !ready; i++) {
        ready = await fetch(`http://127.0.0.1:${frontPort}/healthz`).then(
          async (response) => (await response.body?.cancel(), response.ok),
          () => false,
        );
        if (!ready) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert(ready, "haproxy serves docs/haproxy.cfg");
      const closedIn = msUntilClosed(frontPort);
      const held = await holdIdle(frontPort, FLOOD);
      assert(held.length > DESCRIPTORS, `held ${held.length} connections`);
      const response = await postAfterFlood(`http://127.0.0.1:${frontPort}`);
      assertEquals(response.status, 200);
      assertEquals((await response.json()).approved, true);
      for (const conn of held) conn.close();
      const seconds = await closedIn / 1_000;
      assert(seconds >= 9 && seconds < 15, `closed after ${seconds.toFixed(1)} s`);
      assert(server.running(), "the process behind the proxy never saw the flood");
    } finally {
      proxy.kill("SIGTERM");
      await proxy.status;
    }
  },
});
