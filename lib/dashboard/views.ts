/**
 * The dashboard's pages, rendered on the server.
 *
 * @module
 */
import { formatReason, type TraceEntry } from "../engine/decide.ts";
import type { DecisionFilter, DecisionOverview, DecisionPage } from "../ops/decision_queries.ts";
import { outcomeOf } from "../engine/decide.ts";
import type { DecisionCounts, SeriesPoint } from "../ops/decision_stats.ts";
import type { DecisionRecord } from "../store/decision_store.ts";
import { formatMinorUnits, formatUtc } from "../ops/format.ts";
import { html, type SafeHtml } from "./html.ts";

/** The live pipeline, as the page shows it. */
export interface PipelineView {
  readonly version: string;
  readonly policies: readonly { name: string; config: unknown }[];
}

function page(title: string, body: SafeHtml): string {
  return html`
    <!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>${title}</title>
        <link rel="stylesheet" href="/dashboard/app.css">
        <script src="/dashboard/app.js" defer></script>
      </head>
      <body>
    ${body}
      </body>
    </html>
  `.value;
}

/**
 * The login page; `error` shows that the last token was wrong, without a hint.
 *
 * @example
 * ```ts
 * import { loginPage } from "./views.ts";
 * loginPage(true); // "<!doctype html>…Wrong token.…"
 * ```
 */
export function loginPage(error: boolean): string {
  return page(
    "Sign in · Issuing authorizer",
    html`
      <main class="login">
        <h1>Issuing authorizer</h1>
        <form method="post" action="/dashboard/login">
        <label>Admin token <input type="password" name="token" autocomplete="current-password" required autofocus></label>
        ${error ? html`<p class="error" role="alert">Wrong token.</p>` : ""}
        <button type="submit">Sign in</button>
        </form>
      </main>
    `,
  );
}

/** The overview: counts, charts, filtered decisions and the live pipeline. */
export function overviewPage(
  overview: DecisionOverview,
  decisions: DecisionPage,
  filter: DecisionFilter,
  pipeline: PipelineView,
): string {
  const pageNumber = filter.offset / filter.limit + 1;
  const query = (pageAt: number) => {
    const params = new URLSearchParams();
    for (const key of ["card", "authorization", "outcome", "reason"] as const) {
      if (filter[key]) params.set(key, filter[key]!);
    }
    params.set("page", String(pageAt));
    return `/dashboard?${params}`;
  };
  return page(
    "Decisions · Issuing authorizer",
    html`
      <header>
        <h1>Authorization decisions</h1>
        <p class="muted">Policy version <code>${pipeline.version}</code> · ${formatUtc(
          overview.now,
        )}</p>
        <form method="post" action="/dashboard/logout"><button type="submit">Sign out</button></form>
      </header>
      <main>
        <section aria-labelledby="counts"><h2 id="counts">Counts</h2>
      <div class="cards">${countsCard("Last hour", overview.last_hour)}${countsCard(
        "Last day",
        overview.last_day,
      )}</div>
      ${overview.truncated
        ? html`<p class="muted">Counts cover the most recent decisions scanned, not the whole day.</p>`
        : ""}
      ${reasonsTable(overview.last_day)}
        </section>
        <section aria-labelledby="charts"><h2 id="charts">Last 3 hours, per minute</h2>
      ${decisionsChart(overview.series)}
      ${latencyChart(overview.series)}
        </section>
        <section aria-labelledby="latest"><h2 id="latest">Latest decisions</h2>
      <form class="filters" method="get" action="/dashboard" role="search">
        <label>Card <input name="card" value="${filter.card ?? ""}" placeholder="ic_…"></label>
        <label>Authorization <input name="authorization" value="${filter.authorization ??
          ""}" placeholder="iauth_…"></label>
        <label>Outcome <select name="outcome">${["", "approved", "declined", "limited"].map((
          outcome,
        ) =>
          html`
            <option value="${outcome}" ${filter.outcome === outcome
              ? html`
                selected
              `
              : ""}>${outcome || "any"}</option>
          `
        )}</select></label>
        <label>Reason <input name="reason" value="${filter.reason ??
          ""}" placeholder="mcc_blocked"></label>
        <button type="submit">Filter</button> <a href="/dashboard">Clear</a>
      </form>
      ${decisionsTable(decisions.data)}
      <nav class="pages" aria-label="Pages">
        ${pageNumber > 1 ? html`<a href="${query(pageNumber - 1)}" rel="prev">Newer</a>` : ""}
        <span class="muted">Page ${pageNumber}</span>
        ${decisions.has_more ? html`<a href="${query(pageNumber + 1)}" rel="next">Older</a>` : ""}
      </nav>
        </section>
        <section aria-labelledby="pipeline">
          <h2 id="pipeline">Live pipeline</h2>
          <ol>${pipeline.policies.map((policy) =>
            html`<li><strong>${policy.name}</strong><pre>${
              JSON.stringify(policy.config, null, 2)
            }</pre></li>`
          )}</ol>
        </section>
      </main>
    `,
  );
}

/** One decision: the request's key fields, the trace, the shadow decision, what Stripe did. */
export function decisionPage(record: DecisionRecord): string {
  const outcome = outcomeOf(record);
  return page(
    `${record.authorization_id} · Issuing authorizer`,
    html`
      <header>
        <h1>${record.authorization_id}</h1>
        <p><a href="/dashboard">All decisions</a></p>
      </header>
      <main>
      <div class="cards">
      <section class="card" aria-labelledby="request"><h2 id="request">Request</h2><dl>
        <dt>Time</dt><dd><time datetime="${record.decided_at}">${formatUtc(
          record.decided_at,
        )}</time></dd>
        <dt>Card</dt><dd><a href="/dashboard?card=${encodeURIComponent(record.card_id)}">${record
          .card_id}</a></dd>
        <dt>Cardholder</dt><dd>${record.cardholder_id ?? "—"}</dd>
        <dt>Merchant</dt><dd>${record.merchant_name ?? "—"}</dd>
        <dt>Category</dt><dd>${record.merchant_category}</dd>
        <dt>Country</dt><dd>${record.merchant_country ?? "—"}</dd>
        <dt>Requested</dt><dd>${formatMinorUnits(record.requested_amount, record.currency)}</dd>
        <dt>Event</dt><dd>${record.event_id ?? "—"}</dd>
      </dl></section>
      <section class="card" aria-labelledby="decision"><h2 id="decision">Decision</h2><dl>
        <dt>Outcome</dt><dd class="${outcome}">${outcome}</dd>
        <dt>Held</dt><dd>${record.amount === null
          ? "—"
          : formatMinorUnits(record.amount, record.currency)}</dd>
        <dt>Reasons</dt><dd>${record.reasons.map(formatReason).join(", ") || "—"}</dd>
        <dt>Policy version</dt><dd><code>${record.policy_version}</code></dd>
        <dt>Path</dt><dd>${record.path}</dd>
        <dt>Latency</dt><dd>${record.latency_ms} ms</dd>
        ${record.reconciliation
          ? html`
            <dt>Stripe</dt>
            <dd>${record.reconciliation.outcome} (${record.reconciliation.stripe_reason ??
              "—"})</dd>
          `
          : ""}
      </dl></section>
      </div>
      <section aria-labelledby="trace"><h2 id="trace">Trace</h2>${traceTable(
        record.trace,
        record.currency,
      )}</section>
      ${record.shadow
        ? html`<section aria-labelledby="shadow"><h2 id="shadow">Shadow decision</h2>
<p class="${
          record.shadow.approved
            ? (record.shadow.amount === null ? "approved" : "limited")
            : "declined"
        }">${record.shadow.approved ? "approved" : "declined"}${
          record.shadow.disagrees ? " — disagrees with the live decision" : " — agrees"
        }</p>
${traceTable(record.shadow.trace, record.currency)}</section>`
        : ""}
      </main>
    `,
  );
}

function countsCard(title: string, counts: DecisionCounts): SafeHtml {
  return html`
    <section class="card">
      <h3>${title}</h3>
      <dl>
        <dt class="approved">Approved</dt>
        <dd data-count="approved">${counts.approved}</dd>
        <dt class="declined">Declined</dt>
        <dd data-count="declined">${counts.declined}</dd>
        <dt class="limited">Limited</dt>
        <dd data-count="limited">${counts.limited}</dd>
        <dt>Fallbacks</dt>
        <dd data-count="fallbacks">${counts.fallbacks}</dd>
        <dt>Shadow disagreements</dt>
        <dd data-count="shadow_disagreements">${counts.shadow_disagreements}</dd>
      </dl>
    </section>
  `;
}

function reasonsTable(counts: DecisionCounts): SafeHtml {
  const reasons = Object.entries(counts.reasons).sort((a, b) => b[1] - a[1]);
  if (reasons.length === 0) return html`<p class="muted">No reasons in the last day.</p>`;
  return html`
    <div class="scroll">
      <table>
        <caption class="muted">Reasons, last day</caption>
        <thead>
          <tr>
            <th scope="col">Reason</th>
            <th scope="col">Decisions</th>
          </tr>
        </thead>
        <tbody>${reasons.map(([reason, count]) =>
          html`
            <tr>
              <td>${reason}</td>
              <td class="num">${count}</td>
            </tr>
          `
        )}</tbody>
      </table>
    </div>
  `;
}

function decisionsTable(records: readonly DecisionRecord[]): SafeHtml {
  if (records.length === 0) return html`<p class="muted">No decisions match.</p>`;
  return html`
    <div class="scroll">
      <table id="decisions">
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Authorization</th>
            <th scope="col">Card</th>
            <th scope="col">Merchant</th>
            <th scope="col">Category</th>
            <th scope="col">Amount</th>
            <th scope="col">Outcome</th>
            <th scope="col">Reasons</th>
          </tr>
        </thead>
        <tbody>${records.map((record) => {
          const outcome = outcomeOf(record);
          return html`
            <tr>
              <td><time datetime="${record.decided_at}">${formatUtc(record.decided_at)}</time></td>
              <td><a href="/dashboard/decisions/${encodeURIComponent(
                record.authorization_id,
              )}">${record.authorization_id}</a></td>
              <td>${record.card_id}</td>
              <td>${record.merchant_name ?? "—"}</td>
              <td>${record.merchant_category}</td>
              <td class="num">${formatMinorUnits(record.requested_amount, record.currency)}</td>
              <td class="${outcome}">${outcome}${record.amount === null ? "" : html`
                to ${formatMinorUnits(record.amount, record.currency)}
              `}</td>
              <td>${record.reasons.map(formatReason).join(", ")}</td>
            </tr>
          `;
        })}</tbody>
      </table>
    </div>
  `;
}

function traceTable(trace: readonly TraceEntry[], currency: string): SafeHtml {
  return html`
    <div class="scroll">
      <table class="trace">
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">Policy</th>
            <th scope="col">Verdict</th>
            <th scope="col">Reason</th>
          </tr>
        </thead>
        <tbody>${trace.map(({ policy, verdict }, i) =>
          html`
            <tr>
              <td class="num">${i + 1}</td>
              <td>${policy}</td>
              <td>${verdict.outcome}${verdict.outcome === "limit"
                ? html`
                  to ${formatMinorUnits(verdict.amount, currency)}
                `
                : ""}</td>
              <td>${"code" in verdict
                ? formatReason({ policy, code: verdict.code, detail: verdict.detail })
                : "—"}</td>
            </tr>
          `
        )}</tbody>
      </table>
    </div>
  `;
}

const CHART_WIDTH = 720, CHART_HEIGHT = 160;
const COLORS = {
  approved: "#1a7f37",
  limited: "#b35900",
  declined: "#c62828",
  p50: "#0a58ca",
  p99: "#8250df",
};

function decisionsChart(series: readonly SeriesPoint[]): SafeHtml {
  const max = Math.max(
    1,
    ...series.map((point) => point.approved + point.limited + point.declined),
  );
  const width = CHART_WIDTH / series.length;
  const bars = series.map((point, i) => {
    let y = CHART_HEIGHT;
    return (["approved", "limited", "declined"] as const).map((outcome) => {
      const height = (point[outcome] / max) * CHART_HEIGHT;
      y -= height;
      return height > 0
        ? html`
          <rect x="${(i * width).toFixed(2)}" y="${y.toFixed(2)}" width="${Math.max(
            width - 0.5,
            0.5,
          ).toFixed(2)}" height="${height.toFixed(2)}" fill="${COLORS[outcome]}">
            <title>${point.at.slice(11, 16)} UTC: ${point[outcome]} ${outcome}</title>
          </rect>
        `
        : "";
    });
  });
  return html`
    <figure>
      <svg viewBox="0 0 ${CHART_WIDTH} ${CHART_HEIGHT}" role="img" aria-labelledby="decisions-chart-title">
    <title id="decisions-chart-title">Decisions per minute, stacked by outcome (peak ${max})</title>${bars}</svg>
      <figcaption
        class="legend"><span><span class="swatch approved"></span>approved</span><span><span class="swatch limited"></span>limited</span>
    <span><span class="swatch declined"></span>declined</span><span class="muted">peak ${max} a minute</span></figcaption>
    </figure>
  `;
}

function latencyChart(series: readonly SeriesPoint[]): SafeHtml {
  const max = Math.max(1, ...series.map((point) => point.p99_ms ?? 0));
  const width = CHART_WIDTH / series.length;
  const line = (key: "p50_ms" | "p99_ms") =>
    series.flatMap((point, i) =>
      point[key] === null ? [] : [
        `${(i * width + width / 2).toFixed(2)},${
          (CHART_HEIGHT - (point[key]! / max) * CHART_HEIGHT).toFixed(2)
        }`,
      ]
    ).join(" ");
  return html`
    <figure>
      <svg viewBox="0 0 ${CHART_WIDTH} ${CHART_HEIGHT}" role="img" aria-labelledby="latency-chart-title">
        <title
          id="latency-chart-title">Decision latency p50 and p99 per minute (peak ${max.toFixed(
            1,
          )} ms)</title>
        <polyline points="${line("p50_ms")}" fill="none" stroke="${COLORS
          .p50}" stroke-width="1.5" />
        <polyline points="${line("p99_ms")}" fill="none" stroke="${COLORS
          .p99}" stroke-width="1.5" />
      </svg>
      <figcaption
        class="legend"><span><span class="swatch p50"></span>p50</span><span><span class="swatch p99"></span>p99</span>
    <span class="muted">peak ${max.toFixed(1)} ms</span></figcaption>
    </figure>
  `;
}
