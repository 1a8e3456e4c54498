/**
 * Structured logging: one JSON object per line.
 *
 * @module
 */

/** One log record; `msg` names the event (`decision`, `rejected`, …); `time` is the logger's. */
export interface LogRecord {
  readonly level: "info" | "warn" | "error";
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** Where records go. Tests pass a collector; the service writes JSON lines. */
export type Logger = (record: LogRecord) => void;

/** Where {@linkcode jsonLineLogger} writes: `out` for info, `err` for the rest. */
export type LineSink = (stream: "out" | "err", text: string) => void;

/** Records buffered at most before a flush is forced. */
const MAX_BUFFERED = 512;

const encoder = new TextEncoder();

/**
 * Writes to the process's stdout and stderr, one write per flush; where the
 * platform offers no writable stdio (a sandbox), through `console`, one call
 * per line so each record stays its own log entry.
 */
const processSink: LineSink = (stream, text) => {
  try {
    const bytes = encoder.encode(text);
    const target = stream === "out" ? Deno.stdout : Deno.stderr;
    for (let written = 0; written < bytes.length;) {
      written += target.writeSync(bytes.subarray(written));
    }
  } catch {
    const write = stream === "out" ? console.log : console.error;
    for (const line of text.trimEnd().split("\n")) write(line);
  }
};

/**
 * Passes on to `log` at most one record every `everyMs`, each with how many
 * were not logged since the last (`not_logged`): for a line an outage would
 * repeat at every attempt of every waiting commit.
 *
 * @example
 * ```ts
 * import { type LogRecord, throttledLogger } from "./log.ts";
 * import { deepEqual } from "node:assert/strict";
 * const logged: LogRecord[] = [];
 * const log = throttledLogger((record) => logged.push(record), 60_000);
 * for (let attempt = 1; attempt <= 3; attempt++) log({ level: "warn", msg: "retry", attempt });
 * deepEqual(logged, [{ level: "warn", msg: "retry", attempt: 1, not_logged: 0 }]);
 * ```
 */
export function throttledLogger(log: Logger, everyMs: number): Logger {
  let loggedAt = -Infinity;
  let notLogged = 0;
  return (record) => {
    const now = performance.now();
    if (now - loggedAt < everyMs) {
      notLogged++;
      return;
    }
    log({ ...record, not_logged: notLogged });
    loggedAt = now;
    notLogged = 0;
  };
}

/**
 * A logger that writes each record as one JSON line with a `time` field:
 * `info` to stdout, `warn` and `error` to stderr. Records are buffered and
 * serialized on a timer right after the current task (the answer to Stripe
 * is already on its way), written with one call per stream, so the
 * per-request log line costs the hot path one array push. Callers never pass
 * secrets or signatures: records carry ids, decisions and reasons only.
 *
 * @example
 * ```ts
 * import { jsonLineLogger } from "./log.ts";
 * import { equal } from "node:assert/strict";
 * const written: string[] = [];
 * const log = jsonLineLogger((stream, text) => written.push(`${stream}:${text}`));
 * log({ level: "info", msg: "decision", authorization_id: "iauth_123", approved: true });
 * await new Promise((resolve) => setTimeout(resolve, 0));
 * equal(JSON.parse(written[0].slice(4)).authorization_id, "iauth_123");
 * ```
 */
export function jsonLineLogger(sink: LineSink = processSink): Logger {
  let buffered: [number, LogRecord][] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;

  function flush(): void {
    clearTimeout(timer);
    timer = undefined;
    const records = buffered;
    buffered = [];
    let out = "", err = "";
    for (const [at, record] of records) {
      // Errors serialize as {}: give them their text. Only the `error` field
      // carries one, so no replacer walks every key.
      const { error } = record;
      const fields = JSON.stringify(
        error instanceof Error ? { ...record, error: `${error.name}: ${error.message}` } : record,
      );
      // `time` first without copying the record into a new object: a record is never empty.
      const line = `{"time":"${new Date(at).toISOString()}",${fields.slice(1)}\n`;
      if (record.level === "info") out += line;
      else err += line;
    }
    if (out) sink("out", out);
    if (err) sink("err", err);
  }

  globalThis.addEventListener?.("unload", flush);
  return (record) => {
    buffered.push([Date.now(), record]);
    if (buffered.length >= MAX_BUFFERED) flush();
    else timer ??= setTimeout(flush, 0);
  };
}
