import { jsonLineLogger } from "../../../lib/telemetry/log.ts";
import { assertEquals, assertMatch } from "../../_assert.ts";

Deno.test("jsonLineLogger() writes one JSON line per record: info to stdout, the rest to stderr", () => {
  const lines: [string, string][] = [];
  const { log, error } = console;
  console.log = (line: string) => lines.push(["out", line]);
  console.error = (line: string) => lines.push(["err", line]);
  try {
    const logger = jsonLineLogger();
    logger({ level: "info", msg: "decision", approved: true });
    logger({ level: "warn", msg: "api_call_failed", error: new TypeError("fetch failed") });
  } finally {
    Object.assign(console, { log, error });
  }
  assertEquals(lines.map(([stream]) => stream), ["out", "err"]);
  const [info, warn] = lines.map(([, line]) => JSON.parse(line));
  assertMatch(info.time, /^\d{4}-\d{2}-\d{2}T/);
  assertEquals([info.msg, info.approved], ["decision", true]);
  assertEquals(warn.error, "TypeError: fetch failed", "an error keeps its name and message");
});
