/**
 * Billing benchmark (`npm run bench:billing`): --subscriptions active 包月 subscriptions (garage
 * slots, inserted set-based) on one operating contract, in a fresh PostgreSQL database; then:
 *
 * 1. one billing run of 2026-03 through the real code path: `POST /v1/contracts/{id}/billing-runs`
 *    on the app (createApp, the same handler, transaction, contract lock, set-based SQL of
 *    db/billing.ts and audit entry as over HTTP; only the socket is left out), as the
 *    enterprise, with the clock at 2026-03-05 in Shanghai: seconds and invoices/s;
 * 2. the baseline: the time PostgreSQL takes for a plain `INSERT … SELECT` of the same number of
 *    invoice rows (one per subscription, same table and indexes, numbers from row_number(), no
 *    lines), committed, then deleted (not timed); the ratio run ÷ baseline;
 * 3. the same period again: the run must create 0 rows (invoices counted before and after).
 */
import { cpus, totalmem } from "node:os";
import { sql } from "drizzle-orm";
import pino from "pino";
import { queryRows } from "../db/database.js";
import { hashKey } from "../db/keys.js";
import { createApp } from "../src/app.js";
import { createOperatingContract, createWorld } from "../test/support/factories.js";
import {
  createBenchDatabase,
  numberFlags,
  postgresFacts,
  printFigures,
  printTable,
  round,
  withCleanup,
} from "./lib.js";

const USAGE = `usage: npm run bench:billing -- [--subscriptions 100000]
Quick check: npm run bench:billing -- --subscriptions 10000`;
const flags = numberFlags(USAGE, { subscriptions: 100_000 });
const PERIOD = "2026-03";

await withCleanup(async (cleanup) => {
  const n = Math.floor(flags.subscriptions);
  const database = await createBenchDatabase("billing");
  cleanup(() => database.drop());
  const { db } = database;
  const facts = await postgresFacts(database);
  const log = (text: string) => process.stderr.write(`[bench:billing] ${text}\n`);

  const world = await createWorld(db);
  const { contract } = await createOperatingContract(db, world, {
    operationStart: "2026-01-01",
    termMonths: 120,
    facility: "garage",
  });
  const t0 = performance.now();
  await db.execute(
    sql`insert into subscriptions (contract_id, street_id, community_id, enterprise_org_id, subscriber_key, slot_ref,
          fee_code, kind, unit_price, price_version_no, start_date, state)
        select ${contract.id}, ${contract.streetId}, ${contract.communityId}, ${contract.enterpriseOrgId},
          'slot:B-' || lpad(g::text, 6, '0'), 'B-' || lpad(g::text, 6, '0'), 'GA-M', 'monthly', 25.00, 1,
          date '2026-01-01' + (g % 59), 'active'
        from generate_series(1, ${n}) g`,
  );
  await db.execute(sql`analyze`);
  log(`${n} active subscriptions inserted in ${round((performance.now() - t0) / 1000, 1)} s`);

  const app = createApp({
    db,
    logger: pino({ level: "silent" }),
    clock: () => new Date("2026-03-05T02:00:00Z"),
    adminTokenHash: hashKey("bench-admin-token-not-used-0123456789"),
  });
  const run = async () => {
    const started = performance.now();
    const res = await app.request(`/v1/contracts/${contract.id}/billing-runs`, {
      method: "POST",
      headers: { authorization: `Bearer ${world.enterprise.key}`, "content-type": "application/json" },
      body: JSON.stringify({ period: PERIOD }),
    });
    const seconds = (performance.now() - started) / 1000;
    const body = (await res.json()) as { created?: number };
    if (res.status !== 201 && res.status !== 200)
      throw new Error(`billing run answered ${res.status}: ${JSON.stringify(body)}`);
    return { seconds, status: res.status, created: body.created ?? -1 };
  };
  const invoiceCount = async () => {
    const [row] = await queryRows<{ n: number }>(
      db,
      sql`select count(*)::int as n from invoices where contract_id = ${contract.id}`,
    );
    return row?.n ?? 0;
  };

  log(`billing run of ${PERIOD}`);
  const first = await run();
  const afterFirst = await invoiceCount();
  if (first.created !== n || afterFirst !== n)
    throw new Error(`the run created ${first.created} invoices (${afterFirst} counted), expected ${n}`);

  log("baseline: plain INSERT … SELECT of the same number of invoice rows");
  const b0 = performance.now();
  await db.execute(
    sql`insert into invoices (number, enterprise_org_id, contract_id, street_id, community_id, subscriber_key,
          subscription_id, kind, period, issue_date, due_date, total)
        select 'PLAIN-' || row_number() over (), s.enterprise_org_id, s.contract_id, s.street_id, s.community_id,
          s.subscriber_key, s.id, 'subscription', '2099-01', date '2026-03-05', date '2026-03-20', s.unit_price
        from subscriptions s where s.contract_id = ${contract.id}`,
  );
  const baseline = (performance.now() - b0) / 1000;
  await db.execute(sql`delete from invoices where contract_id = ${contract.id} and period = '2099-01'`);

  log(`the same period again`);
  const second = await run();
  const afterSecond = await invoiceCount();
  const createdAgain = afterSecond - afterFirst;

  const ratio = first.seconds / baseline;
  const ok = (b: boolean) => (b ? "reached" : "MISSED");
  console.log(
    `\nBilling benchmark: ${n} active subscriptions on one contract, ${cpus().length} CPUs, ${round(totalmem() / 2 ** 30, 1)} GiB, ${facts}\n`,
  );
  printTable(
    ["figure", "value", "goal", ""],
    [
      [
        `billing run ${PERIOD} (POST …/billing-runs → ${first.status}): seconds`,
        round(first.seconds, 2),
        "≤ 5",
        ok(first.seconds <= 5),
      ],
      [
        "  invoices created (each with its line) / invoices per second",
        `${first.created} / ${round(n / first.seconds, 0)}`,
        "",
        "",
      ],
      ["plain INSERT … SELECT of as many invoice rows: seconds", round(baseline, 2), "", ""],
      ["run ÷ plain INSERT … SELECT", round(ratio, 2), "≤ 3", ok(ratio <= 3)],
      [
        `same period again (→ ${second.status}): seconds / rows created`,
        `${round(second.seconds, 2)} / ${createdAgain}`,
        "0 rows",
        ok(createdAgain === 0 && second.created === 0),
      ],
    ],
  );
  printFigures({
    billing_s: round(first.seconds, 2),
    invoices_per_s: round(n / first.seconds, 0),
    plain_insert_s: round(baseline, 2),
    billing_ratio: round(ratio, 2),
    rerun_created: createdAgain,
  });
  if (createdAgain !== 0) process.exitCode = 1;
});
