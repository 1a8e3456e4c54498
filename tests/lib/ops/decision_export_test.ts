import { CSV_COLUMNS, csvRow, exportResponse } from "../../../lib/ops/decision_export.ts";
import { exportDecisions } from "../../../lib/ops/decision_queries.ts";
import { Pacer } from "../../../lib/ops/pacer.ts";
import type { DecisionRecord } from "../../../lib/store/decision_store.ts";
import { assert, assertEquals, assertRejects } from "../../_assert.ts";

const RECORD = {
  decided_at: "2026-11-25T12:00:00.000Z",
  authorization_id: "iauth_1",
  card_id: "ic_1",
  merchant_name: 'BOB\'S "BEST", DINER\nNYC',
  merchant_category: "eating_places_restaurants",
  merchant_country: "US",
  requested_amount: 150_000,
  currency: "usd",
  approved: true,
  amount: 100_000,
  reasons: [{ policy: "amountCap", code: "amount_over_cap", detail: "usd" }],
  latency_ms: 2.5,
  policy_version: "abc123",
  shadow: { disagrees: true },
} as unknown as DecisionRecord;

/** RFC 4180 fields of one row, as a spreadsheet reads them. */
function parseRow(row: string): string[] {
  const fields: string[] = [];
  let field = "", quoted = false;
  for (let i = 0; i < row.length; i++) {
    const c = row[i];
    if (quoted) {
      if (c === '"' && row[i + 1] === '"') field += row[++i];
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") fields.push(field), field = "";
    else if (c === "\r" && row[i + 1] === "\n") break;
    else field += c;
  }
  fields.push(field);
  return fields;
}

Deno.test("csvRow() quotes commas, quotes and line breaks, and reads back field for field", () => {
  const fields = parseRow(csvRow(RECORD));
  assertEquals(fields.length, CSV_COLUMNS.length);
  const byColumn = Object.fromEntries(CSV_COLUMNS.map((column, i) => [column, fields[i]]));
  assertEquals(byColumn.merchant_name, 'BOB\'S "BEST", DINER\nNYC');
  assertEquals(byColumn.outcome, "limited");
  assertEquals(byColumn.amount, "100000");
  assertEquals(byColumn.reasons, "amount_over_cap:usd");
  assertEquals(byColumn.shadow_disagrees, "true");
});

Deno.test("csvRow() defuses text a spreadsheet would run as a formula", () => {
  for (const name of ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\r=1+1", "\n=1+1", "  =1+1"]) {
    const fields = parseRow(csvRow({ ...RECORD, merchant_name: name }));
    assertEquals(fields[CSV_COLUMNS.indexOf("merchant_name")], `'${name}`);
  }
});

Deno.test("csvRow() quotes a semicolon or a tab, so a spreadsheet splitting on it keeps one cell", () => {
  for (const name of ["ACME;=cmd|' /C calc'!A0", "ACME\t=1+1"]) {
    const row = csvRow({ ...RECORD, merchant_name: name });
    assert(row.includes(`"${name}"`), row);
    assertEquals(parseRow(row)[CSV_COLUMNS.indexOf("merchant_name")], name);
  }
});

/** For exports that must not fail. */
const fail = (error: unknown) => {
  throw error;
};

Deno.test("exportResponse() streams a header and one line per record", async () => {
  async function* two() {
    yield RECORD;
    yield { ...RECORD, authorization_id: "iauth_2" };
  }
  const csv = await exportResponse(two(), "csv", {}, fail).text();
  assertEquals(csv.split("\r\n")[0], CSV_COLUMNS.join(","));
  const jsonl = (await exportResponse(two(), "jsonl", {}, fail).text()).trimEnd().split("\n");
  assertEquals(jsonl.map((line) => JSON.parse(line).authorization_id), ["iauth_1", "iauth_2"]);
});

Deno.test("exportResponse() cuts short an export whose read fails, and hands the error on to be logged", async () => {
  const failure = new Error("the log could not be read");
  async function* failing() {
    yield RECORD;
    throw failure;
  }
  const failed: unknown[] = [];
  const response = exportResponse(failing(), "csv", {}, (error) => failed.push(error));
  // A download that fails, not a whole-looking file without the rest of its rows.
  await assertRejects(() => response.text(), Error, "the log could not be read");
  assertEquals(failed, [failure]);
});

Deno.test("a CSV export counts among those running from its first pull, before anything is read", async () => {
  const { promise: listed, resolve: list } = Promise.withResolvers<DecisionRecord[]>();
  const store = { list: () => listed, requests: () => Promise.resolve([]) } as never;
  const pacer = new Pacer();
  const exports = Array.from(
    { length: 4 },
    () =>
      exportResponse(
        exportDecisions(store, { range: "1h", limit: 50 }, new Date(), pacer),
        "csv",
        {},
        fail,
      ),
  );
  await new Promise((resolve) => setTimeout(resolve, 0));
  // Four running: a fifth would be refused, though none of their bodies has been read yet.
  assertEquals(pacer.isBusy("export"), true);
  list([]);
  for (const response of exports) await response.text();
  assertEquals(pacer.isBusy("export"), false);
});
