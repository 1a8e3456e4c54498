/**
 * Backtests: run recorded authorizations through two pipelines offline and
 * report what changes.
 *
 * @module
 */
import {
  createDecide,
  type DecideOptions,
  type DecisionOutcome,
  formatReason,
  outcomeOf,
} from "../engine/decide.ts";
import { Deadline } from "../engine/deadline.ts";
import { authorizationRequestOf, checkEvent } from "../http/webhook.ts";
import { createDecisionStore, type DecisionRecord } from "../store/decision_store.ts";
import type { AuthorizationRequest, Policy } from "../engine/policy.ts";

/** One recorded authorization: when it happened, and what was decided then, if known. */
export interface RecordedAuthorization {
  readonly authorization: AuthorizationRequest;
  readonly eventId: string;
  /** Event time, in ms: velocity windows are replayed in this order. */
  readonly at: number;
  /** The logged decision, for decision-log exports; Stripe events have none. */
  readonly decided?: DecisionSummary;
  /**
   * Set for a record logged without some of its request's fields (too large
   * for one KV value): a policy that reads them may decide it differently
   * for that alone.
   */
  readonly trimmed?: true;
}

/** A decision reduced to what a report compares. */
export interface DecisionSummary {
  readonly result: DecisionOutcome;
  readonly amount: number | null;
  readonly reasons: readonly string[];
}

/** What {@linkcode backtest} finds. */
export interface BacktestReport {
  readonly total: number;
  readonly before: Record<DecisionSummary["result"], number>;
  readonly after: Record<DecisionSummary["result"], number>;
  readonly changed: readonly {
    readonly authorization_id: string;
    readonly before: DecisionSummary;
    readonly after: DecisionSummary;
    /** Its record lacks fields of the request (see {@linkcode RecordedAuthorization}). */
    readonly trimmed?: true;
  }[];
  readonly reasons: {
    readonly before: Record<string, number>;
    readonly after: Record<string, number>;
  };
}

/**
 * Parses a JSON line: a Stripe event (only `issuing_authorization.request`
 * counts) or a decision-log record from `deno task export`. Returns
 * `undefined` for lines to skip.
 *
 * @example
 * ```ts
 * import { parseRecordedLine } from "./backtest.ts";
 * import { authorizationEvent } from "../../fixtures/events.ts";
 * import { equal, throws } from "node:assert/strict";
 * const event = authorizationEvent("online", { id: "iauth_line" });
 * const recorded = parseRecordedLine(JSON.stringify(event));
 * equal(recorded?.authorization.id, "iauth_line");
 * equal(recorded?.decided, undefined); // a Stripe event carries no logged decision
 * equal(parseRecordedLine(""), undefined);
 * throws(() => parseRecordedLine("whsec_not_json"), { message: "a line is not valid JSON" });
 * // A record trimmed past what a replay reads says so.
 * const trimmed = { authorization_id: "iauth_line", decided_at: "2026-11-25T12:00:00Z", reasons: [], request: { id: "iauth_line" }, trimmed: ["request.card"] };
 * throws(() => parseRecordedLine(JSON.stringify(trimmed)), /logged trimmed: request\.card/);
 * ```
 */
export function parseRecordedLine(line: string): RecordedAuthorization | undefined {
  if (line.trim() === "") return undefined;
  let value;
  try {
    value = JSON.parse(line);
  } catch {
    // JSON.parse's message quotes the line, and a file passed by mistake may be a secret.
    throw new TypeError("a line is not valid JSON");
  }
  if (value?.object === "event") {
    if (value.type !== "issuing_authorization.request") return undefined;
    // The webhook's own checks: a line the service would refuse fails here, on its line.
    checkEvent(value);
    const authorization = authorizationRequestOf(value);
    if (!Number.isSafeInteger(value.created)) throw new TypeError("event has no created time");
    return { authorization, eventId: value.id, at: value.created * 1000 };
  }
  if (typeof value?.authorization_id === "string" && value.request) {
    const record = value as DecisionRecord;
    const at = Date.parse(record.decided_at);
    if (Number.isNaN(at) || !Array.isArray(record.reasons)) {
      throw new TypeError("a decision-log record without its decided_at or reasons");
    }
    let authorization: AuthorizationRequest;
    try {
      authorization = authorizationRequestOf({ data: { object: record.request } } as never);
    } catch (error) {
      // A record trimmed to fit one KV value says what it lacks.
      const trimmed = record.trimmed?.length
        ? ` (logged trimmed: ${record.trimmed.join(", ")})`
        : "";
      throw new TypeError(`a decision-log record's request: ${(error as Error).message}${trimmed}`);
    }
    return {
      authorization,
      eventId: record.event_id ?? record.authorization_id,
      at,
      decided: summaryOf(record),
      ...(record.trimmed?.some((field) => field.startsWith("request.")) ? { trimmed: true } : {}),
    };
  }
  throw new TypeError("a line is neither a Stripe event nor a decision-log record");
}

/**
 * Runs the authorizations, in event-time order, through `after` (and through
 * `before` where no logged decision exists), each against a fresh in-memory
 * Deno KV so velocity limits replay as they happened, deciding with
 * `decideOptions` as the service does (its `FALLBACK_DECISION` and
 * `DECISION_BUDGET_MS`).
 *
 * @example
 * ```ts
 * import { backtest } from "./backtest.ts";
 * import { authorizationEvent, authorizationOf } from "../../fixtures/events.ts";
 * import { amountCap } from "../../policies/amount_cap.ts";
 * import { deepEqual, equal } from "node:assert/strict";
 * const recorded = [100_00, 900_00].map((amount, i) => ({
 *   authorization: authorizationOf(authorizationEvent("online", {
 *     id: `iauth_${i}`, pending_request: { amount },
 *   })),
 *   eventId: `evt_${i}`,
 *   at: i,
 * }));
 * const report = await backtest(recorded, [], [amountCap({ usd: 500_00 })]);
 * deepEqual(report.after, { approved: 1, declined: 1, limited: 0 });
 * equal(report.changed.length, 1);
 * equal(report.changed[0].authorization_id, "iauth_1");
 * ```
 */
export async function backtest(
  recorded: readonly RecordedAuthorization[],
  before: readonly Policy[],
  after: readonly Policy[],
  onProgress?: (done: number, total: number) => void,
  decideOptions: Pick<DecideOptions, "fallback" | "budgetMs"> = {},
): Promise<BacktestReport> {
  const ordered = [...recorded].sort((a, b) => a.at - b.at);
  const [runBefore, runAfter] = await Promise.all([
    pipelineRunner(before, decideOptions),
    pipelineRunner(after, decideOptions),
  ]);
  const report = {
    total: ordered.length,
    before: { approved: 0, declined: 0, limited: 0 },
    after: { approved: 0, declined: 0, limited: 0 },
    changed: [] as BacktestReport["changed"][number][],
    reasons: { before: {} as Record<string, number>, after: {} as Record<string, number> },
  };
  try {
    for (const item of ordered) {
      const was = item.decided ?? await runBefore.decide(item);
      const now = await runAfter.decide(item);
      report.before[was.result]++;
      report.after[now.result]++;
      for (const reason of was.reasons) {
        report.reasons.before[reason] = (report.reasons.before[reason] ?? 0) + 1;
      }
      for (const reason of now.reasons) {
        report.reasons.after[reason] = (report.reasons.after[reason] ?? 0) + 1;
      }
      if (was.result !== now.result || was.amount !== now.amount) {
        report.changed.push({
          authorization_id: item.authorization.id,
          before: was,
          after: now,
          ...(item.trimmed ? { trimmed: true as const } : {}),
        });
      }
      onProgress?.(
        report.before.approved + report.before.declined + report.before.limited,
        ordered.length,
      );
    }
  } finally {
    runBefore.close();
    runAfter.close();
  }
  return report;
}

async function pipelineRunner(
  policies: readonly Policy[],
  decideOptions: Pick<DecideOptions, "fallback" | "budgetMs">,
) {
  const kv = await Deno.openKv(":memory:");
  const store = createDecisionStore({
    kv,
    decide: createDecide(policies, { ...decideOptions, policyVersion: "backtest" }),
    log: () => {},
    retentionMs: 86_400_000,
  });
  return {
    async decide(item: RecordedAuthorization): Promise<DecisionSummary> {
      // Increments replay as increments: same authorization, their own request_history position.
      const { record } = await store.decideAndRecord(item.authorization, {
        eventId: item.eventId,
        receivedAt: item.at,
        deadline: Deadline.after(60_000),
        path: "respond",
        eventBytes: 0,
      });
      return summaryOf(record);
    },
    close: () => kv.close(),
  };
}

function summaryOf(record: DecisionRecord): DecisionSummary {
  return {
    result: outcomeOf(record),
    amount: record.amount,
    reasons: record.reasons.map(formatReason),
  };
}
