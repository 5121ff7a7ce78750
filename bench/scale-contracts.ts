/**
 * The demo's contracts cloned set-based, contract by contract with all their child rows, in the
 * demo street, until there are `target` contracts (bench:api's 10,000, bench:growth's street).
 */
import { sql } from "drizzle-orm";
import { queryRows } from "../db/database.js";
import type { BenchDatabase } from "./lib.js";

/** Tables that hang off a contract (and fee_items off a version), cloned with it. */
const CONTRACT_CHILDREN = [
  "contract_facilities",
  "contract_signatures",
  "contract_milestones",
  "handback_checks",
  "contract_votes",
  "contract_comments",
];

async function columnsOf(database: BenchDatabase, table: string): Promise<string[]> {
  const rows = await queryRows<{ c: string }>(
    database.db,
    sql`select column_name as c from information_schema.columns
        where table_schema = 'public' and table_name = ${table} order by ordinal_position`,
  );
  return rows.map((r) => r.c);
}

/** `insert into t (cols) select <cols, some replaced> from t join <map> …`: one statement per table. */
async function cloneTable(
  database: BenchDatabase,
  table: string,
  replace: Record<string, string>,
  from: string,
): Promise<void> {
  const cols = await columnsOf(database, table);
  const list = cols.map((c) => `"${c}"`).join(", ");
  const exprs = cols.map((c) => replace[c] ?? `t."${c}"`).join(", ");
  await database.db.execute(sql.raw(`insert into ${table} (${list}) select ${exprs} from ${from}`));
}

/** Clones the demo's contracts (with their child rows) until there are `target` contracts. */
export async function scaleContracts(database: BenchDatabase, target: number): Promise<void> {
  const [row] = await queryRows<{ n: number }>(database.db, sql`select count(*)::int as n from contracts`);
  const have = row?.n ?? 0;
  if (have === 0 || have >= target) return;
  const copies = Math.ceil((target - have) / have);
  await database.db.transaction(async (tx) => {
    await tx.execute(
      sql.raw(`create temp table clone_map on commit drop as
      select src, dst from (
        select t.id as src, gen_random_uuid() as dst, row_number() over (order by g, t.id) as k
        from contracts t cross join generate_series(1, ${copies}) g) x
      where k <= ${target - have}`),
    );
    await tx.execute(
      sql.raw(`create temp table version_map on commit drop as
      select v.id as src, gen_random_uuid() as dst, m.dst as contract_id
      from contract_versions v join clone_map m on m.src = v.contract_id`),
    );
    const db = { ...database, db: tx as unknown as BenchDatabase["db"] };
    await cloneTable(
      db,
      "contracts",
      {
        id: "m.dst",
        title: "t.title || ' #' || left(m.dst::text, 8)",
        updated_at: "t.updated_at - random() * interval '365 days'",
      },
      "contracts t join clone_map m on m.src = t.id",
    );
    await cloneTable(
      db,
      "contract_versions",
      { id: "vm.dst", contract_id: "vm.contract_id" },
      "contract_versions t join version_map vm on vm.src = t.id",
    );
    await cloneTable(
      db,
      "fee_items",
      { id: "gen_random_uuid()", version_id: "vm.dst" },
      "fee_items t join version_map vm on vm.src = t.version_id",
    );
    for (const table of CONTRACT_CHILDREN) {
      const cols = await columnsOf(db, table);
      await cloneTable(
        db,
        table,
        { ...(cols.includes("id") ? { id: "gen_random_uuid()" } : {}), contract_id: "m.dst" },
        `${table} t join clone_map m on m.src = t.contract_id`,
      );
    }
  });
  // The state autovacuum leaves a table of this size in, not a bulk load's: without the visibility
  // map the list's count(*) cannot use its index-only scan (seq scan 2.8 ms → 0.6 ms, EXPLAIN ANALYZE).
  await database.db.execute(sql`vacuum analyze`);
}
