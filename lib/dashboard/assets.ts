/**
 * The dashboard's stylesheet and script, served by the service itself (no
 * CDN, no build step) under a Content-Security-Policy that allows nothing else.
 *
 * @module
 */

/** `GET /dashboard/app.css`. */
export const DASHBOARD_CSS = `
:root { color-scheme: light; --ok: #1a7f37; --limit: #b35900; --no: #c62828; --ink: #1f2328; --muted: #59636e;
  --line: #d1d9e0; font-family: system-ui, sans-serif; color: var(--ink); }
body { margin: 0 auto; max-width: 72rem; padding: 1rem; line-height: 1.4; }
header { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: baseline; justify-content: space-between; }
h1 { font-size: 1.4rem; margin: 0; } h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
a { color: #0a58ca; } :focus-visible { outline: 3px solid #0a58ca; outline-offset: 2px; }
.muted { color: var(--muted); } .error { color: var(--no); font-weight: 600; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(15rem, 1fr)); gap: 1rem; }
.card { border: 1px solid var(--line); border-radius: .5rem; padding: .75rem 1rem; }
.card dl { display: grid; grid-template-columns: auto auto; gap: .2rem 1rem; margin: .5rem 0 0; }
.card dd { margin: 0; text-align: right; font-variant-numeric: tabular-nums; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
td time { white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.approved { color: var(--ok); } .limited { color: var(--limit); } .declined { color: var(--no); }
form.filters { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; }
label { display: grid; gap: .2rem; font-size: .85rem; }
input, select, button { font: inherit; padding: .35rem .5rem; border: 1px solid var(--line); border-radius: .35rem; }
button { background: #0a58ca; color: #fff; border-color: #0a58ca; cursor: pointer; }
svg { width: 100%; height: auto; max-height: 14rem; }
.legend { display: flex; gap: 1rem; font-size: .85rem; flex-wrap: wrap; }
.swatch { display: inline-block; width: .8rem; height: .8rem; vertical-align: middle; margin-right: .3rem; }
.swatch.approved { background: var(--ok); } .swatch.limited { background: var(--limit); }
.swatch.declined { background: var(--no); } .swatch.p50 { background: #0a58ca; } .swatch.p99 { background: #8250df; }
pre { background: #f6f8fa; padding: .5rem; border-radius: .35rem; overflow-x: auto; font-size: .8rem; }
nav.pages { display: flex; gap: 1rem; margin-top: .5rem; }
main.login { max-width: 24rem; margin: 4rem auto; } main.login form { display: grid; gap: .75rem; }
@media (max-width: 40rem) { body { padding: .5rem; } th, td { padding: .3rem; } }
`;

/** `GET /dashboard/app.js`: shows each UTC time in the reader's own time zone too. */
export const DASHBOARD_JS = `
for (const time of document.querySelectorAll("time[datetime]")) {
  time.title = new Date(time.getAttribute("datetime")).toLocaleString();
}
`;
