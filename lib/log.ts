/**
 * Structured logging: one JSON object per line.
 *
 * @module
 */

/** One log record; `msg` names the event (`decision`, `rejected`, …). */
export interface LogRecord {
  readonly level: "info" | "warn" | "error";
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** Where records go. Tests pass a collector; the service writes JSON lines. */
export type Logger = (record: LogRecord) => void;

/**
 * A logger that writes each record as one JSON line with a `time` field:
 * `info` to stdout, `warn` and `error` to stderr. Callers never pass secrets
 * or signatures: records carry ids, decisions and reasons only.
 *
 * @example
 * ```ts
 * import { jsonLineLogger } from "./log.ts";
 * const log = jsonLineLogger();
 * log({ level: "info", msg: "decision", authorization_id: "iauth_123", approved: true });
 * // {"time":"2026-11-25T12:00:00.000Z","level":"info","msg":"decision","authorization_id":"iauth_123","approved":true}
 * ```
 */
export function jsonLineLogger(): Logger {
  return (record) => {
    const line = JSON.stringify(
      { time: new Date().toISOString(), ...record },
      errorsAsText,
    );
    if (record.level === "info") console.log(line);
    else console.error(line);
  };
}

function errorsAsText(_key: string, value: unknown): unknown {
  return value instanceof Error ? `${value.name}: ${value.message}` : value;
}
