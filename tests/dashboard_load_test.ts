/**
 * The dashboard under people (or scripts) reloading it: the overview is made
 * once per view every 2 s and shared, each reader still getting their own
 * sign-out token, and requests are answered one at a time with a gap, so
 * they take a bounded share of the thread that answers webhooks.
 * (`deno task load` measures the webhooks' p99 beside 8 reloading clients.)
 */
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { signInToDashboard, startTestServer } from "./_helpers.ts";
import { authorizationEvent } from "../fixtures/events.ts";

const ADMIN_TOKEN = "overview-cache-admin-token-0123456789";

async function overview(base: string, cookie: string): Promise<{ html: string; csrf: string }> {
  const response = await fetch(`${base}/dashboard?range=1h`, { headers: { cookie } });
  assertEquals(response.status, 200);
  // Gzipped once per reader and rendering, not compressed again per answer.
  assertEquals(response.headers.get("content-encoding"), "gzip");
  const html = await response.text();
  const csrf = /action="\/dashboard\/logout"[^>]*>\s*<input[^>]*name="csrf" value="([^"]+)"/
    .exec(html)?.[1];
  assert(csrf, "the page has a sign-out form with a token");
  return { html, csrf };
}

async function decide(post: (body: unknown) => Promise<Response>, id: string): Promise<void> {
  const response = await post(authorizationEvent("online", { id }));
  assertEquals(response.status, 200);
  await response.body?.cancel();
}

Deno.test("the overview is shared for 2 s across readers, each with their own sign-out token", async () => {
  await using server = await startTestServer({ ADMIN_TOKEN });
  const post = (body: unknown) => server.postEvent(body);
  await decide(post, "iauth_cache_first");
  const [alice, bob] = await Promise.all([
    signInToDashboard(server.url, ADMIN_TOKEN),
    signInToDashboard(server.url, ADMIN_TOKEN),
  ]);

  const rendered = performance.now();
  const first = await overview(server.url, alice);
  assert(first.html.includes("iauth_cache_first"));
  await decide(post, "iauth_cache_second");
  const shared = await overview(server.url, bob);
  assert(performance.now() - rendered < 2_000, "this step must run within the 2 s");
  assert(!shared.html.includes("iauth_cache_second"), "the page made 2 s ago is served");
  assert(shared.csrf !== first.csrf, "each reader gets their own sign-out token");

  // Bob's token signs Bob out: the token in the shared page is his, not a placeholder.
  const signOut = await fetch(`${server.url}/dashboard/logout`, {
    method: "POST",
    redirect: "manual",
    headers: {
      cookie: bob,
      origin: server.url,
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ csrf: shared.csrf }),
  });
  await signOut.body?.cancel();
  assertEquals([signOut.status, signOut.headers.get("location")], [303, "/dashboard/login"]);

  // The page was made a little after `rendered`: wait past its 2 s with a margin.
  await new Promise((resolve) => setTimeout(resolve, 2_100 - (performance.now() - rendered)));
  const fresh = await overview(server.url, alice);
  assert(fresh.html.includes("iauth_cache_second"), "after 2 s the page is made again");
  assertEquals(fresh.csrf, first.csrf);
});

Deno.test("signed-in page loads are answered one at a time, at least 10 ms apart", async () => {
  await using server = await startTestServer({ ADMIN_TOKEN });
  const cookie = await signInToDashboard(server.url, ADMIN_TOKEN);
  const started = performance.now();
  const answered = await Promise.all(Array.from({ length: 20 }, async () => {
    const response = await fetch(`${server.url}/dashboard?range=1h`, { headers: { cookie } });
    await response.body?.cancel();
    assertEquals(response.status, 200);
    return performance.now() - started;
  }));
  const last = Math.max(...answered);
  assert(last >= 19 * 10, `20 page loads answered within ${last.toFixed(0)} ms`);
});

Deno.test("past 64 page loads waiting: 503 with Retry-After; sign-in, assets and the signed-out never wait", async () => {
  await using server = await startTestServer({ ADMIN_TOKEN });
  const cookie = await signInToDashboard(server.url, ADMIN_TOKEN);
  const pages = Promise.all(Array.from({ length: 100 }, async () => {
    const response = await fetch(`${server.url}/dashboard?range=1h`, { headers: { cookie } });
    if (response.status === 503) assertEquals(response.headers.get("retry-after"), "1");
    await response.body?.cancel();
    return response.status;
  }));
  // While the page loads queue, nothing that anyone can send without a session waits behind them.
  const unqueued = Promise.all(
    ["/dashboard/app.css", "/dashboard/login", "/dashboard"].map(async (path) => {
      const response = await fetch(`${server.url}${path}`, { redirect: "manual" });
      await response.body?.cancel();
      return response.status;
    }),
  );
  const first = await Promise.race([unqueued.then(() => "unqueued"), pages.then(() => "pages")]);
  assertEquals(first, "unqueued");
  assertEquals(await unqueued, [200, 200, 303]);
  // A malformed query is refused before it could wait: a 400, never a 503.
  for (const path of ["/dashboard?range=forever", "/dashboard/decisions.csv?limit=-1"]) {
    const response = await fetch(`${server.url}${path}`, { headers: { cookie } });
    await response.body?.cancel();
    assertEquals(response.status, 400, path);
  }
  const statuses = await pages;
  const busy = statuses.filter((status) => status === 503).length;
  assert(busy > 0 && busy < 100, `${busy} of 100 refused`);
  assertEquals(statuses.filter((status) => status === 200).length, 100 - busy);
});

Deno.test("a query string the page does not read cannot force a new rendering: it is refused, and the view stays cached", async () => {
  await using server = await startTestServer({ ADMIN_TOKEN });
  const post = (body: unknown) => server.postEvent(body);
  const cookie = await signInToDashboard(server.url, ADMIN_TOKEN);
  const first = await overview(server.url, cookie);
  await decide(post, "iauth_cache_bust");
  const busted = await fetch(`${server.url}/dashboard?range=1h&bust=${crypto.randomUUID()}`, {
    headers: { cookie },
  });
  assertEquals(busted.status, 400);
  assertStringIncludes(await busted.text(), "unknown query parameter");
  // The same reader's copy of the same rendering: identical, without the decision made since.
  assertEquals((await overview(server.url, cookie)).html, first.html);
});

/** `count` reads of `path` at once; when each was answered (ms from the start), and its status. */
async function readsAtOnce(
  base: string,
  path: string,
  count: number,
  headers: Record<string, string>,
): Promise<{ at: number[]; statuses: number[] }> {
  const started = performance.now();
  const answers = await Promise.all(Array.from({ length: count }, async () => {
    const response = await fetch(`${base}${path}`, { headers });
    if (response.status === 503) assertEquals(response.headers.get("retry-after"), "1");
    await response.text();
    return { at: performance.now() - started, status: response.status };
  }));
  return { at: answers.map((a) => a.at), statuses: answers.map((a) => a.status) };
}

Deno.test("admin API reads take the dashboard's turns: 20 at once are answered at least 10 ms apart, past 64 waiting a 503", async () => {
  await using server = await startTestServer({ ADMIN_TOKEN });
  const bearer = { authorization: `Bearer ${ADMIN_TOKEN}` };
  for (const path of ["/decisions?limit=500", "/stats?range=24h", "/decisions/iauth_none"]) {
    const { at, statuses } = await readsAtOnce(server.url, path, 20, bearer);
    assertEquals(new Set(statuses).size, 1, path);
    const last = Math.max(...at);
    assert(last >= 19 * 10, `20 reads of ${path} answered within ${last.toFixed(0)} ms`);
  }
  const { statuses } = await readsAtOnce(server.url, "/stats?range=1h", 100, bearer);
  const busy = statuses.filter((status) => status === 503).length;
  assert(busy > 0 && busy < 100, `${busy} of 100 refused`);
  // Cheap, and what monitoring polls: never queued.
  assertEquals((await readsAtOnce(server.url, "/metrics", 1, bearer)).statuses, [200]);
});

Deno.test("exports read in turns, on the admin API and on the dashboard, and past 4 running get a 503", async () => {
  await using server = await startTestServer({ ADMIN_TOKEN });
  const post = (body: unknown) => server.postEvent(body);
  // 450 records: three chunks of 200 and the rest, so each export takes three turns.
  for (let i = 0; i < 450; i += 50) {
    await Promise.all(Array.from({ length: 50 }, (_, j) => decide(post, `iauth_export_${i + j}`)));
  }
  const cookie = await signInToDashboard(server.url, ADMIN_TOKEN);
  const bearer = { authorization: `Bearer ${ADMIN_TOKEN}` };
  for (
    const [path, headers] of [
      ["/decisions.csv?range=1h&merchant=nothing_matches", bearer],
      ["/dashboard/decisions.jsonl?range=1h&merchant=nothing_matches", { cookie }],
    ] as const
  ) {
    const { at, statuses } = await readsAtOnce(server.url, path, 4, headers);
    assertEquals(statuses, [200, 200, 200, 200], path);
    const last = Math.max(...at);
    assert(last >= 11 * 10, `4 exports of 3 turns each answered within ${last.toFixed(0)} ms`);
  }
  const { statuses } = await readsAtOnce(server.url, "/decisions.csv?range=1h", 12, bearer);
  const busy = statuses.filter((status) => status === 503).length;
  assert(busy > 0 && busy <= 8, `${busy} of 12 exports refused`);
});
