/**
 * Plain-text tables for the command-line tools.
 *
 * @module
 */

/**
 * Formats rows as a left-aligned text table with a header rule.
 *
 * @example
 * ```ts
 * import { textTable } from "./_table.ts";
 * import { equal } from "node:assert/strict";
 * equal(
 *   textTable(["scenario", "approved"], [["gambling", "no"]]),
 *   "scenario  approved\n--------  --------\ngambling  no",
 * );
 * ```
 */
export function textTable(
  header: readonly string[],
  unsafeRows: readonly (readonly string[])[],
): string {
  const rows = unsafeRows.map((row) => row.map(printable));
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => row[i].length))
  );
  const line = (cells: readonly string[]) =>
    cells.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd();
  return [line(header), line(widths.map((width) => "-".repeat(width))), ...rows.map(line)].join(
    "\n",
  );
}

/**
 * The text with its control and format characters written as `\u001b`: a
 * merchant's name or a policy's reason comes from outside, and a terminal
 * would act on an escape sequence in it (retitle, clear, recolour, a
 * disguised link) or show bidirectional overrides reordering it.
 *
 * @example
 * ```ts
 * import { printable } from "./_table.ts";
 * import { equal } from "node:assert/strict";
 * equal(printable("ACME\x1b[2J"), "ACME\\u001b[2J");
 * ```
 */
export function printable(text: string): string {
  return text.replace(
    /[\p{Cc}\p{Cf}]/gu,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
