/** The contract pages' own styles: the document's sections, the vote, the timeline, the A4 sheets. */
export const CONTRACTS_CSS = `
.doc dl.facts { grid-template-columns: minmax(0, max-content) minmax(0, 1fr); }
.doc dl.facts dd, .doc dl.facts dt { overflow-wrap: anywhere; }
@media (max-width: 560px) {
  .doc dl.facts { grid-template-columns: minmax(0, 1fr); gap: 0; }
  .doc dl.facts dd { margin-bottom: 8px; }
}
.doc-head { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; }
.doc section { margin-top: 8px; }
.doc .card h2 { margin-top: 4px; }
.state { font-weight: 700; }
.fee-table { max-width: 420px; }
.fee-table caption, .doc caption { text-align: left; font-weight: 600; padding: 4px 0; }
.vote-verdict { font-size: 1.1rem; }
.cash-flow { margin: 12px 0; }
.cash-flow figcaption { font-size: 15px; color: var(--muted); }
.legend::before { content: ""; display: inline-block; width: 14px; height: 10px; margin-right: 4px; vertical-align: middle; }
.legend.net::before { background: #1a7f37; }
.legend.cumulative::before { background: #0b5cad; height: 3px; }
ol.timeline { list-style: none; padding: 0; margin: 0; border-left: 3px solid var(--line); }
ol.timeline li { position: relative; padding: 0 0 12px 16px; }
ol.timeline li::before { content: ""; position: absolute; left: -8px; top: 8px; width: 11px; height: 11px; border-radius: 50%; background: var(--brand); border: 1px solid #fff; }
ol.timeline .when { display: block; color: var(--muted); font-size: 15px; }
ul.plain { list-style: none; padding: 0; margin: 0; }
ul.plain li { padding: 6px 0; border-bottom: 1px solid var(--line); }
.comment-body { white-space: pre-wrap; margin: 4px 0 0; }
.countdown { font-size: 1.3rem; font-weight: 700; }
textarea { min-height: 96px; }
.diff-change { white-space: pre-wrap; word-break: break-word; }
.sheet td { height: 2.2em; }
.sheet .box { display: inline-block; width: 1em; height: 1em; border: 1px solid var(--ink); vertical-align: middle; margin-right: 4px; }
@media print {
  .doc .card { break-inside: avoid; }
  .sheet { page-break-before: always; }
  th { background: #fff; }
  table, th, td { border: 1px solid #000; }
  svg.chart { max-width: 160mm; }
}
`;

/** The print view's button: the browser's print dialog (no inline handler under the CSP). */
export const CONTRACTS_PRINT_JS = `
document.addEventListener("DOMContentLoaded", function () {
  var b = document.querySelector("[data-print]");
  if (b) { b.hidden = false; b.addEventListener("click", function () { window.print(); }); }
});
`;
