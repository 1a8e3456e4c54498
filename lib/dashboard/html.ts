/**
 * A tagged template for HTML that escapes every interpolated value unless it
 * is itself `html`: the dashboard's only defence against markup in data
 * (merchant names, reasons) is that nothing is ever inserted unescaped.
 *
 * @module
 */

/** Markup that is already safe to insert. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/**
 * Builds safe markup: strings and numbers are escaped, `SafeHtml` is kept,
 * arrays are joined, `null`/`undefined`/`false` render nothing.
 *
 * @example
 * ```ts
 * import { html } from "./html.ts";
 * import { equal } from "node:assert/strict";
 * equal(html`<td>${"<b>"}</td>`.value, "<td>&#60;b&#62;</td>");
 * equal(html`<tr>${html`<td>${1}</td>`}${null}</tr>`.value, "<tr><td>1</td></tr>");
 * ```
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return new SafeHtml(out);
}

function render(value: unknown): string {
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join("");
  if (value === null || value === undefined || value === false) return "";
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
