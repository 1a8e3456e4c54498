/**
 * Exports of filtered decisions as CSV (for spreadsheets) and JSON lines
 * (whole records, as `deno task export` writes and `deno task replay` reads),
 * streamed as they are read.
 *
 * @module
 */
import { formatReason, outcomeOf } from "../engine/decide.ts";
import type { DecisionRecord } from "../store/decision_store.ts";
import type { ExportCut } from "./decision_queries.ts";
import type { Logger } from "../telemetry/log.ts";

/** The export formats. */
export type ExportFormat = "csv" | "jsonl";

/** The CSV columns, in order. Amounts are integers in minor units, as Stripe sends them. */
export const CSV_COLUMNS = [
  "decided_at",
  "authorization_id",
  "card_id",
  "merchant_name",
  "merchant_category",
  "merchant_country",
  "requested_amount",
  "currency",
  "outcome",
  "amount",
  "reasons",
  "fallback",
  "latency_ms",
  "policy_version",
  "shadow_disagrees",
] as const;

/**
 * One record as a CSV row (RFC 4180: fields with a comma, quote or line break
 * are quoted). A text field starting with `=`, `+`, `-`, `@`, tab, CR or LF gets
 * a leading `'`, so a merchant name from the card network cannot run as a
 * spreadsheet formula (OWASP "CSV injection").
 *
 * @example
 * ```ts
 * import { csvRow } from "./decision_export.ts";
 * import { equal } from "node:assert/strict";
 * const record = { decided_at: "2026-11-25T12:00:00.000Z", authorization_id: "iauth_1", card_id: "ic_1",
 *   merchant_name: "=HYPERLINK(\"x\")", merchant_category: "taxicabs_limousines", merchant_country: "US",
 *   requested_amount: 1_000, currency: "usd", approved: true, amount: null, reasons: [], latency_ms: 1.5,
 *   policy_version: "abc" };
 * // deno-lint-ignore no-explicit-any
 * equal(csvRow(record as any), '2026-11-25T12:00:00.000Z,iauth_1,ic_1,"\'=HYPERLINK(""x"")",taxicabs_limousines,US,1000,usd,approved,,,,1.5,abc,\r\n');
 * ```
 */
export function csvRow(record: DecisionRecord): string {
  const fields: Record<(typeof CSV_COLUMNS)[number], string | number | boolean | null> = {
    decided_at: record.decided_at,
    authorization_id: record.authorization_id,
    card_id: record.card_id,
    merchant_name: record.merchant_name,
    merchant_category: record.merchant_category,
    merchant_country: record.merchant_country,
    requested_amount: record.requested_amount,
    currency: record.currency,
    outcome: outcomeOf(record),
    amount: record.amount,
    reasons: record.reasons.map(formatReason).join(" "),
    fallback: record.fallback ?? null,
    latency_ms: record.latency_ms,
    policy_version: record.policy_version,
    shadow_disagrees: record.shadow ? record.shadow.disagrees : null,
  };
  return CSV_COLUMNS.map((column) => csvField(fields[column])).join(",") + "\r\n";
}

/** What a CSV export's last line says when its bounds stopped it (narrowing the filter helps both). */
const CUT_REASONS: Record<ExportCut["cut"], string> = {
  rows: "more decisions match than one export writes; narrow the range or the filters",
  reads: "read the most records one export reads; narrow the range or the filters; read back to",
};

function csvField(value: string | number | boolean | null): string {
  if (value === null) return "";
  if (typeof value !== "string") return String(value);
  // A formula after leading spaces still runs; quoted, a `;` or tab (the separator in some locales'
  // spreadsheets) cannot start a new cell whose text would.
  const text = /^[ ]*[=+\-@]|^[\t\r\n]/.test(value) ? `'${value}` : value;
  return /[",;\t\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * A streamed response of the records in `format`, with a download file name.
 * A read that fails once the answer started cuts it short (a download the
 * client sees fail, not a complete-looking file missing rows) and is passed
 * to `failed`, to be logged. An export its bounds stopped ends with a line
 * that says so (an {@linkcode ExportCut}): in CSV a row of one cell starting
 * `# cut short:`, in JSON Lines the cut itself (`{"cut":"rows"}`).
 *
 * @example
 * ```ts
 * import { exportResponse } from "./decision_export.ts";
 * import { equal } from "node:assert/strict";
 * async function* none() {}
 * const response = exportResponse(none(), "csv", {}, console.error);
 * equal(response.headers.get("content-type"), "text/csv; charset=utf-8");
 * equal((await response.text()).split("\r\n")[0].split(",")[0], "decided_at");
 * ```
 */
export function exportResponse(
  records: AsyncIterable<DecisionRecord | ExportCut>,
  format: ExportFormat,
  headers: Record<string, string>,
  failed: (error: unknown) => void,
): Response {
  const encoder = new TextEncoder();
  const iterator = records[Symbol.asyncIterator]();
  let headerSent = format !== "csv";
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      // The header and the first record in one pull: the export starts (and is counted among
      // those running) as soon as it is answered, whatever its format.
      if (!headerSent) {
        headerSent = true;
        controller.enqueue(encoder.encode(CSV_COLUMNS.join(",") + "\r\n"));
      }
      try {
        const next = await iterator.next();
        if (next.done) return controller.close();
        const item = next.value;
        const line = format === "jsonl" ? JSON.stringify(item) + "\n" : "cut" in item
          ? csvField(
            `# cut short: ${CUT_REASONS[item.cut]}${
              item.searched_to ? ` ${item.searched_to}` : ""
            }`,
          ) + "\r\n"
          : csvRow(item);
        controller.enqueue(encoder.encode(line));
      } catch (error) {
        failed(error);
        throw error;
      }
    },
    async cancel() {
      await iterator.return?.();
    },
  });
  const stamp = new Date().toISOString().slice(0, 16).replace(":", "");
  return new Response(body, {
    headers: {
      ...headers,
      "content-type": format === "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson",
      "content-disposition": `attachment; filename="decisions-${stamp}.${format}"`,
    },
  });
}

/**
 * The export a path asks for (`….csv`, else JSON lines) of `records`, with
 * `headers` ({@linkcode exportResponse}); a read that fails once it started
 * is logged as `export_failed` with the path.
 *
 * @example
 * ```ts
 * import { exportAt } from "./decision_export.ts";
 * import { equal } from "node:assert/strict";
 * async function* none() {}
 * const response = exportAt("/decisions.jsonl", none(), {}, console.error);
 * equal(response.headers.get("content-type"), "application/x-ndjson");
 * ```
 */
export function exportAt(
  path: string,
  records: AsyncIterable<DecisionRecord | ExportCut>,
  headers: Record<string, string>,
  log: Logger,
): Response {
  return exportResponse(
    records,
    path.endsWith(".csv") ? "csv" : "jsonl",
    headers,
    (error) => log({ level: "error", msg: "export_failed", path, error }),
  );
}
