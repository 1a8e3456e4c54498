/**
 * In-process counters and a latency histogram, served as Prometheus text
 * (exposition format 0.0.4). Hand-written: the format is a few lines of text,
 * and prom-client is built around Node's process model, not `deno serve`
 * workers or Deploy isolates. Each process (or worker) counts its own.
 *
 * @module
 */

import type { DecisionOutcome } from "../engine/decide.ts";

/** Upper bounds of the latency histogram, in seconds (Stripe allows 2). */
const LATENCY_BUCKETS_SECONDS = [
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2,
] as const;

/** The service's metrics. */
export interface Metrics {
  /** One answered authorization request: outcome, its reason codes, latency. */
  decision(
    outcome: DecisionOutcome,
    reasons: readonly string[],
    latencySeconds: number,
  ): void;
  /** One refused request, by its one-line reason. */
  rejected(reason: string): void;
  /** One fallback decision: `error`, `timeout`, `store_error`, `store_timeout`. */
  fallback(kind: string): void;
  /** The shadow pipeline disagreed with the live one; `reason` is the shadow's first reason or `none`. */
  shadowDisagreement(reason: string): void;
  /** One reconciliation with Stripe's outcome (`agreed`, `webhook_timeout`, …). */
  reconciled(outcome: string): void;
  /** One failed call of API mode (`timeout`, `connection`, `http_401`, …), answered directly instead. */
  apiCallFailed(kind: string): void;
  /** Everything, as Prometheus text. */
  render(): string;
}

/**
 * Creates an empty set of metrics.
 *
 * @example
 * ```ts
 * import { createMetrics } from "./metrics.ts";
 * import assert from "node:assert/strict";
 * const metrics = createMetrics();
 * metrics.decision("declined", ["mcc_blocked"], 0.002);
 * assert.match(metrics.render(), /^authorizer_decisions_total\{outcome="declined"\} 1$/m);
 * ```
 */
export function createMetrics(): Metrics {
  const counters = new Map<string, Map<string, number>>();
  const buckets = new Array<number>(LATENCY_BUCKETS_SECONDS.length).fill(0);
  let latencySum = 0, latencyCount = 0;

  function add(name: string, labels: string): void {
    let series = counters.get(name);
    if (!series) counters.set(name, series = new Map());
    series.set(labels, (series.get(labels) ?? 0) + 1);
  }

  return {
    decision(outcome, reasons, latencySeconds) {
      add("authorizer_decisions_total", `outcome="${outcome}"`);
      for (const reason of reasons) {
        add("authorizer_decision_reasons_total", `reason="${escape(reason)}"`);
      }
      for (let i = 0; i < buckets.length; i++) {
        if (latencySeconds <= LATENCY_BUCKETS_SECONDS[i]) buckets[i]++;
      }
      latencySum += latencySeconds;
      latencyCount++;
    },
    rejected: (reason) => add("authorizer_rejected_requests_total", `reason="${escape(reason)}"`),
    fallback: (kind) => add("authorizer_fallbacks_total", `kind="${escape(kind)}"`),
    shadowDisagreement: (reason) =>
      add("authorizer_shadow_disagreements_total", `reason="${escape(reason)}"`),
    reconciled: (outcome) =>
      add("authorizer_reconciliations_total", `outcome="${escape(outcome)}"`),
    apiCallFailed: (kind) => add("authorizer_api_call_failures_total", `kind="${escape(kind)}"`),
    render() {
      const lines: string[] = [];
      for (const [name, help] of HELP) {
        lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
        for (const [labels, value] of counters.get(name) ?? []) {
          lines.push(`${name}{${labels}} ${value}`);
        }
      }
      const histogram = "authorizer_decision_latency_seconds";
      lines.push(
        `# HELP ${histogram} Time from request received to answer ready.`,
        `# TYPE ${histogram} histogram`,
      );
      LATENCY_BUCKETS_SECONDS.forEach((le, i) =>
        lines.push(`${histogram}_bucket{le="${le}"} ${buckets[i]}`)
      );
      lines.push(
        `${histogram}_bucket{le="+Inf"} ${latencyCount}`,
        `${histogram}_sum ${latencySum}`,
        `${histogram}_count ${latencyCount}`,
      );
      return `${lines.join("\n")}\n`;
    },
  };
}

const HELP: readonly (readonly [string, string])[] = [
  ["authorizer_decisions_total", "Answered authorization requests by outcome."],
  ["authorizer_decision_reasons_total", "Reasons given in decisions, by reason code."],
  [
    "authorizer_rejected_requests_total",
    "Requests refused with a 4xx, by reason (signature, body, route…).",
  ],
  ["authorizer_fallbacks_total", "Fallback decisions, by kind."],
  [
    "authorizer_shadow_disagreements_total",
    "Shadow decisions that differed from the live one, by shadow reason.",
  ],
  ["authorizer_reconciliations_total", "Stripe outcomes compared with ours, by result."],
  [
    "authorizer_api_call_failures_total",
    "API mode's approve/decline calls that failed (answered directly), by kind.",
  ],
];

function escape(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`));
}
