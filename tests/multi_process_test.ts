/**
 * Several processes on one Deno KV, crashes, and Deno Deploy's rules: the
 * service started as child processes, the way it runs in production.
 */
import type Stripe from "stripe";
import { assert, assertEquals } from "./_assert.ts";
import { postSigned, TEST_SECRET } from "./_helpers.ts";
import {
  allowingDir,
  freePort,
  serveParallelArgs,
  spawnService,
  startTaskArgs,
} from "./_process.ts";
import { authorizationEvent } from "../fixtures/events.ts";

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

Deno.test("started as Deno Deploy starts it (no writes, managed KV), it serves signed requests", async (t) => {
  const deployArgs = [
    "run",
    "--allow-net",
    "--allow-env",
    "--allow-read=./policies",
    "--deny-write",
    "main.ts",
    "--listen",
  ];
  await t.step("serves signed requests with the secret", async () => {
    const port = freePort();
    await using server = await spawnService(deployArgs, {
      STRIPE_WEBHOOK_SECRET: TEST_SECRET,
      DENO_DEPLOYMENT_ID: "test-deployment",
      KV_PATH: "",
    }, port);
    const { status, body } = await post(server.url, cardEvent("iauth_deploy", "ic_deploy", 1_000));
    assertEquals([status, body.approved], [200, true]);
  });
});
