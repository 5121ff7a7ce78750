/**
 * CSV export (docs/api.md, "CSV export"): the lists people put in spreadsheets answer text/csv when
 * asked — UTF-8 with a BOM, CRLF, RFC 4180 quoting, formula cells defused — with exactly the rows
 * the JSON lists on all its pages for the same filters and caller, never another organization's.
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { deadLetters, incidents } from "../../db/schema.js";
import { csvCell } from "../../src/csv.js";
import { EXPORT_BATCH_ROWS } from "../../src/services/batches.js";
import { createIotWorld, createSensor } from "../iot/support.js";
import { client, createTestApp, type TestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import { createBilledHousehold, createInvoice, type World } from "../support/factories.js";

const NOW = new Date("2026-12-15T04:00:00Z");
const CSV = { accept: "text/csv" };
const INJECTION = '=HYPERLINK("http://evil.example","点这里")';
const AWKWARD = '张三,李四 说"好的"\n第二行';

let database: DatabaseHandle;
let app: TestApp;

beforeAll(async () => {
  database = await openTestDatabase();
  app = createTestApp(database.db, { now: () => NOW });
});
afterAll(() => database.close());

/** RFC 4180, strictly: CRLF between records, quoted fields with doubled quotes. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let i = 0;
  for (;;) {
    let cell = "";
    if (text[i] === '"') {
      i++;
      for (;;) {
        const end = text.indexOf('"', i);
        if (end < 0) throw new Error("unterminated quoted cell");
        cell += text.slice(i, end);
        i = end + 1;
        if (text[i] !== '"') break;
        cell += '"';
        i++;
      }
    } else {
      const match = /[,\r\n]|$/.exec(text.slice(i));
      const end = i + (match?.index ?? 0);
      cell = text.slice(i, end);
      if (cell.includes('"')) throw new Error(`bare quote in ${cell}`);
      i = end;
    }
    record.push(cell);
    if (text[i] === ",") {
      i++;
      continue;
    }
    if (text.startsWith("\r\n", i)) {
      records.push(record);
      record = [];
      i += 2;
      if (i === text.length) return records;
      continue;
    }
    throw new Error(`a record must end with CRLF (at ${i}: ${JSON.stringify(text.slice(i, i + 10))})`);
  }
}

interface Exported {
  status: number;
  headers: Headers;
  header: string[];
  rows: Record<string, string>[];
}

/** GETs `path` as CSV: checks the BOM and UTF-8, and returns the records by column name. */
async function getCsv(path: string, key: string, accept = "text/csv"): Promise<Exported> {
  const res = await app.request(path, { headers: { authorization: `Bearer ${key}`, accept } });
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${new TextDecoder().decode(bytes)}`);
  expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8; header=present");
  expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
  const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  const [header = [], ...records] = parseCsv(text.slice(1));
  return {
    status: res.status,
    headers: res.headers,
    header,
    rows: records.map((r) => Object.fromEntries(header.map((name, i) => [name, r[i] ?? ""]))),
  };
}

/** Every item of a JSON list, page by page (limit 2), with the same filters. */
async function allPages(path: string, key: string): Promise<Record<string, unknown>[]> {
  const api = client(app, key);
  const items: Record<string, unknown>[] = [];
  for (let offset = 0; ; offset += 2) {
    const res = await api.get(`${path}${path.includes("?") ? "&" : "?"}limit=2&offset=${offset}`);
    expect(res.status).toBe(200);
    items.push(...res.body.items);
    if (res.body.items.length < 2) return items;
  }
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * The CSV row a JSON item must be: each scalar field under its own name; times the same instant
 * written in Shanghai time; formula-like text with a leading '; a list (an incident's releases) left out.
 */
function expectSameRows(csv: Exported, items: Record<string, unknown>[]) {
  const scalar = (item: Record<string, unknown>) => Object.keys(item).filter((k) => !Array.isArray(item[k]));
  if (items[0]) expect(csv.header).toEqual(scalar(items[0]));
  expect(csv.rows.length).toBe(items.length);
  items.forEach((item, n) => {
    const row = csv.rows[n] ?? {};
    for (const name of scalar(item)) {
      const value = item[name];
      const cell = row[name];
      if (value === null) expect(cell, name).toBe("");
      else if (typeof value === "string" && ISO_UTC.test(value)) {
        expect(cell, name).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+08:00$/);
        expect(new Date(cell ?? "").getTime(), name).toBe(new Date(value).getTime());
      } else if (typeof value === "string" && /^[=+\-@\t\r]/.test(value))
        expect(cell, name).toBe(`'${value}`);
      else expect(cell, name).toBe(String(value));
    }
  });
}

describe("a cell", () => {
  it("is quoted (RFC 4180) when it holds a comma, a quote or a line break", () => {
    expect(csvCell("a,b")).toBe('"a,b"');
    expect(csvCell('说"好"')).toBe('"说""好"""');
    expect(csvCell("一\r\n二")).toBe('"一\r\n二"');
    expect(csvCell("国伟新苑 12号楼")).toBe("国伟新苑 12号楼");
    expect(csvCell(null)).toBe("");
    expect(csvCell(false)).toBe("false");
  });

  it("that a spreadsheet would run as a formula starts with ' (OWASP)", () => {
    expect(csvCell(INJECTION)).toBe(`"'=HYPERLINK(""http://evil.example"",""点这里"")"`);
    for (const lead of ["=", "+", "-", "@", "\t", "\r"])
      expect(csvCell(`${lead}1+1`).includes(`'${lead}1+1`)).toBe(true);
    // A number the JSON sends as a number stays one.
    expect(csvCell(-5)).toBe("-5");
  });
});

describe("invoices, payments and receivables as CSV", () => {
  let mine: Awaited<ReturnType<typeof createBilledHousehold>>;
  let theirs: Awaited<ReturnType<typeof createBilledHousehold>>;

  beforeAll(async () => {
    mine = await createBilledHousehold(database.db);
    theirs = await createBilledHousehold(database.db);
    const subscribers = mine.world.households.slice(0, 5).map((h) => `household:${h.id}`);
    for (const [n, subscriberKey] of subscribers.entries()) {
      await createInvoice(database.db, mine.contract, {
        subscriberKey,
        total: `${40 + n}.50`,
        period: n % 2 ? "2026-03" : "2026-04",
        issueDate: n % 2 ? "2026-03-01" : "2026-04-01",
      });
    }
    await createInvoice(database.db, theirs.contract, {
      subscriberKey: "slot:G1-001",
      total: "9.99",
      period: "2026-03",
      issueDate: "2026-03-01",
    });
    const pay = client(app, mine.world.enterprise.key);
    for (const [amount, externalRef] of [
      ["30.00", INJECTION],
      ["20.00", AWKWARD],
      ["60.00", "-WX-42 微信支付"],
    ] as const) {
      const res = await pay.post(`/v1/invoices/${mine.invoice.id}/payments`, {
        amount,
        method: "wechat",
        externalRef,
        receivedOn: "2026-12-01",
      });
      expect(res.status).toBe(201);
    }
  });

  it("lists the same invoices as every JSON page, for the same filters, and names the file by period", async () => {
    const key = mine.world.ownersCommittee.key;
    for (const query of ["", "?period=2026-03", "?state=paid", "?state=overdue&period=2026-04"]) {
      const path = `/v1/contracts/${mine.contract.id}/invoices${query}`;
      const csv = await getCsv(path, key);
      expectSameRows(csv, await allPages(path, key));
    }
    const march = await getCsv(`/v1/contracts/${mine.contract.id}/invoices?period=2026-03`, key);
    expect(march.rows.map((r) => r.period)).toEqual(["2026-03", "2026-03", "2026-03"]);
    expect(march.headers.get("content-disposition")).toBe('attachment; filename="invoices-2026-03.csv"');
    expect(march.rows.every((r) => r.contractId === mine.contract.id)).toBe(true);
  });

  it("gives limit and offset, when sent, the JSON's meaning: that one page", async () => {
    const key = mine.world.enterprise.key;
    const path = `/v1/contracts/${mine.contract.id}/invoices?limit=2&offset=1`;
    const json = await client(app, key).get(path);
    expectSameRows(await getCsv(path, key), json.body.items);
  });

  it("never answers another organization's invoices: their contract is a 404 problem, not a CSV", async () => {
    const res = await app.request(`/v1/contracts/${theirs.contract.id}/invoices`, {
      headers: { authorization: `Bearer ${mine.world.enterprise.key}`, ...CSV },
    });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
  });

  it("lists an invoice's payments as the JSON does, Chinese text as stored, formulas defused, quoted", async () => {
    const key = mine.world.enterprise.key;
    const path = `/v1/invoices/${mine.invoice.id}/payments`;
    const csv = await getCsv(path, key);
    const json = await client(app, key).get(path);
    expectSameRows(csv, json.body.items);
    expect(csv.rows.map((r) => r.externalRef)).toEqual([`'${INJECTION}`, AWKWARD, "'-WX-42 微信支付"]);
    expect(csv.rows.map((r) => r.creditAmount)).toEqual(["0.00", "0.00", "10.00"]);
    expect(csv.headers.get("content-disposition")).toBe(
      `attachment; filename="payments-${mine.invoice.number}.csv"`,
    );
    const theirsRes = await app.request(`/v1/invoices/${theirs.invoice.id}/payments`, {
      headers: { authorization: `Bearer ${key}`, ...CSV },
    });
    expect(theirsRes.status).toBe(404);
  });

  it("lists the invoices behind the receivables: they sum to the JSON's totals and aging", async () => {
    const key = mine.world.streetOffice.key;
    for (const asOf of ["2026-03-31", "2026-12-15"]) {
      const path = `/v1/contracts/${mine.contract.id}/receivables?asOf=${asOf}`;
      const json = (await client(app, key).get(path)).body;
      const csv = await getCsv(path, key);
      expect(csv.header).toEqual([
        "invoiceId",
        "number",
        "subscriberKey",
        "householdId",
        "issueDate",
        "dueDate",
        "total",
        "creditApplied",
        "collected",
        "outstanding",
        "daysPastDue",
        "agingBucket",
      ]);
      expect(csv.headers.get("content-disposition")).toBe(`attachment; filename="receivables-${asOf}.csv"`);
      expect(csv.rows.length).toBe(json.invoiceCount);
      const sum = (pick: (r: Record<string, string>) => boolean, column: string) =>
        csv.rows
          .filter(pick)
          .reduce((cents, r) => cents + Math.round(Number(r[column]) * 100), 0)
          .toFixed(0);
      const cents = (s: string) => Math.round(Number(s) * 100).toFixed(0);
      expect(sum(() => true, "total")).toBe(cents(json.totals.invoiced));
      expect(sum(() => true, "collected")).toBe(cents(json.totals.collected));
      expect(sum(() => true, "outstanding")).toBe(cents(json.totals.outstanding));
      for (const [bucket, amount] of Object.entries(json.aging as Record<string, string>)) {
        expect(
          sum((r) => r.agingBucket === bucket, "outstanding"),
          bucket,
        ).toBe(cents(amount));
      }
      expect(csv.rows.filter((r) => Number(r.outstanding) > 0).length).toBe(json.openInvoiceCount);
      expect(csv.rows.every((r) => /^\d+\.\d{2}$/.test(r.outstanding ?? ""))).toBe(true);
    }
  });
});

describe("incidents and dead letters as CSV", () => {
  let mine: World;
  let theirs: World;
  let mySensor: string;
  let theirSensor: string;

  beforeAll(async () => {
    mine = await createIotWorld(database.db);
    theirs = await createIotWorld(database.db);
    mySensor = (await createSensor(database.db, mine)).id;
    theirSensor = (await createSensor(database.db, theirs)).id;
    const incident = (
      world: World,
      sensorId: string,
      i: number,
      extra: Partial<typeof incidents.$inferInsert>,
    ) => ({
      kind: "ebike" as const,
      sensorId,
      facilityId: world.elevator.id,
      communityId: world.community.id,
      streetId: world.street.id,
      openedAt: new Date(Date.UTC(2026, 10, 1, 0, i)),
      closedAt: new Date(Date.UTC(2026, 10, 1, 0, i, 30)),
      haltSeconds: 30,
      detections: 1,
      ...extra,
    });
    await database.db.insert(incidents).values([
      incident(mine, mySensor, 1, { note: "电动车进入电梯，已劝离" }),
      incident(mine, mySensor, 2, {
        acknowledgedAt: NOW,
        acknowledgedByName: INJECTION,
        classification: "confirmed",
        note: AWKWARD,
      }),
      incident(mine, mySensor, 3, { kind: "sensor_offline", detections: 0 }),
      incident(mine, mySensor, 4, { note: "+86 138 0000 0000 报告" }),
      incident(theirs, theirSensor, 5, { note: "别家的" }),
    ]);
    await database.db.insert(deadLetters).values([
      {
        topic: `bot/v1/sensors/${mySensor}/events`,
        sensorId: mySensor,
        payload: '{"说明":"电量低"}',
        payloadBytes: 20,
        reason: "schema_violation: 缺少 type",
        receivedAt: NOW,
      },
      {
        topic: `bot/v1/sensors/${mySensor}/events`,
        sensorId: mySensor,
        payload: INJECTION,
        payloadBytes: 40,
        reason: "not_json",
        receivedAt: NOW,
      },
      {
        topic: `bot/v1/sensors/${mySensor}/events`,
        sensorId: mySensor,
        payload: AWKWARD,
        payloadBytes: 30,
        reason: "not_json",
        receivedAt: NOW,
      },
      {
        topic: `bot/v1/sensors/${theirSensor}/events`,
        sensorId: theirSensor,
        payload: "别家的",
        payloadBytes: 9,
        reason: "not_json",
        receivedAt: NOW,
      },
    ]);
  });

  it("lists the same incidents as every JSON page, in Shanghai time, and none of another organization", async () => {
    for (const key of [mine.propertyCompany.key, mine.enterprise.key, mine.streetOffice.key]) {
      for (const query of ["", "?kind=ebike", "?acknowledged=false", "?from=2026-11-01T08:02:00%2B08:00"]) {
        const path = `/v1/incidents${query}`;
        const csv = await getCsv(path, key);
        expectSameRows(csv, await allPages(path, key));
        expect(csv.rows.some((r) => r.note === "别家的" || r.sensorId === theirSensor)).toBe(false);
      }
    }
    const csv = await getCsv("/v1/incidents", mine.propertyCompany.key);
    expect(csv.rows.map((r) => r.note)).toEqual([
      "'+86 138 0000 0000 报告",
      "",
      AWKWARD,
      "电动车进入电梯，已劝离",
    ]);
    expect(csv.rows[2]?.acknowledgedByName).toBe(`'${INJECTION}`);
    expect(csv.rows[3]?.openedAt).toBe("2026-11-01T08:01:00.000+08:00");
    expect(csv.header).not.toContain("releases");
    expect(csv.headers.get("content-disposition")).toBe('attachment; filename="incidents-2026-12-15.csv"');
  });

  it("lists the same dead letters as every JSON page, and none of another organization", async () => {
    const key = mine.enterprise.key;
    for (const query of ["", "?reason=not_json", `?sensorId=${mySensor}`]) {
      const path = `/v1/dead-letters${query}`;
      const csv = await getCsv(path, key);
      expectSameRows(csv, await allPages(path, key));
    }
    const csv = await getCsv("/v1/dead-letters", key);
    expect(csv.rows.map((r) => r.payload)).toEqual([AWKWARD, `'${INJECTION}`, '{"说明":"电量低"}']);
    expect(csv.rows.map((r) => r.sensorId)).toEqual([mySensor, mySensor, mySensor]);
    expect(csv.rows[2]?.reason).toBe("schema_violation: 缺少 type");
  });

  it("answers by the Accept header: CSV when preferred, JSON otherwise, 406 for neither", async () => {
    const key = mine.propertyCompany.key;
    const as = (accept: string) =>
      app.request("/v1/incidents", { headers: { authorization: `Bearer ${key}`, accept } });
    for (const accept of ["text/csv", "text/*", "application/json;q=0.5, text/csv", "text/csv, */*;q=0.1"]) {
      const res = await as(accept);
      expect(res.headers.get("content-type"), accept).toMatch(/^text\/csv/);
      await res.body?.cancel();
    }
    for (const accept of [
      "application/json",
      "*/*",
      "text/csv;q=0.5, application/json",
      "text/html, */*;q=0.8",
    ]) {
      const res = await as(accept);
      expect(res.headers.get("content-type"), accept).toMatch(/^application\/json/);
    }
    for (const accept of ["application/xml", "text/html", "text/csv;q=0, application/json;q=0"]) {
      const res = await as(accept);
      expect(res.status, accept).toBe(406);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
      expect(((await res.json()) as { code: string }).code).toBe("not_acceptable");
    }
    const res = await as("text/csv");
    expect(res.headers.get("vary")).toContain("Accept");
  });

  it(`streams an export of more rows than a batch (${EXPORT_BATCH_ROWS}), each once, in the list's order`, async () => {
    const world = await createIotWorld(database.db);
    const sensorId = (await createSensor(database.db, world)).id;
    const n = EXPORT_BATCH_ROWS * 2 + 37;
    // Several incidents share an instant, and instants differ by a microsecond (finer than a JS
    // Date): a batch boundary falls inside ties and between near-equal instants.
    await database.db.execute(sql`
      insert into incidents (kind, sensor_id, facility_id, community_id, street_id, opened_at, closed_at, halt_seconds)
      select 'ebike', ${sensorId}, ${world.elevator.id}, ${world.community.id}, ${world.street.id},
             '2026-10-01T00:00:00Z'::timestamptz + (g % 300) * interval '1 microsecond',
             '2026-10-01T00:01:00Z'::timestamptz, 60
        from generate_series(1, ${n}) g`);
    const res = await app.request("/v1/incidents", {
      headers: { authorization: `Bearer ${world.propertyCompany.key}`, ...CSV },
    });
    // The body comes in several chunks: the batches, read as the client reads.
    const reader = res.body?.getReader();
    if (!reader) throw new Error("no body");
    let chunks = 0;
    let text = "";
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks++;
      text += decoder.decode(value, { stream: true });
    }
    expect(chunks).toBeGreaterThan(2);
    const ids = parseCsv(text.slice(1))
      .slice(1)
      .map((r) => r[0]);
    expect(ids.length).toBe(n);
    expect(new Set(ids).size).toBe(n);
    const ordered = await database.db
      .select({ id: incidents.id })
      .from(incidents)
      .where(sql`${incidents.communityId} = ${world.community.id}`)
      .orderBy(sql`opened_at desc, id desc`);
    expect(ids).toEqual(ordered.map((r) => r.id));
  });
});
