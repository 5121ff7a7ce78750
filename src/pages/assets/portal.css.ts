/** The portal's one style sheet: phone-first (360 px and up), print rules for A4 sheets. */
export const PORTAL_CSS = `
:root {
  --ink: #1b1f24; --muted: #4d5660; --line: #c9d1d9; --paper: #ffffff; --wash: #f4f6f8;
  --brand: #0b5cad; --brand-ink: #ffffff; --ok: #1a7f37; --bad: #b42318; --warn: #8a5a00;
  --focus: #ffbf47; --radius: 6px;
  font-family: "Noto Sans CJK SC", "Noto Sans SC", "PingFang SC", "Microsoft YaHei", system-ui, sans-serif;
  font-size: 17px; line-height: 1.6; color: var(--ink); background: var(--wash);
}
* { box-sizing: border-box; }
body { margin: 0; }
a { color: var(--brand); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible, summary:focus-visible {
  outline: 3px solid var(--focus); outline-offset: 2px;
}
.skip { position: absolute; left: -9999px; }
.skip:focus { left: 8px; top: 8px; background: var(--paper); padding: 8px; z-index: 10; }
header.top { background: var(--brand); color: var(--brand-ink); }
header.top .bar { display: flex; flex-wrap: wrap; gap: 4px 16px; align-items: center; justify-content: space-between; padding: 8px 12px; max-width: 1100px; margin: 0 auto; }
header.top a, header.top button.link { color: var(--brand-ink); }
header.top .brand { font-weight: 700; text-decoration: none; }
header.top .who { font-size: 15px; }
nav.main { background: #e8eef5; border-bottom: 1px solid var(--line); }
nav.main ul { display: flex; flex-wrap: wrap; gap: 0 4px; list-style: none; margin: 0 auto; padding: 0 8px; max-width: 1100px; }
nav.main a { display: inline-block; padding: 10px 10px; text-decoration: none; color: var(--ink); }
nav.main a[aria-current="page"] { font-weight: 700; border-bottom: 3px solid var(--brand); }
main { max-width: 1100px; margin: 0 auto; padding: 12px; }
footer.bottom { max-width: 1100px; margin: 24px auto; padding: 12px; color: var(--muted); font-size: 15px; }
h1 { font-size: 1.5rem; line-height: 1.3; margin: 8px 0 12px; }
h2 { font-size: 1.2rem; margin: 24px 0 8px; }
h3 { font-size: 1.05rem; margin: 16px 0 6px; }
p.lead { color: var(--muted); }
.card { background: var(--paper); border: 1px solid var(--line); border-radius: var(--radius); padding: 12px; margin: 12px 0; }
.grid { display: grid; gap: 12px; grid-template-columns: repeat(auto-fit, minmax(240px, 1fr)); }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; background: var(--paper); }
th, td { text-align: left; padding: 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef2f6; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
form.stack { display: grid; gap: 12px; max-width: 480px; }
form.inline { display: inline; }
label { display: block; font-weight: 600; }
.hint { display: block; color: var(--muted); font-size: 15px; font-weight: 400; }
input, select, textarea { font: inherit; width: 100%; padding: 10px; border: 1px solid #6e7781; border-radius: var(--radius); background: var(--paper); color: var(--ink); min-height: 44px; }
input[type="checkbox"], input[type="radio"] { width: auto; min-height: 0; }
button, .button { font: inherit; display: inline-block; min-height: 44px; padding: 8px 16px; border-radius: var(--radius); border: 1px solid var(--brand); background: var(--brand); color: var(--brand-ink); cursor: pointer; text-decoration: none; }
button.secondary, .button.secondary { background: var(--paper); color: var(--brand); }
button.danger { background: var(--bad); border-color: var(--bad); }
button.link { background: none; border: none; padding: 0; min-height: 0; text-decoration: underline; color: var(--brand); }
.actions { display: flex; flex-wrap: wrap; gap: 8px; margin: 12px 0; }
.notice { border-left: 4px solid var(--brand); background: #eaf2fb; padding: 8px 12px; margin: 12px 0; }
.notice.error { border-color: var(--bad); background: #fdecea; }
.notice.ok { border-color: var(--ok); background: #e9f6ec; }
.pass { color: var(--ok); font-weight: 700; }
.fail { color: var(--bad); font-weight: 700; }
.badge { display: inline-block; padding: 0 8px; border-radius: 999px; background: #e1e6eb; font-size: 14px; }
.badge.alert { background: var(--bad); color: #fff; }
.badge.ok { background: var(--ok); color: #fff; }
.empty { color: var(--muted); font-style: italic; }
.url { overflow-wrap: anywhere; }
.secret { word-break: break-all; font-family: ui-monospace, monospace; background: #fff8e1; padding: 8px; border: 1px dashed var(--warn); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 12px; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
svg.chart { max-width: 100%; height: auto; }
@media (min-width: 720px) { :root { font-size: 16px; } main { padding: 16px 24px; } }
@media print {
  @page { size: A4; margin: 18mm 16mm; }
  :root { font-size: 11pt; background: #fff; }
  header.top, nav.main, footer.bottom, .no-print, .actions { display: none !important; }
  main { max-width: none; padding: 0; }
  .card { border: none; padding: 0; margin: 0 0 8mm; }
  table { page-break-inside: auto; } tr { page-break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
  .page-break { page-break-before: always; }
}
`;
