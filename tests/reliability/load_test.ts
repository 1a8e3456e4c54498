/**
 * Load: 200 concurrent connections for a bounded run (4,000 requests, at most
 * 30 s): zero errors, limits never exceeded, heap back near its start.
 */
import { spendLimit } from "../../policies/spend_limit.ts";
import { assert, assertEquals } from "../_assert.ts";
import { signWithHmac, startTestServer, TEST_SECRET } from "../_helpers.ts";
import { authorizationEvent } from "../../fixtures/events.ts";

const CONNECTIONS = 200;
const REQUESTS = 4_000;
const CARDS = 20;
const LIMIT = 50_000; // per card and day, in the test pipeline
const DEADLINE_MS = 30_000;

const gc = (globalThis as { gc?: () => void }).gc;

Deno.test("200 concurrent connections: no errors, no limit exceeded, heap back near its start", async () => {
  assert(gc, "run with --v8-flags=--expose-gc (the test tasks do)");
  await using server = await startTestServer({}, {
    policies: [spendLimit({ window: "daily", maxAmount: { usd: LIMIT } })],
  });
  const payloads = await Promise.all(Array.from({ length: REQUESTS }, async (_, i) => {
    const payload = JSON.stringify(authorizationEvent("online", {
      id: `iauth_load_${i}`,
      card: { id: `ic_load_${i % CARDS}` },
      pending_request: { amount: 500 + (i % 9) * 250 },
    }));
    return { payload, signature: await signWithHmac(payload, TEST_SECRET), card: i % CARDS };
  }));
  const send = async (i: number) => {
    const { payload, signature } = payloads[i];
    const response = await fetch(`${server.url}/webhook`, {
      method: "POST",
      headers: { "stripe-signature": signature },
      body: payload,
    });
    return { status: response.status, body: await response.json() };
  };
  // Warm up, then measure the heap from here.
  await Promise.all(Array.from({ length: 100 }, (_, i) => send(i)));
  gc!();
  const heapBefore = Deno.memoryUsage().heapUsed;

  const approvedByCard = new Array<number>(CARDS).fill(0);
  let next = 100, errors = 0;
  const stopAt = Date.now() + DEADLINE_MS;
  await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
    while (next < REQUESTS && Date.now() < stopAt) {
      const i = next++;
      const { status, body } = await send(i);
      if (status !== 200) errors++;
      else if (body.approved) {
        approvedByCard[payloads[i].card] +=
          JSON.parse(payloads[i].payload).data.object.pending_request.amount;
      }
    }
  }));
  assertEquals(next, REQUESTS, "the run finished within its time bound");
  assertEquals(errors, 0);
  for (const total of approvedByCard) {
    assert(total <= LIMIT, `approved ${total} of ${LIMIT} on one card`);
  }

  gc!();
  const grownMiB = (Deno.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
  assert(grownMiB < 16, `heap grew ${grownMiB.toFixed(1)} MiB over the run`);
});
