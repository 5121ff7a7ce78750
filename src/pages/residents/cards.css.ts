/**
 * Tables read as cards on a phone (household bills, links, a report's figures): under 600 px each
 * row is a card and each cell says its column (`data-label`), so nothing wraps a character a line
 * or scrolls sideways. Wider screens keep the table.
 */
export const CARDS_CSS = `
@media (max-width: 600px) {
  table.cards thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  table.cards, table.cards tbody, table.cards tr { display: block; width: 100%; background: none; }
  table.cards tr { background: var(--paper); border: 1px solid var(--line); border-radius: var(--radius); margin: 0 0 8px; padding: 4px 12px; }
  table.cards tr.flagged { border-left: 6px solid var(--bad); }
  table.cards th, table.cards td { display: flex; justify-content: space-between; gap: 12px; border: none; padding: 4px 0; background: none; text-align: right; white-space: normal; }
  table.cards th[scope="row"] { font-weight: 700; text-align: left; justify-content: flex-start; border-bottom: 1px solid var(--line); }
  table.cards td[data-label]::before { content: attr(data-label); color: var(--muted); font-weight: 400; text-align: left; }
}
`;
