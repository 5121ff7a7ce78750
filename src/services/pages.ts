/**
 * Pages of a list, done in SQL: the rows of one page (LIMIT/OFFSET over an order that ends on a
 * unique column, so consecutive pages never overlap or skip a row) and how many rows the whole
 * list has for the caller's scope and filters. The HTTP envelope around them is `pageJson`
 * (src/openapi.ts); docs/api.md, "Pages", says what a client relies on.
 */
import type { PgSelect } from "drizzle-orm/pg-core";

export interface PageRequest {
  limit: number;
  offset: number;
}

/** One page of a list and how many rows the whole list has. */
export interface Page<T> {
  items: T[];
  total: number;
}

/**
 * Runs `query` (a `$dynamic()` select whose ORDER BY ends on a unique column) for one page, and
 * `count` for the total, side by side. Without a page every row is read (the portal's contract
 * page shows a contract's whole history) and the total is their number.
 */
export async function pageOf<Q extends PgSelect>(
  query: Q,
  count: () => Promise<number>,
  page: PageRequest | undefined,
): Promise<Page<Awaited<Q>[number]>> {
  if (!page) {
    const items: Awaited<Q>[number][] = await query;
    return { items, total: items.length };
  }
  const [items, total] = await Promise.all([query.limit(page.limit).offset(page.offset), count()]);
  return { items: items as Awaited<Q>[number][], total };
}
