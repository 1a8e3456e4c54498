/** (a) The ceiling: a bare `Deno.serve` that reads the body and answers a constant. */
const body = '{"approved":true}';
Deno.serve(
  { port: Number(Deno.env.get("PORT")), hostname: "127.0.0.1", onListen() {} },
  async (request) => {
    await request.arrayBuffer();
    return new Response(body, { headers: { "content-type": "application/json" } });
  },
);
