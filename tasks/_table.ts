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
export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => row[i].length))
  );
  const line = (cells: readonly string[]) =>
    cells.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd();
  return [line(header), line(widths.map((width) => "-".repeat(width))), ...rows.map(line)].join(
    "\n",
  );
}
