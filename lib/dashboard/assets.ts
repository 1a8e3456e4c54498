/**
 * The dashboard's stylesheet and script, served by the service itself (no
 * CDN, no build step) under a Content-Security-Policy that allows nothing else.
 *
 * @module
 */

/**
 * `GET /dashboard/app.css`: no inline styles anywhere (the CSP forbids
 * them); below 48rem the decisions table becomes one card per decision.
 *
 * @example
 * ```ts
 * import { DASHBOARD_CSS } from "./assets.ts";
 * import { match } from "node:assert/strict";
 * match(DASHBOARD_CSS, /@media \(max-width: 48rem\)/);
 * ```
 */
export const DASHBOARD_CSS = `
:root { color-scheme: light; --ok: #1a7f37; --limit: #b35900; --no: #c62828; --ink: #1f2328; --muted: #59636e;
  --line: #d1d9e0; --soft: #f6f8fa; font-family: system-ui, sans-serif; color: var(--ink); }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 110rem; padding: 1rem 1.5rem; line-height: 1.4; }
header.top { display: flex; flex-wrap: wrap; gap: .5rem 1.25rem; align-items: center; }
header.top h1 { margin-right: auto; }
header.top p { margin: 0; }
h1 { font-size: 1.4rem; margin: 0; overflow-wrap: anywhere; } h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; } h3 { font-size: 1rem; margin: 1rem 0 .4rem; }
a { color: #0a58ca; } :focus-visible { outline: 3px solid #0a58ca; outline-offset: 2px; }
.muted { color: var(--muted); } .error { color: var(--no); font-weight: 600; }
.id { overflow-wrap: anywhere; font-size: .85em; }
nav.ranges { display: flex; gap: .25rem; }
nav.ranges a { padding: .25rem .6rem; border: 1px solid var(--line); border-radius: .35rem; text-decoration: none; }
nav.ranges a[aria-current] { background: #0a58ca; color: #fff; border-color: #0a58ca; }
label.refresh { display: inline-flex; gap: .3rem; align-items: center; font-size: .9rem; }
dl.stats { display: grid; grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr)); gap: .5rem; margin: 0; }
.stat { border: 1px solid var(--line); border-radius: .5rem; padding: .5rem .75rem; }
.stat dt { font-size: .85rem; color: var(--muted); } .stat dd { margin: 0; font-size: 1.3rem; font-variant-numeric: tabular-nums; }
.stat.approved dd { color: var(--ok); } .stat.declined dd { color: var(--no); } .stat.limited dd { color: var(--limit); }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 30rem), 1fr)); gap: 1rem; }
figure.chart { margin: 0; border: 1px solid var(--line); border-radius: .5rem; padding: .5rem .75rem; min-width: 0; }
figure.chart > svg { display: block; width: 100%; height: auto; }
figure.chart text { font-size: 11px; fill: var(--muted); font-variant-numeric: tabular-nums; }
figure.chart .grid { stroke: #eaeef2; } figure.chart .axis { stroke: var(--muted); }
figure.chart rect.hover { fill: transparent; } figure.chart rect.hover:hover { fill: #0a58ca14; }
ul.legend { display: flex; flex-wrap: wrap; gap: .25rem 1rem; list-style: none; margin: .25rem 0 0; padding: 0; font-size: .85rem; overflow-wrap: anywhere; }
svg.swatch { width: .8rem; height: .8rem; vertical-align: -.1rem; margin-right: .3rem; }
.panels { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 24rem), 1fr)); gap: 0 1.5rem; }
.panel { min-width: 0; }
.tag { font-size: .75rem; border-radius: 1rem; padding: 0 .45rem; border: 1px solid var(--line); font-weight: normal; }
.tag.shadow { background: #f3eefc; } .tag.live { background: #eaf5ec; }
details summary { font-size: .8rem; color: var(--muted); cursor: pointer; font-weight: normal; }
ul.examples { padding-left: 1.2rem; } ul.examples li { overflow-wrap: anywhere; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 20rem), 1fr)); gap: 1rem; }
.card { border: 1px solid var(--line); border-radius: .5rem; padding: .75rem 1rem; min-width: 0; }
.card h2 { margin-top: 0; }
.card dl { display: grid; grid-template-columns: auto minmax(0, 1fr); gap: .2rem 1rem; margin: .5rem 0 0; }
.card dd { margin: 0; text-align: right; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; overflow-wrap: anywhere; }
th { font-weight: 600; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td time { white-space: nowrap; }
.approved { color: var(--ok); } .limited { color: var(--limit); } .declined { color: var(--no); }
form.filters { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; }
form.filters label { flex: 1 1 9rem; min-width: 0; }
form.filters input, form.filters select { width: 100%; }
label { display: grid; gap: .2rem; font-size: .85rem; }
input, select, button { font: inherit; padding: .35rem .5rem; border: 1px solid var(--line); border-radius: .35rem; max-width: 100%; }
button { background: #0a58ca; color: #fff; border-color: #0a58ca; cursor: pointer; }
pre { background: var(--soft); padding: .5rem; border-radius: .35rem; overflow-x: auto; font-size: .8rem; max-width: 100%; }
nav.pages { display: flex; gap: 1rem; margin-top: .5rem; }
main.login, main.message { max-width: 30rem; margin: 4rem auto; } main.login form { display: grid; gap: .75rem; }
@media (max-width: 48rem) {
  body { padding: .5rem; }
  table.decisions thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  table.decisions, table.decisions tbody, table.decisions tr, table.decisions td { display: block; width: 100%; }
  table.decisions tr { border: 1px solid var(--line); border-radius: .5rem; margin-bottom: .5rem; padding: .25rem .5rem; }
  table.decisions td { position: relative; border: 0; padding: .2rem 0 .2rem 6.5rem; text-align: left; white-space: normal; }
  table.decisions td::before { content: attr(data-label); position: absolute; left: 0; width: 6rem; color: var(--muted); font-size: .85rem; }
}
`;

/**
 * `GET /dashboard/app.js`: shows each UTC time in the reader's time zone on
 * hover, and refreshes the overview in place every 30 s while the page is
 * visible and "Auto-refresh" is ticked (remembered in this browser; the
 * checkbox's `data-refresh-ms` sets the interval).
 *
 * @example
 * ```ts
 * import { DASHBOARD_JS } from "./assets.ts";
 * import { match } from "node:assert/strict";
 * match(DASHBOARD_JS, /getElementById\("auto-refresh"\)/);
 * ```
 */
export const DASHBOARD_JS = `
function localTimes(root) {
  for (const time of root.querySelectorAll("time[datetime]")) {
    time.title = new Date(time.getAttribute("datetime")).toLocaleString();
  }
}
localTimes(document);
const toggle = document.getElementById("auto-refresh");
if (toggle) {
  let timer;
  const schedule = () => {
    clearTimeout(timer);
    if (toggle.checked) timer = setTimeout(refresh, Number(toggle.dataset.refreshMs));
  };
  async function refresh() {
    if (document.visibilityState === "visible") {
      try {
        const response = await fetch(location.href, { credentials: "same-origin", redirect: "manual" });
        if (response.ok) {
          const next = new DOMParser().parseFromString(await response.text(), "text/html");
          const main = next.querySelector("main"), updated = next.getElementById("updated");
          if (main) { localTimes(main); document.querySelector("main").replaceWith(main); }
          if (updated) document.getElementById("updated").textContent = updated.textContent;
        }
      } catch {
        // Offline for a moment: the next tick tries again.
      }
    }
    schedule();
  }
  toggle.checked = localStorage.getItem("autoRefresh") === "1";
  toggle.addEventListener("change", () => {
    localStorage.setItem("autoRefresh", toggle.checked ? "1" : "0");
    schedule();
  });
  schedule();
}
`;
