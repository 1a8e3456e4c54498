import { jsonLineLogger } from "../../../lib/telemetry/log.ts";
import { assertEquals, assertMatch } from "../../_assert.ts";

Deno.test("jsonLineLogger() writes one JSON line per record, buffered off the request: info to stdout, the rest to stderr", async () => {
  const writes: [string, string][] = [];
  const logger = jsonLineLogger((stream, text) => writes.push([stream, text]));
  logger({ level: "info", msg: "decision", approved: true });
  logger({ level: "info", msg: "decision", approved: false });
  logger({ level: "warn", msg: "api_call_failed", error: new TypeError("fetch failed") });
  assertEquals(writes.length, 0, "nothing written while the request is handled");
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(writes.map(([stream]) => stream), ["out", "err"], "one write per stream");
  const lines = writes.flatMap(([stream, text]) =>
    text.trimEnd().split("\n").map((line) => [stream, JSON.parse(line)] as const)
  );
  const [[, info], [, second], [, warn]] = lines;
  assertMatch(info.time, /^\d{4}-\d{2}-\d{2}T/);
  assertEquals([info.msg, info.approved, second.approved], ["decision", true, false]);
  assertEquals(warn.error, "TypeError: fetch failed", "an error keeps its name and message");
});
