/** The dashboard's one stylesheet (/assets/dashboard.css): system font, readable tables, states in colour AND text. */
export const DASHBOARD_CSS = `
:root { color-scheme: light dark; --fg: #1d2327; --muted: #5f6b73; --bg: #fbfbfa; --line: #dde1e4; --head: #f1f3f4;
  --good: #1f7a3a; --good-bg: #e3f4e8; --warn: #8a5a00; --warn-bg: #fdf1d6; --bad: #a1262d; --bad-bg: #fbe3e4; --link: #1a5fb4; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e8ea; --muted: #a3acb3; --bg: #16191c; --line: #2e3439; --head: #1f2428;
  --good: #7fd69a; --good-bg: #173222; --warn: #f0c36a; --warn-bg: #3a2d10; --bad: #f59aa0; --bad-bg: #3d1a1d; --link: #8cb8ff; } }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header.top { display: flex; gap: 1.5rem; align-items: baseline; padding: .6rem 1.5rem; border-bottom: 1px solid var(--line); }
header.top .brand { font-weight: 700; color: var(--fg); text-decoration: none; }
header.top nav a { margin-right: 1rem; }
header.top .note { margin-left: auto; color: var(--muted); font-size: .85rem; }
main { padding: 1rem 1.5rem 3rem; max-width: 1400px; }
h1 { font-size: 1.5rem; margin: .5rem 0; }
h2 { font-size: 1.1rem; margin: 1.6rem 0 .5rem; }
a { color: var(--link); }
code { font: .9em ui-monospace, SFMono-Regular, Menlo, monospace; }
.meta { color: var(--muted); font-size: .85rem; }
.calm { color: var(--muted); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
thead th { background: var(--head); font-weight: 600; font-size: .85rem; white-space: nowrap; }
th button { font: inherit; background: none; border: 0; padding: 0; color: inherit; cursor: pointer; }
th[aria-sort="ascending"] button::after { content: " ▲"; }
th[aria-sort="descending"] button::after { content: " ▼"; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:hover { background: var(--head); }
.badge { display: inline-block; padding: 0 .45rem; border-radius: .7rem; font-size: .8rem; border: 1px solid currentColor; }
.badge.good { color: var(--good); background: var(--good-bg); }
.badge.warn { color: var(--warn); background: var(--warn-bg); }
.badge.bad { color: var(--bad); background: var(--bad-bg); }
.badge.plain { color: var(--muted); }
meter.usage { width: 6rem; height: .9rem; vertical-align: middle; }
#filter { font: inherit; padding: .3rem .5rem; width: 22rem; max-width: 100%; border: 1px solid var(--line); border-radius: .3rem; background: var(--bg); color: var(--fg); }
#attention ul { list-style: none; padding: 0; margin: 0; }
#attention li { padding: .3rem 0; border-bottom: 1px solid var(--line); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
ol#history { list-style: none; padding: 0; border-left: 2px solid var(--line); margin-left: .4rem; }
ol#history li { padding: .25rem 0 .25rem 1rem; position: relative; }
ol#history li::before { content: ""; position: absolute; left: -.4rem; top: .7rem; width: .6rem; height: .6rem; border-radius: 50%; background: var(--line); }
ol#history .event { font-weight: 600; }
ol#history .actor { color: var(--muted); font-size: .85rem; }
.error-line { color: var(--bad); }
`;

/** The tab's icon (/assets/favicon.svg; also answered at /favicon.ico, which browsers ask for by themselves). */
export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect x="1" y="2" width="14" height="5" rx="1" fill="#1a5fb4"/><rect x="1" y="9" width="14" height="5" rx="1" fill="#5f6b73"/></svg>`;
