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
    // Errors serialize as {}: give them their text. Only the `error` field
    // carries one, so the hot path needs no replacer walking every key.
    const { error } = record;
    const line = JSON.stringify(
      error instanceof Error
        ? { time: new Date().toISOString(), ...record, error: `${error.name}: ${error.message}` }
        : { time: new Date().toISOString(), ...record },
    );
    if (record.level === "info") console.log(line);
    else console.error(line);
  };
}
