/**
 * Faults: replayed requests, policies that hang, throw or reject, a Deno KV
 * that is slow or failing, and a KV path that cannot be opened. Every
 * authorization still gets an answer within the budget.
 */
import { ConfigError } from "../../lib/service/config.ts";
import type { Policy } from "../../lib/engine/policy.ts";
import { createService } from "../../lib/service/service.ts";
import { referencePipeline } from "../fixtures/pipelines/reference.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../_assert.ts";
import {
  POLICIES_DIR,
  signWithHmac,
  startTestServer,
  TEST_SECRET,
  type TestServer,
} from "../_helpers.ts";
import { authorizationEvent } from "../../fixtures/events.ts";
import { withMethod } from "../_kv.ts";

const BUDGET_MS = 200;

/** Sends a fresh authorization and asserts it was declined with `reason` well inside Stripe's 2 s. */
async function assertFallbackInTime(server: TestServer, id: string, reason: string): Promise<void> {
  const started = performance.now();
  const response = await server.postEvent(authorizationEvent("online", { id }));
  const elapsed = performance.now() - started;
  const body = await response.json();
  assertEquals([response.status, body.approved], [200, false]);
  assertEquals(body.metadata.reason_1, reason);
  assert(elapsed < BUDGET_MS + 500, `answered in ${elapsed} ms`);
}

Deno.test("a captured request replayed within the tolerance gets the stored decision, after it a 400", async () => {
  await using server = await startTestServer({
    STRIPE_SIGNATURE_TOLERANCE_SECONDS: "1",
    ADMIN_TOKEN: "x".repeat(24),
  });
  const payload = JSON.stringify(
    authorizationEvent("online", { id: "iauth_replayed", card: { id: "ic_replay" } }),
  );
  const captured = {
    method: "POST",
    headers: { "stripe-signature": await signWithHmac(payload, TEST_SECRET) },
    body: payload,
  };

  const first = await fetch(`${server.url}/webhook`, captured);
  const firstBody = await first.text();
  const replay = await fetch(`${server.url}/webhook`, captured);
  assertEquals(
    [replay.status, await replay.text()],
    [200, firstBody],
    "within the tolerance: the same answer",
  );

  await new Promise((resolve) => setTimeout(resolve, 2_100));
  const late = await fetch(`${server.url}/webhook`, captured);
  assertEquals(late.status, 400);
  assertStringIncludes(await late.text(), "tolerance");

  const logged = await (await fetch(`${server.url}/decisions?card=ic_replay`, {
    headers: { authorization: `Bearer ${"x".repeat(24)}` },
  })).json();
  assertEquals(logged.data.length, 1, "decided and counted once");
  assertEquals(logged.data[0].reservation.count, 1);
});

Deno.test("a policy that hangs, throws or rejects yields the fallback before the budget, with a logged reason", async (t) => {
  const faulty: Record<string, Policy> = {
    hangs: function hangs() {
      return new Promise(() => {});
    },
    throws: function throws() {
      throw new Error("bug");
    },
    rejects: function rejects() {
      return Promise.reject(new Error("service down"));
    },
  };
  for (const [kind, policy] of Object.entries(faulty)) {
    await t.step(kind, async () => {
      await using server = await startTestServer({ DECISION_BUDGET_MS: String(BUDGET_MS) }, {
        policies: [...referencePipeline, policy],
      });
      await assertFallbackInTime(
        server,
        `iauth_policy_${kind}`,
        `fallback:${kind === "hangs" ? "timeout" : "error"} (${kind})`,
      );
      // Once, naming the request it failed on.
      const failures = server.logs.filter((record) =>
        record.msg === "policy_fallback" && record.policy === kind
      );
      assertEquals(failures.map((record) => record.authorization_id), [`iauth_policy_${kind}`]);
    });
  }
});

/** A real in-memory KV whose reads or commits stall or fail on demand. */
async function faultyKv(fault: "slow" | "failing"): Promise<Deno.Kv> {
  const kv = await Deno.openKv(":memory:");
  const misbehave = () =>
    fault === "slow"
      ? new Promise<never>(() => {})
      : Promise.reject(new Error("database is locked"));
  return withMethod(kv, "getMany", misbehave);
}

Deno.test("a slow or failing Deno KV still yields an answer before the budget, with the fallback and a logged reason", async (t) => {
  for (const fault of ["slow", "failing"] as const) {
    await t.step(fault, async () => {
      const kv = await faultyKv(fault);
      await using server = await startTestServer({ DECISION_BUDGET_MS: String(BUDGET_MS) }, { kv });
      await assertFallbackInTime(
        server,
        `iauth_kv_${fault}`,
        `fallback:store_${fault === "slow" ? "timeout" : "error"} (store)`,
      );
      assert(server.logs.some((record) => record.msg === "store_fallback"));
    });
  }
});

Deno.test("start-up with a KV path that cannot be opened fails with a clear message", async () => {
  const file = await Deno.makeTempFile();
  try {
    await assertRejects(
      () =>
        createService(
          new Map([["STRIPE_WEBHOOK_SECRET", TEST_SECRET], ["KV_PATH", `${file}/kv.sqlite3`]]),
          {
            policies: referencePipeline,
            policiesDir: POLICIES_DIR,
            serviceVersion: "test",
            log: () => {},
          },
        ),
      ConfigError,
      `Cannot open Deno KV at "${file}/kv.sqlite3"`,
    );
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("start-up with a KV Connect URL that cannot be reached names it without its credentials", async () => {
  // Deno KV's own message repeats the URL: it printed the user name, password and token. (Without
  // an access token it fails before it connects, naming no URL.)
  const KV_PATH = "https://kvuser:kv-secret-0123@127.0.0.1:1/db?token=t0k3n";
  Deno.env.set("DENO_KV_ACCESS_TOKEN", "kv-access-token-for-the-test");
  const message = await createService(
    new Map([["STRIPE_WEBHOOK_SECRET", TEST_SECRET], ["KV_PATH", KV_PATH]]),
    {
      policies: referencePipeline,
      policiesDir: POLICIES_DIR,
      serviceVersion: "test",
      log: () => {},
    },
  ).then(
    (service) => `started: ${service.config.kvPath}`,
    (error: Error) => error.message,
  ).finally(() => Deno.env.delete("DENO_KV_ACCESS_TOKEN"));
  assert(message.startsWith('Cannot open Deno KV at "https://…@127.0.0.1:1/db?…"'), message);
  assert(message.includes("127.0.0.1:1"), message);
  assert(!/kvuser|kv-secret|t0k3n/.test(message), message);
});
