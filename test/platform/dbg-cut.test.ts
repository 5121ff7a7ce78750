import { sql } from "drizzle-orm";
import { openDatabase } from "../../db/client.js";
import { expect, it } from "vitest";
import { client, createTestApp, TEST_ADMIN_TOKEN } from "../support/app.js";
import { openDatabaseBehindProxy } from "../support/database-behind-proxy.js";
import { createWorld } from "../support/factories.js";

it("cuts", async () => {
  const outage = await openDatabaseBehindProxy();
  const world = await createWorld(outage.direct);
  const via = new URL(process.env.DATABASE_URL ?? "");
  via.hostname = "127.0.0.1";
  via.port = String(outage.proxy.port);
  const h = await openDatabase({ url: via.href, max: 2, statementTimeoutMs: Number(process.env.STMT ?? 30000) });
  const app = createTestApp(h.db);
  const admin = client(app, TEST_ADMIN_TOKEN);
  for (let i = 0; i < 40; i++) {
    const p = admin.get(`/v1/streets/${world.street.id}`);
    await new Promise((r) => setTimeout(r, i));
    await outage.proxy.refuse();
    console.log("DBG cut", i);
    const a = await p;
    console.log("DBG first done", i, a.status);
    await outage.proxy.restore();
    const t0 = Date.now();
    console.log("DBG retry start", i, outage.proxy.accepted);
    const tm = setTimeout(async () => {
      const rows = await outage.direct.execute(sql`select pid,state,backend_start,left(query,60) q from pg_stat_activity where datname=current_database()`);
      console.log("DBG hang", i, outage.proxy.accepted, JSON.stringify(rows));
    }, 3000);
    let b = await admin.get(`/v1/streets/${world.street.id}`);
    const statuses = [b.status];
    while (b.status === 503) { if (statuses.length % 50 === 0) console.log("DBG loop", statuses.length, Date.now() - t0, JSON.stringify(b.body).slice(0, 200)); b = await admin.get(`/v1/streets/${world.street.id}`); statuses.push(b.status); }
    clearTimeout(tm);
    console.log("DBG", i, a.status, statuses.join(","), Date.now() - t0);
  }
  await outage.close();
}, 120_000);
