/**
 * `deno task replay <file.jsonl> [--policies <module>] [--json]`: a backtest.
 * Runs recorded authorizations (Stripe event JSON lines, or a decision-log
 * export from `deno task export`) through the pipeline of `--policies`
 * (default `policies/mod.ts`) offline and reports what changes against the
 * logged decisions, or against `policies/mod.ts` for Stripe events.
 *
 * @module
 */
import { errorLine } from "../lib/service/error_line.ts";
import {
  backtest,
  type DecisionSummary,
  parseRecordedLine,
  type RecordedAuthorization,
} from "../lib/ops/backtest.ts";
import { fromShellDir, parseTaskArgs, runTask, sharedEnv, shellDir, usageError } from "./_cli.ts";
import { DEFAULT_PIPELINE_MODULE, importPipeline } from "./_pipeline_module.ts";
import { loadConfig } from "../lib/service/config.ts";
import { progressBar } from "./_progress.ts";
import { textTable } from "./_table.ts";

const USAGE = `usage: deno task replay <file.jsonl> [--policies <module>] [--json]

Replays recorded authorizations (a \`deno task export\` file, or Stripe event
JSON lines) through the pipeline of <module> (default policies/mod.ts) and
reports what changes. --json prints the report as JSON.`;

/** Runs the replay; returns the exit code. */
export function main(args: string[] = Deno.args): Promise<number> {
  return runTask(async () => {
    const parsed = parseTaskArgs(args, {
      policies: { type: "string" },
      json: { type: "boolean", default: false },
    }, USAGE);
    if (!parsed) return;
    const { values, positionals } = parsed;
    if (positionals.length !== 1) {
      throw usageError(`expected one file to replay`, USAGE);
    }
    const [file] = positionals;
    const live = await importPipeline(DEFAULT_PIPELINE_MODULE);
    // The user's paths are relative to where they ran `deno task`, not to the repository root.
    const candidate = values.policies ? await importPipeline(values.policies, shellDir()) : live;
    let text: string;
    try {
      text = await Deno.readTextFile(fromShellDir(file));
    } catch (error) {
      throw error instanceof Deno.errors.NotFound
        ? new Error(`no file ${file}: make one with \`deno task export > ${file}\``)
        : new Error(`cannot read ${file}: ${errorLine(error)}`);
    }
    const recorded: RecordedAuthorization[] = [];
    for (const [index, line] of text.split("\n").entries()) {
      try {
        const item = parseRecordedLine(line);
        if (item) recorded.push(item);
      } catch (error) {
        throw new Error(`${file}:${index + 1}: ${errorLine(error)}`);
      }
    }
    // Decided as the service decides: its fallback and budget, read by its own parser.
    const config = loadConfig(sharedEnv(["FALLBACK_DECISION", "DECISION_BUDGET_MS"]));
    const report = await backtest(recorded, live, candidate, progressBar(recorded.length), {
      fallback: config.fallbackDecision,
      budgetMs: config.decisionBudgetMs,
    });
    if (values.json) {
      console.log(JSON.stringify(report, null, 2));
      return;
    }
    const results = ["approved", "declined", "limited"] as const;
    // An increment is a request of its own, on an authorization already counted.
    const authorizations = new Set(recorded.map(({ authorization }) => authorization.id)).size;
    console.log(
      `${report.total} requests (${authorizations} authorizations) replayed against ${
        values.policies ?? DEFAULT_PIPELINE_MODULE
      }\n`,
    );
    console.log(textTable(
      ["", ...results],
      [
        ["before", ...results.map((result) => String(report.before[result]))],
        ["after", ...results.map((result) => String(report.after[result]))],
      ],
    ));
    console.log(`\n${report.changed.length} changed decisions`);
    if (report.changed.length > 0) {
      const describe = (outcome: DecisionSummary) =>
        `${outcome.result}${outcome.amount === null ? "" : ` ${outcome.amount}`}` +
        (outcome.reasons.length > 0 ? ` (${outcome.reasons.join(", ")})` : "");
      console.log(textTable(
        ["authorization", "before", "after"],
        report.changed.map((
          { authorization_id, before, after, trimmed },
        ) => [`${authorization_id}${trimmed ? " *" : ""}`, describe(before), describe(after)]),
      ));
      const trimmed = report.changed.filter((change) => change.trimmed).length;
      if (trimmed > 0) {
        console.log(
          `* ${trimmed} logged without some of the request's fields (too large for one KV value): a policy that reads them decides differently for that alone`,
        );
      }
    }
    const reasons = [
      ...new Set([...Object.keys(report.reasons.before), ...Object.keys(report.reasons.after)]),
    ].sort();
    if (reasons.length > 0) {
      console.log("\nreasons");
      console.log(textTable(
        ["reason", "before", "after"],
        reasons.map((reason) => [
          reason,
          String(report.reasons.before[reason] ?? 0),
          String(report.reasons.after[reason] ?? 0),
        ]),
      ));
    }
  });
}

if (import.meta.main) Deno.exit(await main());
