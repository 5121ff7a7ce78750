/** A page of a list: `limit` rows after skipping `offset`. */
export interface Window {
  limit: number;
  offset: number;
}

/**
 * Rows an export reads per query: enough that a year of incidents takes a few hundred queries,
 * few enough that one batch is a small allocation.
 */
export const EXPORT_BATCH_ROWS = 500;

/**
 * Reads one page of a list: its rows in the list's order after `after` (the last row of the
 * previous batch; undefined: from the start), at most `limit` of them after skipping `offset`.
 * The list's own filters and scope are in the query: it is built by the same function as the page.
 */
export type BatchRead<R> = (after: R | undefined, limit: number, offset: number) => Promise<R[]>;

/**
 * A list's rows in batches for an export. Without a window: every row, in batches of `size` by
 * keyset (each batch starts after the last row of the one before, in the list's order, so a row
 * inserted meanwhile neither shifts the rest nor is read twice, and batch N costs what batch 1
 * does). With a window (the `limit`/`offset` of a JSON page): that page's rows, in one batch.
 */
export async function* exportBatches<R>(
  read: BatchRead<R>,
  window?: Window,
  size = EXPORT_BATCH_ROWS,
): AsyncGenerator<R[]> {
  if (window) {
    const rows = await read(undefined, window.limit, window.offset);
    if (rows.length) yield rows;
    return;
  }
  let after: R | undefined;
  for (;;) {
    const rows = await read(after, size, 0);
    if (rows.length) yield rows;
    if (rows.length < size) return;
    after = rows[rows.length - 1];
  }
}
