import { readBodyText } from "../../../lib/http/request_body.ts";
import { RequestError } from "../../../lib/http/request_error.ts";
import { assert, assertEquals } from "../../_assert.ts";

/** A request without Content-Length whose body sends one chunk, then nothing. */
function stalledStream(): Request {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('{"partial":'));
    },
  });
  return new Request("http://127.0.0.1/webhook", { method: "POST", body });
}

Deno.test("readBodyText() cuts off a streamed body without Content-Length at its timeout with 408", async () => {
  const started = performance.now();
  const error = await readBodyText(stalledStream(), 1_024, 100).catch((error) => error);
  assertEquals([error instanceof RequestError, error.status, error.message], [
    true,
    408,
    "body not received within 100 ms",
  ]);
  assert(performance.now() - started < 1_000, "within the timeout, not after the stream ends");
});
