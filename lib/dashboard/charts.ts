/**
 * The dashboard's charts, rendered on the server as SVG.
 *
 * Why SVG from the server rather than a charting library: the page stays one
 * stylesheet and one small script under a CSP that allows nothing else (no
 * hashes to keep in step with a vendored bundle, no dependency to update),
 * charts render before any script runs (screenshots, slow phones, printing),
 * and tests read axes and values straight from the DOM. The price is this
 * module and `chart_scale.ts`, both small and tested; hover values are SVG
 * `<title>` tooltips, which browsers show natively.
 *
 * @module
 */
import { html, type SafeHtml } from "./html.ts";
import { linearScale, timeTicks } from "./chart_scale.ts";

/** One line or stack of a chart. */
export interface ChartSeries {
  readonly key: string;
  readonly label: string;
  /** A CSS colour, used as an SVG presentation attribute (allowed by the CSP). */
  readonly color: string;
}

/** A chart: one value per series per time bucket. */
export interface ChartOptions {
  /** Names the chart for tests and links: `data-chart`. */
  readonly id: string;
  readonly title: string;
  /** What the values are, shown above the y axis, e.g. `decisions per minute`. */
  readonly unit: string;
  /** `stacked` bars (counts) or `lines` (rates, latencies). */
  readonly kind: "stacked" | "lines";
  readonly series: readonly ChartSeries[];
  /** Epoch ms of each bucket's start, oldest first, evenly spaced by `bucketMs`. */
  readonly buckets: readonly number[];
  readonly bucketMs: number;
  /** `values[seriesKey][i]` for bucket `i`; `null` is a gap (no data). */
  readonly values: Readonly<Record<string, readonly (number | null)[]>>;
  /** Formats a value for ticks and tooltips. */
  readonly format?: (value: number) => string;
  /** A fixed top of the y axis (100 for percentages); else from the data. */
  readonly yMax?: number;
}

const WIDTH = 420, HEIGHT = 200;
const LEFT = 44, RIGHT = 10, TOP = 10, BOTTOM = 26;
/** Distinct, colour-blind-friendlier categorical colours (Okabe–Ito). */
export const PALETTE = [
  "#0072b2",
  "#d55e00",
  "#009e73",
  "#cc79a7",
  "#e69f00",
  "#56b4e9",
  "#7f7f7f",
  "#000000",
] as const;

/**
 * An SVG chart in a `<figure>` with its title, unit, axes (values and UTC
 * times), legend and a tooltip per bucket. Empty buckets draw nothing (bars)
 * or break the line (lines); a lone point is drawn as a dot. Throws a
 * `RangeError` without buckets or with a `bucketMs` below 1.
 *
 * @example
 * ```ts
 * import { chart } from "./charts.ts";
 * import { match } from "node:assert/strict";
 * const at = Date.parse("2026-11-25T12:00:00Z");
 * const svg = chart({ id: "decisions", title: "Decisions", unit: "decisions per minute", kind: "stacked",
 *   series: [{ key: "approved", label: "approved", color: "#1a7f37" }],
 *   buckets: [at], bucketMs: 60_000, values: { approved: [3] } }).value;
 * match(svg, /12:00/);
 * match(svg, /12:00 UTC · approved 3/);
 * ```
 */
export function chart(options: ChartOptions): SafeHtml {
  const { buckets, bucketMs, series, values, kind } = options;
  if (buckets.length === 0) throw new RangeError("a chart needs at least one bucket");
  if (!(bucketMs >= 1)) throw new RangeError(`bucketMs must be at least 1, got ${bucketMs}`);
  const format = options.format ?? ((value: number) => formatCount(value));
  const start = buckets[0], end = buckets.at(-1)! + bucketMs;
  const plotWidth = WIDTH - LEFT - RIGHT;
  const x = (at: number) => LEFT + ((at - start) / (end - start)) * plotWidth;
  const step = plotWidth / buckets.length;
  const totals = buckets.map((_, i) =>
    kind === "stacked"
      ? series.reduce((sum, { key }) => sum + (values[key]?.[i] ?? 0), 0)
      : Math.max(0, ...series.map(({ key }) => values[key]?.[i] ?? 0))
  );
  const y = linearScale(options.yMax ?? Math.max(0, ...totals), [HEIGHT - BOTTOM, TOP]);
  const label = (i: number) => `${timeLabel(buckets[i], bucketMs)} UTC`;
  const describe = (i: number) =>
    `${label(i)} · ${
      series.map(({ key, label }) => {
        const value = values[key]?.[i];
        return `${label} ${value === null || value === undefined ? "no data" : format(value)}`;
      }).join(", ")
    }`;

  const marks = kind === "stacked"
    ? buckets.map((_, i) => {
      let base = 0;
      return series.map(({ key, label: name, color }) => {
        const value = values[key]?.[i] ?? 0;
        if (value <= 0) return "";
        const top = y(base + value), bottom = y(base);
        base += value;
        return html`
          <rect x="${num(LEFT + i * step + step * 0.1)}" y="${num(top)}" width="${num(
            Math.max(step * 0.8, 0.6),
          )}" height="${num(bottom - top)}" fill="${color}">
            <title>${label(i)} · ${name} ${format(value)}</title>
          </rect>
        `;
      });
    })
    : series.map(({ key, label: name, color }) => {
      const points = buckets.map((_, i) => values[key]?.[i] ?? null);
      const path = points.map((value, i) => {
        if (value === null) return "";
        const command = i > 0 && points[i - 1] !== null ? "L" : "M";
        return `${command}${num(LEFT + (i + 0.5) * step)} ${num(y(value))}`;
      }).join("");
      const dots = points.map((value, i) =>
        value === null ? "" : html`
          <circle cx="${num(LEFT + (i + 0.5) * step)}" cy="${num(
            y(value),
          )}" r="${buckets.length > 90 ? 1.5 : 2.5}" fill="${color}">
            <title>${label(i)} · ${name} ${format(value)}</title>
          </circle>
        `
      );
      return html`
        <path d="${path}" fill="none" stroke="${color}" stroke-width="1.5"
          stroke-linejoin="round"></path>${dots}
      `;
    });

  // One transparent column per bucket, under the marks: hovering anywhere in it names every value.
  const columns = buckets.map((_, i) =>
    html`
      <rect class="hover" x="${num(LEFT + i * step)}" y="${TOP}" width="${num(
        step,
      )}" height="${HEIGHT - TOP - BOTTOM}">
        <title>${describe(i)}</title>
      </rect>
    `
  );
  const yAxis = y.ticks.map((tick) =>
    html`
      <line class="grid" x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${num(y(tick))}" y2="${num(
        y(tick),
      )}"></line>
      <text class="y-tick" x="${LEFT - 4}" y="${num(y(tick) + 3.5)}" text-anchor="end">${format(
        tick,
      )}</text>
    `
  );
  const xAxis = timeTicks(start, end, 8).map((tick) =>
    html`
      <line class="axis" x1="${num(x(tick.at))}" x2="${num(x(tick.at))}" y1="${HEIGHT -
        BOTTOM}" y2="${HEIGHT - BOTTOM + 4}"></line>
      <text class="x-tick" x="${num(x(tick.at))}" y="${HEIGHT - BOTTOM +
        15}" text-anchor="middle">${tick.label}</text>
    `
  );
  const titleId = `chart-${options.id}-title`;
  return html`
    <figure class="chart" data-chart="${options.id}">
      <figcaption><strong id="${titleId}">${options
        .title}</strong> <span class="muted unit">${options.unit}</span></figcaption>
      <svg viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img"
        aria-labelledby="${titleId}">${columns}${yAxis}
    <line class="axis" x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${HEIGHT - BOTTOM}" y2="${HEIGHT -
      BOTTOM}"></line>${xAxis}<text class="axis-label" x="${WIDTH - RIGHT}" y="${HEIGHT -
      1}" text-anchor="end">UTC</text>${marks}</svg>
      <ul class="legend">${series.map(({ label, color }) =>
        html`<li><svg class="swatch" viewBox="0 0 10 10" aria-hidden="true"><rect width="10" height="10" fill="${color}"></rect></svg>${label}</li>`
      )}</ul>
    </figure>
  `;
}

function timeLabel(at: number, bucketMs: number): string {
  const iso = new Date(at).toISOString();
  return bucketMs >= 3_600_000 ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}` : iso.slice(11, 16);
}

/** `1,234`, `1.5k` past ten thousand, `0.25` for fractions. */
function formatCount(value: number): string {
  if (value >= 10_000) return `${num(value / 1_000)}k`;
  return Number.isInteger(value) ? COUNT_FORMAT.format(value) : String(num(value));
}

/** Made once: `toLocaleString` builds a formatter per call, most of a chart's rendering time. */
const COUNT_FORMAT = new Intl.NumberFormat("en-US");

function num(value: number): number {
  return Math.round(value * 100) / 100;
}
