import { listen, type ListenEvent } from "../../../lib/http/listen.ts";
import { assert, assertEquals, assertThrows } from "../../_assert.ts";

import { msUntilClosed, PARTIAL_HEAD } from "../../_process.ts";

Deno.test("listen() closes a connection whose request head is incomplete after headersTimeoutMs", async () => {
  const events: string[] = [];
  const server = listen({
    hostname: "127.0.0.1",
    port: 0,
    headersTimeoutMs: 200,
    onEvent: (event) => events.push(event.kind),
  }, () => new Response("ok"));
  try {
    const ms = await msUntilClosed(server.addr.port);
    assert(ms >= 150 && ms < 2_000, `closed after ${ms} ms`);
    assertEquals(events, ["headers_timeout"]);
    const response = await fetch(`http://127.0.0.1:${server.addr.port}/`);
    assertEquals(await response.text(), "ok");
  } finally {
    await server.shutdown();
  }
});

Deno.test("listen() serves at most maxConnections at once; the next waits for a free slot", async () => {
  const server = listen(
    { hostname: "127.0.0.1", port: 0, headersTimeoutMs: 300, maxConnections: 1 },
    () => new Response("ok"),
  );
  try {
    const idle = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    await idle.write(PARTIAL_HEAD);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assertEquals(server.connections, 1);
    const started = performance.now();
    const client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
    const response = await fetch(`http://127.0.0.1:${server.addr.port}/`, { client });
    assertEquals(await response.text(), "ok");
    assert(performance.now() - started >= 200, "answered once the idle connection timed out");
    idle.close();
    client.close();
  } finally {
    await server.shutdown();
  }
});

Deno.test("listen() shutdown lets the request in flight finish", async () => {
  let release!: () => void;
  const released = new Promise<void>((resolve) => release = resolve);
  const server = listen({ hostname: "127.0.0.1", port: 0 }, async () => {
    await released;
    return new Response("finished");
  });
  const answer = fetch(`http://127.0.0.1:${server.addr.port}/`).then((response) => response.text());
  await new Promise((resolve) => setTimeout(resolve, 50));
  const stopped = server.shutdown();
  release();
  assertEquals(await answer, "finished");
  await stopped;
});

Deno.test("listen() answers a handler that throws with a 500 and reports it, as Deno.serve does", async () => {
  const events: ListenEvent[] = [];
  const server = listen(
    { hostname: "127.0.0.1", port: 0, onEvent: (event) => events.push(event) },
    () => Promise.reject(new TypeError("the handler's own bug")),
  );
  try {
    // Before: the rejection was taken for a client gone away, and the request was never answered.
    const response = await fetch(`http://127.0.0.1:${server.addr.port}/`, {
      signal: AbortSignal.timeout(2_000),
    });
    assertEquals(response.status, 500);
    await response.body?.cancel();
    assertEquals(events.map((event) => event.kind), ["handler_failed"]);
  } finally {
    await server.shutdown();
  }
});

Deno.test("listen() refuses out-of-range options with RangeError", () => {
  assertThrows(
    () => listen({ hostname: "127.0.0.1", port: 0, headersTimeoutMs: 0 }, () => new Response()),
    RangeError,
    "headersTimeoutMs must be a positive integer",
  );
  assertThrows(
    () => listen({ hostname: "127.0.0.1", port: 0, maxConnections: 0.5 }, () => new Response()),
    RangeError,
    "maxConnections must be a positive integer",
  );
});
