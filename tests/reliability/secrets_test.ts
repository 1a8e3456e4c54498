/**
 * Secrets never leave: the service runs as a child process with every secret
 * set, takes valid, forged and admin requests, and then its whole output and
 * every response body are searched for the secrets and for signatures.
 */
import { bearerTokenCheck } from "../../lib/http/admin_token.ts";
import { assert, assertEquals } from "../_assert.ts";
import { signWithHmac, TEST_SECRET } from "../_helpers.ts";
import { freePort, spawnService, startTaskArgs } from "../_process.ts";
import { authorizationEvent } from "../../fixtures/events.ts";

const ADMIN_TOKEN = "admin-token-that-must-never-leak-0123";
const SECRET_KEY = "sk_test_secretkeythatmustneverleak0123";
const OLD_SECRET = "whsec_old_secret_that_must_never_leak";

Deno.test("no secret, token or signature appears in any log line or response", async () => {
  const port = freePort();
  const server = await spawnService(startTaskArgs(), {
    STRIPE_WEBHOOK_SECRET: `${OLD_SECRET},${TEST_SECRET}`,
    ADMIN_TOKEN,
    DECISION_MODE: "api",
    API_MODE_PERCENT: "50",
    STRIPE_SECRET_KEY: SECRET_KEY,
    STRIPE_API_BASE: "http://127.0.0.1:9", // nothing listens: every API call fails and is logged
  }, port);
  const bodies: string[] = [];
  const signatures: string[] = [];
  const send = async (init: RequestInit, path = "/webhook") => {
    const response = await fetch(`${server.url}${path}`, init);
    bodies.push(await response.text());
    return response.status;
  };
  for (let i = 0; i < 10; i++) {
    const payload = JSON.stringify(authorizationEvent("online", { id: `iauth_secret_${i}` }));
    const signature = await signWithHmac(payload, TEST_SECRET);
    signatures.push(signature.split("v1=")[1]);
    assertEquals(
      await send({ method: "POST", headers: { "stripe-signature": signature }, body: payload }),
      200,
    );
    const forged = await signWithHmac(payload, "whsec_forged");
    signatures.push(forged.split("v1=")[1]);
    assertEquals(
      await send({ method: "POST", headers: { "stripe-signature": forged }, body: payload }),
      400,
    );
  }
  assertEquals(await send({ headers: { authorization: "Bearer wrong" } }, "/decisions"), 401);
  assertEquals(
    await send({ headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }, "/decisions"),
    200,
  );
  const output = await server.stop();

  assert(output.includes('"msg":"decision"'), "the child did log its decisions");
  assert(output.includes("api_call_failed"), "and its failed API calls");
  const everything = output + bodies.join("\n");
  for (const secret of [ADMIN_TOKEN, SECRET_KEY, OLD_SECRET, TEST_SECRET, ...signatures]) {
    assert(!everything.includes(secret), `${secret.slice(0, 8)}… leaked`);
  }
});

Deno.test("the admin token check compares digests of equal length, whatever the guess", () => {
  const isAdmin = bearerTokenCheck(ADMIN_TOKEN);
  assert(isAdmin(`Bearer ${ADMIN_TOKEN}`));
  for (
    const guess of [
      null,
      "",
      "Bearer",
      `Bearer ${ADMIN_TOKEN.slice(0, -1)}`,
      `Bearer ${ADMIN_TOKEN}x`,
      "x".repeat(10_000),
    ]
  ) {
    assertEquals(isAdmin(guess), false); // node's timingSafeEqual would throw on unequal lengths
  }
});
