/**
 * `deno task replay <file.jsonl> [--policies <module>] [--json]`: a backtest.
 * Runs recorded authorizations (Stripe event JSON lines, or a decision-log
 * export from `deno task export`) through the pipeline of `--policies`
 * (default `policies/mod.ts`) offline and reports what changes against the
 * logged decisions, or against `policies/mod.ts` for Stripe events.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { defaultPipeline } from "../policies/mod.ts";
import {
  backtest,
  type DecisionSummary,
  parseRecordedLine,
  type RecordedAuthorization,
} from "../lib/ops/backtest.ts";
import { importPipeline } from "./_pipeline_module.ts";
import { progressBar } from "./_progress.ts";
import { textTable } from "./_table.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  options: { policies: { type: "string" }, json: { type: "boolean", default: false } },
  allowPositionals: true,
});
if (positionals.length !== 1) {
  console.error("usage: deno task replay <file.jsonl> [--policies <module>] [--json]");
  Deno.exit(2);
}
const recorded: RecordedAuthorization[] = [];
for (const [index, line] of (await Deno.readTextFile(positionals[0])).split("\n").entries()) {
  try {
    const item = parseRecordedLine(line);
    if (item) recorded.push(item);
  } catch (error) {
    console.error(
      `${positionals[0]}:${index + 1}: ${error instanceof Error ? error.message : error}`,
    );
    Deno.exit(1);
  }
}
const candidate = values.policies ? await importPipeline(values.policies) : defaultPipeline;
const report = await backtest(recorded, defaultPipeline, candidate, progressBar(recorded.length));

if (values.json) {
  console.log(JSON.stringify(report, null, 2));
} else {
  const results = ["approved", "declined", "limited"] as const;
  console.log(
    `${report.total} authorizations replayed against ${values.policies ?? "policies/mod.ts"}\n`,
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
        { authorization_id, before, after },
      ) => [authorization_id, describe(before), describe(after)]),
    ));
  }
  const reasons = [
    ...new Set([...Object.keys(report.reasons.before), ...Object.keys(report.reasons.after)]),
  ].sort();
  if (reasons.length > 0) {
    console.log("\nreasons");
    console.log(textTable(
      ["reason", "before", "after"],
      reasons.map((
        reason,
      ) => [
        reason,
        String(report.reasons.before[reason] ?? 0),
        String(report.reasons.after[reason] ?? 0),
      ]),
    ));
  }
}
