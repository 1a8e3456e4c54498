/**
 * Property: for any interleaving of requests, increments, redeliveries,
 * reversals, captures, refunds and out-of-order or repeated lifecycle events
 * on one card, the service's answer to every request (signed events over
 * HTTP) equals a simple sequential model's, which approves only within the
 * daily limit, and at the end the card holds exactly what the model holds.
 */
import type Stripe from "stripe";
import fc from "fast-check";
import { spendLimit } from "../policies/spend_limit.ts";
import { assertEquals } from "./_assert.ts";
import { startTestServer, type TestServer } from "./_helpers.ts";
import {
  lifecycleEvent,
  type PastRequest,
  requestEvent,
  transactionEvent,
} from "../fixtures/lifecycle.ts";

const LIMIT = 100_000;

type Op =
  | { readonly kind: "new"; readonly amount: number }
  | { readonly kind: "increment"; readonly auth: number; readonly amount: number }
  | { readonly kind: "redeliver"; readonly request: number }
  | { readonly kind: "reverse"; readonly auth: number }
  | { readonly kind: "capture"; readonly auth: number; readonly percent: number }
  | { readonly kind: "refund"; readonly auth: number }
  | { readonly kind: "late_created"; readonly auth: number }
  | { readonly kind: "repeat_lifecycle"; readonly auth: number }
  | { readonly kind: "transaction_events"; readonly auth: number };

/** The sequential model of one authorization. */
interface ModelAuthorization {
  readonly id: string;
  readonly requests: { amount: number; approved: boolean }[];
  final?: { status: "reversed" | "closed"; captured: number; refunded: number };
  lifecycle: Stripe.Event[];
}

const amount = fc.integer({ min: 1, max: 60_000 });
const index = fc.nat({ max: 20 });
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: amount.map((amount) => ({ kind: "new" as const, amount })) },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant("increment" as const), auth: index, amount }),
  },
  { weight: 2, arbitrary: index.map((request) => ({ kind: "redeliver" as const, request })) },
  { weight: 1, arbitrary: index.map((auth) => ({ kind: "reverse" as const, auth })) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("capture" as const),
      auth: index,
      percent: fc.integer({ min: 1, max: 100 }),
    }),
  },
  { weight: 1, arbitrary: index.map((auth) => ({ kind: "refund" as const, auth })) },
  { weight: 1, arbitrary: index.map((auth) => ({ kind: "late_created" as const, auth })) },
  { weight: 1, arbitrary: index.map((auth) => ({ kind: "repeat_lifecycle" as const, auth })) },
  { weight: 1, arbitrary: index.map((auth) => ({ kind: "transaction_events" as const, auth })) },
);

function held(auth: ModelAuthorization): number {
  if (auth.final) return Math.max(0, auth.final.captured - auth.final.refunded);
  return auth.requests.reduce((sum, r) => sum + (r.approved ? r.amount : 0), 0);
}

function history(auth: ModelAuthorization, upTo = auth.requests.length): PastRequest[] {
  return auth.requests.slice(0, upTo).map((r) => ({ amount: r.amount, approved: r.approved }));
}

async function approved(server: TestServer, event: Stripe.Event): Promise<boolean> {
  const response = await server.postEvent(event);
  assertEquals(response.status, 200);
  return (await response.json()).approved;
}

async function deliver(server: TestServer, event: Stripe.Event): Promise<void> {
  const response = await server.postEvent(event);
  assertEquals(response.status, 200);
  await response.body?.cancel();
}

Deno.test("any interleaving on one card answers as the sequential model and never exceeds the limit", async () => {
  await using server = await startTestServer({}, {
    policies: [spendLimit({ window: "daily", maxAmount: { usd: LIMIT } })],
  });
  let run = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 20 }), async (ops) => {
      const card = { id: `ic_property_${++run}` };
      const auths: ModelAuthorization[] = [];
      const sent: { event: Stripe.Event; approved: boolean }[] = [];
      const usage = () => auths.reduce((sum, auth) => sum + held(auth), 0);
      for (const step of ops) {
        const auth = auths.length > 0 && "auth" in step ? auths[step.auth % auths.length] : null;
        switch (step.kind) {
          case "new": {
            const id = `iauth_p${run}_${auths.length}`;
            const event = requestEvent({ id, card, pending_request: { amount: step.amount } });
            const expected = usage() + step.amount <= LIMIT;
            assertEquals(await approved(server, event), expected, `new ${step.amount}`);
            auths.push({
              id,
              requests: [{ amount: step.amount, approved: expected }],
              lifecycle: [],
            });
            sent.push({ event, approved: expected });
            break;
          }
          case "increment": {
            // Stripe sends increments only on approved authorizations.
            if (!auth || !auth.requests[0].approved) break;
            const event = requestEvent(
              { id: auth.id, card, pending_request: { amount: step.amount } },
              history(auth),
            );
            const expected = !auth.final && usage() + step.amount <= LIMIT;
            assertEquals(await approved(server, event), expected, `increment ${step.amount}`);
            auth.requests.push({ amount: step.amount, approved: expected });
            sent.push({ event, approved: expected });
            break;
          }
          case "redeliver": {
            if (sent.length === 0) break;
            const { event, approved: before } = sent[step.request % sent.length];
            assertEquals(await approved(server, event), before, "a redelivery answers the same");
            break;
          }
          case "reverse": {
            if (!auth || auth.final || !auth.requests[0].approved) break;
            const event = lifecycleEvent(
              requestEvent({ id: auth.id, card }),
              "issuing_authorization.updated",
              { status: "reversed", approved: true, amount: 0, requests: history(auth) },
            );
            auth.final = { status: "reversed", captured: 0, refunded: 0 };
            auth.lifecycle.push(event);
            await deliver(server, event);
            break;
          }
          case "capture": {
            if (!auth || auth.final || !auth.requests[0].approved) break;
            const total = held(auth);
            const captured = Math.max(1, Math.floor(total * step.percent / 100));
            const event = lifecycleEvent(
              requestEvent({ id: auth.id, card }),
              "issuing_authorization.updated",
              {
                status: "closed",
                approved: true,
                amount: total,
                requests: history(auth),
                transactions: [-captured],
              },
            );
            auth.final = { status: "closed", captured, refunded: 0 };
            auth.lifecycle.push(event);
            await deliver(server, event);
            break;
          }
          case "refund": {
            if (!auth || auth.final?.status !== "closed" || auth.final.refunded > 0) break;
            const refunded = Math.floor(auth.final.captured / 2);
            const event = lifecycleEvent(
              requestEvent({ id: auth.id, card }),
              "issuing_authorization.updated",
              {
                status: "closed",
                approved: true,
                amount: auth.requests.reduce((s, r) => s + (r.approved ? r.amount : 0), 0),
                requests: history(auth),
                transactions: [-auth.final.captured, refunded],
              },
            );
            auth.final.refunded = refunded;
            auth.lifecycle.push(event);
            await deliver(server, event);
            break;
          }
          case "late_created": {
            // The first request's `.created`, arriving after whatever came since: changes nothing.
            if (!auth) break;
            const first = auth.requests[0];
            await deliver(
              server,
              lifecycleEvent(requestEvent({ id: auth.id, card }), "issuing_authorization.created", {
                status: first.approved ? "pending" : "closed",
                approved: first.approved,
                amount: first.approved ? first.amount : 0,
                requests: history(auth, 1),
              }),
            );
            break;
          }
          case "repeat_lifecycle": {
            const last = auth?.lifecycle.at(-1);
            if (last) await deliver(server, last);
            break;
          }
          case "transaction_events": {
            // `issuing_transaction.created` for the transactions its lifecycle listed (same ids):
            // merged by id, they change nothing.
            if (auth?.final?.status !== "closed") break;
            const amounts = [
              -auth.final.captured,
              ...auth.final.refunded ? [auth.final.refunded] : [],
            ];
            for (const [i, amount] of amounts.entries()) {
              const id = `ipi_${auth.id.replace(/^iauth_/, "")}_${i}`;
              await deliver(
                server,
                transactionEvent(requestEvent({ id: auth.id, card }), { id, amount, linked: true }),
              );
            }
            break;
          }
        }
      }
      // What the card holds in the service equals the model's: exactly what is left fits.
      const left = LIMIT - usage();
      const probe = (amount: number, suffix: string) =>
        approved(
          server,
          requestEvent({
            id: `iauth_p${run}_probe_${suffix}`,
            card,
            pending_request: { amount },
          }),
        );
      assertEquals(await probe(left + 1, "over"), false, `more than the ${left} left`);
      if (left > 0) assertEquals(await probe(left, "exact"), true, `exactly the ${left} left`);
    }),
    { numRuns: 100 },
  );
});
