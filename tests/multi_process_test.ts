/**
 * Several processes on one Deno KV, crashes, and Deno Deploy's rules: the
 * service started as child processes, the way it runs in production.
 */
import { DatabaseSync } from "node:sqlite";
import type Stripe from "stripe";
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { nowSeconds, postSigned, TEST_SECRET } from "./_helpers.ts";
import {
  allowingDir,
  freePort,
  serveParallelArgs,
  spawnService,
  startTaskArgs,
} from "./_process.ts";
import { authorizationEvent, authorizationOf } from "../fixtures/events.ts";
import { lifecycleEvent } from "../fixtures/lifecycle.ts";

const ADMIN_TOKEN = "multi-process-admin-token-0123456789";
const DAILY_LIMIT = 500_000; // the default pipeline's 5,000.00 USD per card per day

async function post(
  url: string,
  event: Stripe.Event,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await postSigned(`${url}/webhook`, event);
  return { status: response.status, body: await response.json() };
}

function cardEvent(id: string, card: string, amount: number): Stripe.Event {
  return authorizationEvent("online", { id, card: { id: card }, pending_request: { amount } });
}

Deno.test("deno serve --parallel on one KV file: identical decisions and an exact limit across workers", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const port = freePort();
    await using server = await spawnService(
      serveParallelArgs(port, dir),
      { STRIPE_WEBHOOK_SECRET: TEST_SECRET, KV_PATH: `${dir}/kv.sqlite3`, DENO_JOBS: "2" },
      port,
    );
    // 5,000.00 of a 5,000.00 daily limit fits exactly 100 requests of 50.00, whichever worker takes them.
    const answers = await Promise.all(
      Array.from(
        { length: 200 },
        (_, i) => post(server.url, cardEvent(`iauth_parallel_${i}`, "ic_parallel", 5_000)),
      ),
    );
    assert(answers.every(({ status }) => status === 200));
    assertEquals(answers.filter(({ body }) => body.approved).length, 100);

    const gambling = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        post(
          server.url,
          authorizationEvent("online", {
            id: `iauth_parallel_gambling_${i}`,
            merchant_data: { category: "betting_casino_gambling", category_code: "7995" },
          }),
        )),
    );
    const distinct = new Set(gambling.map(({ body }) => JSON.stringify(body)));
    assertEquals(distinct.size, 1, "every worker answers the same");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a server killed with SIGKILL under load loses no answered decision and double-counts nothing", async () => {
  const dir = await Deno.makeTempDir();
  const env = { STRIPE_WEBHOOK_SECRET: TEST_SECRET, KV_PATH: `${dir}/kv.sqlite3`, ADMIN_TOKEN };
  const args = allowingDir(startTaskArgs(), dir);
  try {
    const port = freePort();
    const answered: { id: string; approved: boolean }[] = [];
    {
      const server = await spawnService(args, env, port);
      let sent = 0;
      const client = async () => {
        while (sent < 400) {
          const id = `iauth_crash_${sent++}`;
          try {
            const { status, body } = await post(server.url, cardEvent(id, "ic_crash", 1_000));
            if (status === 200) answered.push({ id, approved: body.approved as boolean });
          } catch {
            return; // the server is gone
          }
        }
      };
      const load = Promise.all(Array.from({ length: 16 }, client));
      const deadline = Date.now() + 30_000;
      while (answered.length < 100 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await server.stop("SIGKILL");
      await load;
    }
    assert(answered.length >= 100);

    await using server = await spawnService(args, env, port);
    const headers = { authorization: `Bearer ${ADMIN_TOKEN}` };
    let approvedTotal = 0;
    for (const { id, approved } of answered) {
      const response = await fetch(`${server.url}/decisions/${id}`, { headers });
      assertEquals(
        response.status,
        200,
        `${id} was answered 200 before the crash, so it is in the log`,
      );
      const record = await response.json();
      assertEquals(record.approved, approved);
      if (approved) approvedTotal += record.reservation.amount;
    }
    // Everything that was logged before the crash, whether or not its answer left, counts once in the limit.
    const logged =
      await (await fetch(`${server.url}/decisions?card=ic_crash&limit=500`, { headers })).json();
    const reserved = logged.data.reduce(
      (sum: number, record: { reservation: { amount: number } }) => sum + record.reservation.amount,
      0,
    );
    assert(reserved >= approvedTotal);
    // The counter must equal the log: exactly what is left can still be spent (1,000.00 at most per
    // authorization, the default cap), and not a cent more.
    let left = DAILY_LIMIT - reserved;
    for (let i = 0; left > 0; i++) {
      const amount = Math.min(left, 100_000);
      const rest = await post(server.url, cardEvent(`iauth_crash_rest_${i}`, "ic_crash", amount));
      assertEquals(rest.body.approved, true, `${left} left according to the log`);
      left -= amount;
    }
    const over = await post(server.url, cardEvent("iauth_crash_over", "ic_crash", 1));
    assertEquals(over.body.approved, false, "the limit is exactly used up");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * Holds SQLite's write lock on the KV file at `path`, as another process
 * writing to it would: every commit is refused ("database is locked") until
 * the returned function releases it (again: nothing).
 */
function holdWriteLock(path: string): () => void {
  const db = new DatabaseSync(path);
  db.exec("PRAGMA busy_timeout = 5000");
  db.exec("BEGIN EXCLUSIVE");
  return () => {
    if (!db.isOpen) return;
    db.exec("COMMIT");
    db.close();
  };
}

for (
  const [started, argsFor] of [
    ["deno task start", (_port: number, dir: string) => allowingDir(startTaskArgs(), dir)],
    // Each worker stops its own store; the process exits once both have.
    ["deno serve --parallel", serveParallelArgs],
  ] as const
) {
  Deno.test(`a server stopped while its store is locked records what it answered once the lock frees, or logs it (${started})`, async (t) => {
    await stopWhileLocked(t, argsFor);
  });
}

async function stopWhileLocked(
  t: Deno.TestContext,
  argsFor: (port: number, dir: string) => string[],
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/kv.sqlite3`;
  const env = {
    STRIPE_WEBHOOK_SECRET: TEST_SECRET,
    KV_PATH: path,
    ADMIN_TOKEN,
    FALLBACK_DECISION: "approve",
    DENO_JOBS: "2",
  };
  const port = freePort();
  const args = argsFor(port, dir);
  /** A 1,000.00 request the policies approve, answered while the store cannot commit. */
  async function answeredWhileLocked(url: string, id: string, card: string): Promise<void> {
    const { status, body } = await post(url, cardEvent(id, card, 100_000));
    assertEquals([status, body.approved], [200, true]);
  }
  /** 1,000.00 of `card`'s 5,000.00 a day are held: 4,000.00 more fit, and not a cent more. */
  async function assertDailyLimitHolds(url: string, card: string): Promise<void> {
    for (let i = 0; i < 4; i++) {
      const { body } = await post(url, cardEvent(`iauth_${card}_rest_${i}`, card, 100_000));
      assertEquals(body.approved, true);
    }
    const { body } = await post(url, cardEvent(`iauth_${card}_over`, card, 1));
    assertEquals(
      body.approved,
      false,
      "the daily limit counts the approval answered before the stop",
    );
  }
  try {
    await t.step("the lock frees while the stop waits: logged and reserved", async () => {
      const server = await spawnService(args, env, port);
      const release = holdWriteLock(path);
      let output: string;
      try {
        await answeredWhileLocked(server.url, "iauth_stopped_1", "ic_stopped");
        const stopped = server.stop(); // SIGTERM, as a deploy or a restart sends it
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        release();
        output = await stopped;
      } finally {
        release();
      }
      assert(!output.includes("store_unrecorded"), output);
      assertStringIncludes(output, '"msg":"stopped","unrecorded":0');
      assertEquals(
        output.split("\n").filter((line) => line.includes('"msg":"stopped"')).length,
        args[0] === "serve" ? 2 : 1,
        "every worker stopped its own store",
      );

      await using again = await spawnService(args, env, port);
      const response = await fetch(`${again.url}/decisions/iauth_stopped_1`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      assertEquals(response.status, 200, "what was answered is in the log");
      const record = await response.json();
      assertEquals([record.approved, record.reservation.amount], [true, 100_000]);
      await assertDailyLimitHolds(again.url, "ic_stopped");
    });

    await t.step(
      "the lock outlasts the stop's wait: each answer not logged is named in one line",
      async () => {
        await using server = await spawnService(args, env, port);
        const release = holdWriteLock(path);
        let output: string;
        try {
          await answeredWhileLocked(server.url, "iauth_stopped_2", "ic_stopped_2");
          // A lifecycle event waits for the store far longer (10 s) than a stop may take.
          const lifecycle = postSigned(
            `${server.url}/webhook`,
            lifecycleEvent(
              cardEvent("iauth_stopped_other", "ic_stopped_other", 1_000),
              "issuing_authorization.updated",
              { status: "closed", approved: true, amount: 0, requests: [{ amount: 1_000 }] },
            ),
          ).then((response) => response.body?.cancel(), () => {});
          await new Promise((resolve) => setTimeout(resolve, 200));
          const started = performance.now();
          const stopped = server.stop();
          // Ctrl-C again while it stops: the same stop, not a crash.
          await new Promise((resolve) => setTimeout(resolve, 200));
          server.signal("SIGINT");
          output = await stopped;
          // Deno Deploy kills an instance 5 s after its SIGINT.
          assert(performance.now() - started < 5_000, "the stop ends before a SIGKILL would");
          await lifecycle;
        } finally {
          release();
        }
        const lines = output.split("\n").filter((line) => line.includes('"store_unrecorded"'));
        assertEquals(lines.length, 1, output);
        assertStringIncludes(output, '"msg":"stopped","unrecorded":1');
        // The lifecycle event the stop cut short (Stripe redelivers it) is no error of ours.
        assert(!output.includes('"msg":"internal_error"'), output);
        const logged = JSON.parse(lines[0]);
        assertEquals(
          [
            logged.reason,
            logged.authorization_id,
            logged.card_id,
            logged.approved,
            logged.requested_amount,
          ],
          ["stopped", "iauth_stopped_2", "ic_stopped_2", true, 100_000],
        );

        // Stripe's event for it, redelivered until received, holds it again.
        await using again = await spawnService(args, env, port);
        const request = cardEvent("iauth_stopped_2", "ic_stopped_2", 100_000);
        authorizationOf(request).created = nowSeconds();
        const created = await postSigned(
          `${again.url}/webhook`,
          lifecycleEvent(request, "issuing_authorization.created", {
            status: "pending",
            approved: true,
            amount: 100_000,
            requests: [{ amount: 100_000 }],
          }),
        );
        assertEquals(created.status, 200);
        await created.body?.cancel();
        await assertDailyLimitHolds(again.url, "ic_stopped_2");
      },
    );

    await t.step(
      "a request in flight at the signal is answered, and named if not logged",
      async () => {
        await using server = await spawnService(args, env, port);
        const release = holdWriteLock(path);
        let output: string;
        try {
          const answer = post(server.url, cardEvent("iauth_stopped_3", "ic_stopped_3", 100_000));
          await new Promise((resolve) => setTimeout(resolve, 300));
          output = await server.stop();
          const { status, body } = await answer;
          assertEquals([status, body.approved], [200, true], "answered within its deadline");
        } finally {
          release();
        }
        const lines = output.split("\n").filter((line) => line.includes('"store_unrecorded"'));
        assertEquals(lines.length, 1, output);
        assertEquals(JSON.parse(lines[0]).authorization_id, "iauth_stopped_3");
        assertStringIncludes(output, '"msg":"stopped","unrecorded":1');
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("started as Deno Deploy starts it (no writes, managed KV), it serves signed requests", async (t) => {
  const deployArgs = [
    "run",
    "--allow-net",
    "--allow-env",
    "--allow-read=./policies",
    "--deny-write",
    "main.ts",
  ];
  await t.step(
    "serves signed requests with the secret, on Deno.serve, and stops on SIGINT",
    async () => {
      const port = freePort();
      await using server = await spawnService(deployArgs, {
        STRIPE_WEBHOOK_SECRET: TEST_SECRET,
        DENO_DEPLOYMENT_ID: "test-deployment",
        KV_PATH: "",
        // Where Deploy's platform has `Deno.serve` listen (Deno reads it for every `Deno.serve`).
        DENO_SERVE_ADDRESS: `tcp:127.0.0.1:${port}`,
      }, port);
      const { status, body } = await post(
        server.url,
        cardEvent("iauth_deploy", "ic_deploy", 1_000),
      );
      assertEquals([status, body.approved], [200, true]);
      // Deploy sends SIGINT and kills the instance 5 s later: the service stops itself before that.
      const started = performance.now();
      const output = await server.stop("SIGINT");
      assert(performance.now() - started < 5_000);
      assertStringIncludes(output, '"msg":"stopped","unrecorded":0');
    },
  );
});
