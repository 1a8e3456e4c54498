/**
 * The dashboard's pages, rendered on the server.
 *
 * @module
 */
import { formatReason, outcomeOf, type TraceEntry } from "../engine/decide.ts";
import {
  type DecisionFilter,
  type DecisionOverview,
  type DecisionPage,
  RECONCILIATION_OUTCOMES,
  searchOf,
  TIME_RANGES,
  type TimeRangeName,
} from "../ops/decision_queries.ts";
import { topKeys } from "../ops/decision_stats.ts";
import type { DecisionRecord } from "../store/decision_store.ts";
import { formatMinorUnits, formatUtc } from "../ops/format.ts";
import { chart, PALETTE } from "./charts.ts";
import { html, type SafeHtml } from "./html.ts";

/** A pipeline, as the page shows it. */
export interface PipelineView {
  readonly version: string;
  readonly policies: readonly { name: string; config: unknown }[];
}

const OUTCOME_COLORS = { approved: "#1a7f37", limited: "#b35900", declined: "#c62828" } as const;
/** What each reconciliation outcome means, in a few words (see `ReconciliationOutcome`). */
const RECONCILIATION_MEANINGS: Readonly<Record<string, string>> = {
  agreed: "Stripe did what we answered",
  mismatch: "Stripe's approval or amount differs",
  webhook_timeout: "our answer came too late",
  webhook_error: "Stripe could not use our answer",
  network_decided: "the network decided without us",
  stripe_declined: "Stripe's own checks declined",
  stripe_error: "Stripe internal error",
  stripe_only: "never reached us",
  unknown_reason: "a reason newer than this service",
};
/** Decline reasons and policies charted by name; the rest are summed as "other". */
const TOP_SERIES = 5;

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
 * The sign-in page; `error` shows that the last token was wrong, without a hint.
 *
 * @example
 * ```ts
 * import { loginPage } from "./views.ts";
 * import { match } from "node:assert/strict";
 * match(loginPage(true, "form-token"), /Wrong token\.[^]*name="csrf" value="form-token"/);
 * ```
 */
export function loginPage(error: boolean, csrfToken: string): string {
  return page(
    "Sign in · Issuing authorizer",
    html`
      <main class="login">
        <h1>Issuing authorizer</h1>
        <form method="post" action="/dashboard/login">
      <label>Admin token <input type="password" name="token" autocomplete="current-password" required autofocus></label>
      ${error ? html`<p class="error" role="alert">Wrong token.</p>` : ""}
      <input type="hidden" name="csrf" value="${csrfToken}">
      <button type="submit">Sign in</button>
        </form>
      </main>
    `,
  );
}

/**
 * An error inside the dashboard, as a page: the status, its one-line reason
 * and a way back.
 *
 * @example
 * ```ts
 * import { errorPage } from "./views.ts";
 * import { match } from "node:assert/strict";
 * match(errorPage(404, "no decision for iauth_x"), /<h1>Not found<\/h1>[^]*no decision for iauth_x/);
 * ```
 */
export function errorPage(status: number, reason: string): string {
  const title = ERROR_TITLES[status] ?? (status >= 500 ? "Temporarily unavailable" : "Error");
  return page(
    `${title} · Issuing authorizer`,
    html`
      <main class="message">
        <h1>${title}</h1>
        <p>${reason}</p>
        <p><a href="/dashboard">Back to the dashboard</a></p>
      </main>
    `,
  );
}

const ERROR_TITLES: Record<number, string> = {
  400: "Bad request",
  401: "Not signed in",
  404: "Not found",
  405: "Method not allowed",
  413: "Too large",
};

/** What the overview page shows. */
export interface OverviewView {
  readonly overview: DecisionOverview;
  readonly decisions: DecisionPage;
  readonly filter: DecisionFilter;
  readonly pipeline: PipelineView;
  readonly shadowPipeline?: PipelineView;
  /** The session's token for the sign-out form. */
  readonly csrfToken: string;
}

/**
 * The overview: totals and charts for the time range, what Stripe did, each
 * policy's hits, and the filtered decisions with exports.
 *
 * @example
 * ```ts
 * import { overviewPage } from "./views.ts";
 * import { createOverviewReader } from "../ops/decision_queries.ts";
 * import { match } from "node:assert/strict";
 * const kv = await Deno.openKv(":memory:");
 * const overview = await createOverviewReader({ kv, store: {} as never })("1h", new Date());
 * const page = overviewPage({
 *   overview, decisions: { data: [], next: null, searched_to: null }, filter: { range: "1h", limit: 50 },
 *   pipeline: { version: "dev", policies: [{ name: "amountCap", config: { usd: 100_000 } }] },
 *   csrfToken: "token",
 * });
 * match(page, /data-chart="decisions"/);
 * match(page, /No decisions match\./);
 * kv.close();
 * ```
 */
export function overviewPage(view: OverviewView): string {
  const { overview, decisions, filter, pipeline } = view;
  const range = overview.range;
  const link = (changes: Parameters<typeof searchOf>[1], hash = "") =>
    `/dashboard?${searchOf(filter, { cursor: undefined, ...changes })}${hash}`;
  return page(
    "Decisions · Issuing authorizer",
    html`
      <header class="top">
        <h1>Authorization decisions</h1>
        <nav class="ranges" aria-label="Time range">${(Object.keys(TIME_RANGES) as TimeRangeName[])
          .map((name) =>
            html`<a href="${link({ range: name })}" ${
              name === range ? html`aria-current="page"` : ""
            }>${name}</a>`
          )}</nav>
        <label
          class="refresh"><input type="checkbox" id="auto-refresh" data-refresh-ms="30000"> Auto-refresh (30 s)</label>
        <p
          class="muted">Policy version <code>${pipeline
            .version}</code> · <span id="updated">${formatUtc(overview.now)}</span></p>
        <form method="post"
          action="/dashboard/logout"><input type="hidden" name="csrf" value="${view
            .csrfToken}"><button type="submit">Sign out</button></form>
      </header>
      <main id="overview">
      ${summarySection(overview)}
      ${chartsSection(overview)}
      <div class="panels">
      ${reconciliationPanel(overview, link)}
      ${policyPanel(view, link)}
      </div>
      ${decisionsSection(decisions, filter)}
      </main>
    `,
  );
}

function summarySection(overview: DecisionOverview): SafeHtml {
  const { totals } = overview;
  const total = totals.approved + totals.declined + totals.limited;
  const item = (key: string, label: string, value: string | number, css = "") =>
    html`
      <div class="stat ${css}">
        <dt>${label}</dt>
        <dd data-count="${key}">${value}</dd>
      </div>
    `;
  return html`
    <section aria-labelledby="summary">
      <h2 id="summary">${TIME_RANGES[overview.range].label}</h2>
      <dl class="stats">
    ${item("decisions", "Decisions", total)}
    ${item("approved", "Approved", totals.approved, "approved")}
    ${item("declined", "Declined", totals.declined, "declined")}
    ${item("limited", "Limited", totals.limited, "limited")}
    ${item("approval_rate", "Approval rate", percent(totals.approval_rate))}
    ${item("latency", "Time to decide p50 / p99", `${ms(totals.p50_ms)} / ${ms(totals.p99_ms)}`)}
    ${item("fallbacks", "Fallbacks", totals.fallbacks)}
    ${item("shadow_disagreements", "Shadow disagreements", totals.shadow_disagreements)}
      </dl>
    </section>
  `;
}

function chartsSection(overview: DecisionOverview): SafeHtml {
  const { series, bucket_ms: bucketMs } = overview;
  const per = bucketMs >= 3_600_000 ? "hour" : "minute";
  const buckets = series.map((point) => Date.parse(point.at));
  const column = (pick: (point: (typeof series)[number]) => number | null) => series.map(pick);
  const common = { buckets, bucketMs };
  const topReasons = topKeys(overview.totals.decline_reasons, TOP_SERIES);
  const topPolicies = topKeys(
    Object.fromEntries(
      Object.entries(overview.totals.policy_hits).map(([policy, hits]) => [
        policy,
        hits.declined + hits.limited,
      ]),
    ),
    TOP_SERIES,
  );
  const others = (counts: Readonly<Record<string, number>>, named: readonly string[]) =>
    Object.entries(counts).reduce((sum, [key, n]) => named.includes(key) ? sum : sum + n, 0);
  const categorical = (keys: readonly string[], hasOther: boolean) => [
    ...keys.map((key, i) => ({ key, label: key, color: PALETTE[i % PALETTE.length] })),
    ...(hasOther ? [{ key: "\u0000other", label: "other", color: PALETTE[6] }] : []),
  ];
  const reasonsOther = series.some((point) => others(point.decline_reasons, topReasons) > 0);
  const policiesOther = series.some((point) => others(point.policy_hits, topPolicies) > 0);
  return html`
    <section aria-labelledby="charts">
      <h2 id="charts">Over time</h2>
      <div class="charts">
    ${chart({
      ...common,
      id: "decisions",
      title: "Decisions",
      unit: `decisions per ${per}`,
      kind: "stacked",
      series: (["approved", "limited", "declined"] as const).map((key) => ({
        key,
        label: key,
        color: OUTCOME_COLORS[key],
      })),
      values: {
        approved: column((point) => point.approved),
        limited: column((point) => point.limited),
        declined: column((point) => point.declined),
      },
    })}
    ${chart({
      ...common,
      id: "approval-rate",
      title: "Approval rate",
      unit: "% approved or limited",
      kind: "lines",
      yMax: 100,
      format: (value) => `${Math.round(value * 10) / 10}%`,
      series: [{ key: "rate", label: "approval rate", color: "#1a7f37" }],
      values: {
        rate: column((point) => point.approval_rate === null ? null : point.approval_rate * 100),
      },
    })}
    ${chart({
      ...common,
      id: "latency",
      title: "Time to decide",
      unit:
        "ms from the store's queue to the decision, before its commit; estimated from a histogram",
      kind: "lines",
      format: (value) => `${Math.round(value * 10) / 10} ms`,
      series: [
        { key: "p50", label: "p50", color: "#0072b2" },
        { key: "p99", label: "p99", color: "#cc79a7" },
      ],
      values: { p50: column((point) => point.p50_ms), p99: column((point) => point.p99_ms) },
    })}
    ${chart({
      ...common,
      id: "decline-reasons",
      title: "Top decline reasons",
      unit: `declines per ${per}`,
      kind: "stacked",
      series: categorical(topReasons, reasonsOther),
      values: {
        ...Object.fromEntries(
          topReasons.map((
            reason,
          ) => [reason, column((point) => point.decline_reasons[reason] ?? 0)]),
        ),
        "\u0000other": column((point) => others(point.decline_reasons, topReasons)),
      },
    })}
    ${chart({
      ...common,
      id: "policy-hits",
      title: "Policy hits",
      unit: `declines and limits per ${per}`,
      kind: "stacked",
      series: categorical(topPolicies, policiesOther),
      values: {
        ...Object.fromEntries(
          topPolicies.map((policy) => [policy, column((point) => point.policy_hits[policy] ?? 0)]),
        ),
        "\u0000other": column((point) => others(point.policy_hits, topPolicies)),
      },
    })}
    ${chart({
      ...common,
      id: "shadow",
      title: "Shadow disagreements",
      unit: `decisions per ${per}`,
      kind: "stacked",
      series: [{ key: "shadow", label: "shadow disagrees with live", color: "#8250df" }],
      values: { shadow: column((point) => point.shadow_disagreements) },
    })}
      </div>
    </section>
  `;
}

type Link = (changes: Parameters<typeof searchOf>[1], hash?: string) => string;

function reconciliationPanel(overview: DecisionOverview, link: Link): SafeHtml {
  const counts = overview.totals.reconciliations;
  return html`
    <section class="panel" aria-labelledby="reconciliation">
      <h2 id="reconciliation">What Stripe did</h2>
      <p
        class="muted">Reconciliation of this range's decisions with <code>issuing_authorization.created</code> and <code>.updated</code>.</p>
      <table class="compact">
        <tbody>${RECONCILIATION_OUTCOMES.map((outcome) =>
          html`
            <tr>
              <th
                scope="row"><a href="${link(
                  { reconciliation: outcome },
                  "#decisions",
                )}">${outcome}</a><br><span class="muted">${RECONCILIATION_MEANINGS[
                  outcome
                ]}</span></th>
              <td class="num" data-reconciliation="${outcome}">${counts[outcome] ?? 0}</td>
            </tr>
          `
        )}</tbody>
      </table>
    </section>
  `;
}

function policyPanel(view: OverviewView, link: Link): SafeHtml {
  const { overview, shadowPipeline } = view;
  const rows = (pipelineView: PipelineView, kind: "live" | "shadow") => {
    const hits = kind === "live" ? overview.totals.policy_hits : overview.totals.shadow_policy_hits;
    // Hits are counted by policy name: two policies of one name share a row.
    const named = [...new Map(pipelineView.policies.map((p) => [p.name, p])).values()];
    return named.map((policy) =>
      html`
        <tr data-policy="${kind}:${policy.name}">
          <th scope="row">${policy.name} <span class="tag ${kind}">${kind}</span>
        <details><summary>configuration</summary><pre>${JSON.stringify(
          policy.config,
          null,
          2,
        )}</pre></details></th>
          <td class="num">${hits[policy.name]?.declined ?? 0}</td>
          <td class="num">${hits[policy.name]?.limited ?? 0}</td>
        </tr>
      `
    );
  };
  const examples = overview.shadow_examples;
  return html`<section class="panel" aria-labelledby="policies"><h2 id="policies">Policies</h2>
<table class="compact"><thead><tr><th scope="col">Policy</th><th scope="col" class="num">Declines</th><th scope="col" class="num">Limits</th></tr></thead>
<tbody>${rows(view.pipeline, "live")}${
    shadowPipeline ? rows(shadowPipeline, "shadow") : ""
  }</tbody></table>
${
    shadowPipeline
      ? html`<h3>Shadow disagreements</h3>${
        examples.length === 0 ? html`<p class="muted">None in this range.</p>` : html`
          <ul class="examples">${examples.map((record) =>
            html`<li><a href="/dashboard/decisions/${
              encodeURIComponent(record.authorization_id)
            }">${record.authorization_id}</a>: live <span class="${outcomeOf(record)}">${
              outcomeOf(record)
            }</span>, shadow <span class="${record.shadow ? outcomeOf(record.shadow) : ""}">${
              record.shadow ? outcomeOf(record.shadow) : "—"
            }</span>${
              record.shadow?.reasons.length
                ? html`
                  (${record.shadow.reasons.map(formatReason).join(", ")})
                `
                : ""
            }</li>`
          )}</ul>
          <p><a href="${link({ disagreement: "1" }, "#decisions")}">All disagreements</a></p>
        `
      }`
      : html`
        <p
          class="muted">No shadow pipeline: export <code>shadowPipeline</code> from <code>policies/shadow.ts</code> to compare one.</p>
      `
  }
</section>`;
}

function decisionsSection(decisions: DecisionPage, filter: DecisionFilter): SafeHtml {
  const text = (
    name: "card" | "authorization" | "merchant" | "reason",
    label: string,
    hint: string,
  ) =>
    html`<label>${label} <input name="${name}" value="${
      filter[name] ?? ""
    }" placeholder="${hint}"></label>`;
  const exportSearch = searchOf(filter, { cursor: undefined });
  return html`<section aria-labelledby="decisions-title"><h2 id="decisions-title">Decisions</h2>
<form class="filters" method="get" action="/dashboard#decisions" role="search">
${text("card", "Card", "ic_…")}
${text("authorization", "Authorization", "iauth_…")}
${text("merchant", "Merchant", "name or category")}
${text("reason", "Reason", "spend_limit")}
<label>Outcome <select name="outcome">${
    ["", "approved", "declined", "limited"].map((outcome) =>
      html`<option value="${outcome}" ${filter.outcome === outcome ? html`selected` : ""}>${
        outcome || "any"
      }</option>`
    )
  }</select></label>
<label>Range <select name="range">${
    (Object.keys(TIME_RANGES) as TimeRangeName[]).map((name) =>
      html`<option value="${name}" ${filter.range === name ? html`selected` : ""}>${
        TIME_RANGES[name].label
      }</option>`
    )
  }</select></label>
${
    filter.reconciliation
      ? html`<input type="hidden" name="reconciliation" value="${filter.reconciliation}">`
      : ""
  }
${filter.disagreement ? html`<input type="hidden" name="disagreement" value="1">` : ""}
<button type="submit">Filter</button> <a href="/dashboard?range=${filter.range}#decisions">Clear</a>
</form>
<p class="exports">${
    filter.reconciliation
      ? html`
        Reconciliation <strong>${filter.reconciliation}</strong> ·
      `
      : ""
  }${
    filter.disagreement
      ? html`
        Shadow disagreements only ·
      `
      : ""
  }Export these decisions: <a href="/dashboard/decisions.csv?${exportSearch}" download>CSV</a> · <a href="/dashboard/decisions.jsonl?${exportSearch}" download>JSON lines</a></p>
${decisionsTable(decisions.data)}
${
    decisions.searched_to
      ? html`<p class="muted">Searched back to ${
        formatUtc(decisions.searched_to)
      } in this page; older decisions may match.</p>`
      : ""
  }
<nav class="pages" aria-label="Pages">
${
    filter.cursor
      ? html`<a href="/dashboard?${searchOf(filter, { cursor: undefined })}#decisions">Newest</a>`
      : ""
  }
${
    decisions.next
      ? html`<a href="/dashboard?${
        searchOf(filter, { cursor: decisions.next })
      }#decisions" rel="next">Older</a>`
      : html`<span class="muted">End of the range</span>`
  }
</nav>
</section>`;
}

function decisionsTable(records: readonly DecisionRecord[]): SafeHtml {
  if (records.length === 0) {
    return html`<p class="muted" id="decisions">No decisions match.</p>`;
  }
  return html`
    <table id="decisions" class="decisions">
      <thead>
        <tr>
          <th scope="col">Time (UTC)</th>
          <th scope="col">Card</th>
          <th scope="col">Merchant</th>
          <th scope="col" class="num">Amount</th>
          <th scope="col">Outcome</th>
          <th scope="col">Reasons</th>
        </tr>
      </thead>
      <tbody>${records.map((record) => {
        const outcome = outcomeOf(record);
        return html`
          <tr>
            <td
              data-label="Time"><a href="/dashboard/decisions/${encodeURIComponent(
                record.authorization_id,
              )}"><time datetime="${record.decided_at}">${formatUtc(record.decided_at).slice(
                0,
                19,
              )}</time></a><br><span class="id muted">${record.authorization_id}</span></td>
            <td data-label="Card" class="id">${record.card_id}</td>
            <td data-label="Merchant">${record.merchant_name ?? "—"}<br><span class="muted">${record
              .merchant_category}</span></td>
            <td data-label="Amount" class="num">${formatMinorUnits(
              record.requested_amount,
              record.currency,
            )}</td>
            <td data-label="Outcome" class="${outcome}">${outcome}${record.amount === null
              ? ""
              : html`
                to ${formatMinorUnits(record.amount, record.currency)}
              `}${record.position > 0
              ? html`
                <span class="tag">increment ${record.position}</span>
              `
              : ""}</td>
            <td data-label="Reasons">${record.reasons.map(formatReason).join(", ") || "—"}</td>
          </tr>
        `;
      })}</tbody>
    </table>
  `;
}

/**
 * One authorization: its requests, the latest one's key fields and trace,
 * the shadow decision, what Stripe did.
 *
 * @example
 * ```ts
 * import { decisionPage } from "./views.ts";
 * import { match } from "node:assert/strict";
 * const record = { authorization_id: "iauth_1", card_id: "ic_1", cardholder_id: null, event_id: "evt_1",
 *   decided_at: "2026-11-25T12:00:00.000Z", merchant_name: "LUCKY CASINO", merchant_category: "betting_casino_gambling",
 *   merchant_country: "US", requested_amount: 5_000, currency: "usd", approved: false, amount: null,
 *   reasons: [{ policy: "blockCategories", code: "mcc_blocked", detail: "betting_casino_gambling" }],
 *   trace: [{ policy: "blockCategories", verdict: { outcome: "decline", code: "mcc_blocked", detail: "betting_casino_gambling" } }],
 *   policy_version: "dev", path: "respond", latency_ms: 1.2, position: 0, held: { amount: 0, requests: 0 } };
 * match(decisionPage(record as never), /mcc_blocked:betting_casino_gambling/);
 * ```
 */
export function decisionPage(record: DecisionRecord): string {
  const outcome = outcomeOf(record);
  return page(
    `${record.authorization_id} · Issuing authorizer`,
    html`
      <header class="top">
        <h1>${record.authorization_id}</h1>
        <p><a href="/dashboard">All decisions</a></p>
      </header>
      <main>
      <div class="cards">
      <section class="card" aria-labelledby="request"><h2 id="request">Request</h2><dl>
      <dt>Time</dt><dd><time datetime="${record.decided_at}">${formatUtc(
        record.decided_at,
      )}</time></dd>
      <dt>Card</dt><dd class="id"><a href="/dashboard?card=${encodeURIComponent(
        record.card_id,
      )}&range=7d#decisions">${record.card_id}</a></dd>
      <dt>Cardholder</dt><dd class="id">${record.cardholder_id ?? "—"}</dd>
      <dt>Merchant</dt><dd>${record.merchant_name ?? "—"}</dd>
      <dt>Category</dt><dd>${record.merchant_category}</dd>
      <dt>Country</dt><dd>${record.merchant_country ?? "—"}</dd>
      <dt>Requested</dt><dd>${formatMinorUnits(record.requested_amount, record.currency)}</dd>
      <dt>Event</dt><dd class="id">${record.event_id ?? "—"}</dd>
      </dl></section>
      <section class="card" aria-labelledby="decision"><h2 id="decision">Decision</h2><dl>
      <dt>Outcome</dt><dd class="${outcome}">${outcome}</dd>
      <dt>Limited to</dt><dd>${record.amount === null
        ? "—"
        : formatMinorUnits(record.amount, record.currency)}</dd>
      <dt>Reasons</dt><dd>${record.reasons.map(formatReason).join(", ") || "—"}</dd>
      <dt>Policy version</dt><dd><code>${record.policy_version}</code></dd>
      <dt>Path</dt><dd>${record.path}</dd>
      <dt>Time to decide</dt><dd>${record.latency_ms} ms (before its commit)</dd>
      ${record.reconciliation
        ? html`
          <dt>Stripe</dt>
          <dd>${record.reconciliation.outcome} (${record.reconciliation.stripe_reason ?? "—"})</dd>
        `
        : ""}
      </dl></section>
      </div>
      ${requestsTable(record)}
      <section aria-labelledby="trace"><h2 id="trace">Trace${record.requests &&
          record.requests.length > 1
        ? " of the latest request"
        : ""}</h2>${traceTable(record.trace, record.currency)}</section>
      ${record.shadow
        ? html`<section aria-labelledby="shadow"><h2 id="shadow">Shadow decision</h2>
<p class="${outcomeOf(record.shadow)}">${outcomeOf(record.shadow)}${
          record.shadow.disagrees ? " — disagrees with the live decision" : " — agrees"
        }</p>
${traceTable(record.shadow.trace, record.currency)}</section>`
        : ""}
      </main>
    `,
  );
}

/** Every request of the authorization (a first request and its increments), when there are several. */
function requestsTable(record: DecisionRecord): SafeHtml | "" {
  const requests = record.requests ?? [];
  if (requests.length < 2) return "";
  return html`
    <section aria-labelledby="requests">
      <h2 id="requests">Requests</h2>
      <table class="requests">
        <thead>
          <tr>
            <th scope="col" class="num">#</th>
            <th scope="col">Time (UTC)</th>
            <th scope="col" class="num">Requested</th>
            <th scope="col">Outcome</th>
          </tr>
        </thead>
        <tbody>${requests.map((request) => {
          const outcome = outcomeOf(request);
          return html`
            <tr>
              <td class="num">${request.position}</td>
              <td><time datetime="${request.decided_at}">${formatUtc(
                request.decided_at,
              )}</time></td>
              <td class="num">${formatMinorUnits(request.requested_amount, record.currency)}</td>
              <td class="${outcome}">${request.position === 0
                ? ""
                : "increment: "}${outcome}${request.amount === null ? "" : html`
                to ${formatMinorUnits(request.amount, record.currency)}
              `}${request.fallback
                ? html`
                  (fallback: ${request.fallback})
                `
                : ""}</td>
            </tr>
          `;
        })}</tbody>
      </table>
      <p
        class="muted">Held before the latest request: ${formatMinorUnits(
          record.held.amount,
          record.currency,
        )} from ${record.held.requests} approved request(s).</p>
    </section>
  `;
}

function traceTable(trace: readonly TraceEntry[], currency: string): SafeHtml {
  return html`
    <table class="trace">
      <thead>
        <tr>
          <th scope="col" class="num">#</th>
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
  `;
}

function percent(rate: number | null): string {
  return rate === null ? "—" : `${Math.round(rate * 1_000) / 10}%`;
}

function ms(value: number | null): string {
  return value === null ? "—" : `${Math.round(value * 10) / 10} ms`;
}
