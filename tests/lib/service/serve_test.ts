import { onlyFromThisMachine } from "../../../lib/service/serve.ts";
import { assertEquals, assertStringIncludes } from "../../_assert.ts";

/** What `deno serve` tells a handler of a TCP peer at `hostname`. */
const from = (hostname: string): Deno.ServeHandlerInfo<Deno.NetAddr> => ({
  remoteAddr: { transport: "tcp", hostname, port: 50_000 },
  completed: Promise.resolve(),
});

Deno.test("onlyFromThisMachine() answers loopback peers and refuses the network with what to do", async () => {
  // Under `deno serve` with the development secret: the README's admin token must not reach the network.
  const fetch = onlyFromThisMachine(() => Promise.resolve(new Response("decided")));
  const request = () => new Request("http://0.0.0.0:8000/policies");
  for (const peer of ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"]) {
    assertEquals(await (await fetch(request(), from(peer))).text(), "decided", peer);
  }
  for (const peer of ["192.0.2.7", "10.0.0.1", "2001:db8::1", "::ffff:192.0.2.7", "128.0.0.1"]) {
    const response = await fetch(request(), from(peer));
    assertEquals(response.status, 403, peer);
    assertStringIncludes((await response.json()).error, "set STRIPE_WEBHOOK_SECRET");
  }
});
