/**
 * The street office's dashboard page (GET /dashboard): what a street officer reads equals what
 * the application layer computes — the API's street dashboard, incident statistics and the
 * contracts' receivables — in words and units; another street's office sees only its own street;
 * the other roles get the 403 page.
 */
import { Decimal } from "decimal.js";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addDays, addMonths } from "../../contracts/dates.js";
import type { DatabaseHandle } from "../../db/client.js";
import { facilities } from "../../db/schema.js";
import { createSensor, event } from "../iot/support.js";
import { client, createTestApp, type TestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import {
  createCommunity,
  createContractRecord,
  createFacility,
  createInvoice,
  createLedgerContract,
  createOperatingContract,
  createPerson,
  createSubscription,
  createWorld,
  type World,
} from "../support/factories.js";
import { portalClient, textOf } from "../support/portal.js";

/** The suite's clock: 5 December 2026, noon in Shanghai. */
const NOW = new Date("2026-12-05T12:00:00+08:00");
const TODAY = "2026-12-05";

let database: DatabaseHandle;
let app: TestApp;

beforeAll(async () => {
  database = await openTestDatabase();
  app = createTestApp(database.db, { now: () => NOW });
});
afterAll(async () => database?.close());

/** The rows of the table marked `data-testid`, each as its cells' text. */
function rowsOf(html: string, testId: string): string[][] {
  const table = new RegExp(`<table data-testid="${testId}">([\\s\\S]*?)</table>`).exec(html)?.[1] ?? "";
  const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(table)?.[1] ?? "";
  return [...body.matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/g)].map((row) =>
    [...(row[1] ?? "").matchAll(/<t[hd][^>]*>([\s\S]*?)<\/t[hd]>/g)].map((cell) => textOf(cell[1] ?? "")),
  );
}

/** The data table of the chart (figure) with this id. */
function chartRows(html: string, id: string): string[][] {
  const figure = new RegExp(`<figure class="chart" id="${id}">([\\s\\S]*?)</figure>`).exec(html)?.[1] ?? "";
  const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(figure)?.[1] ?? "";
  return [...body.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((row) =>
    [...(row[1] ?? "").matchAll(/<t[hd][^>]*>([\s\S]*?)<\/t[hd]>/g)].map((cell) => textOf(cell[1] ?? "")),
  );
}

async function officeOf(world: World) {
  const person = await createPerson(database.db, world.streetOffice.org.id, { name: "街道刘科长" });
  const browser = portalClient(app);
  await browser.signIn(person.login, person.password);
  return browser;
}

/**
 * A street with facilities, contracts in several states, transfers coming, residents' invoices in
 * two communities (part paid, part overdue) and two e-bike halts in the last weeks.
 */
async function busyStreet() {
  const db = database.db;
  const world = await createWorld(db);
  // Garages: two large ones retrofitted, a mini one planned.
  for (const size of ["large", "large", "mini"] as const) {
    const garage = await createFacility(db, {
      kind: "garage",
      streetId: world.street.id,
      communityId: world.community.id,
      garageSize: size,
    });
    if (size === "large") {
      await db.update(facilities).set({ status: "operating" }).where(eq(facilities.id, garage.id));
    }
  }
  // Two operating elevator contracts: one hands over in 30 days, one in 200 days.
  const soon = await createOperatingContract(db, world, {
    operationStart: addMonths(addDays(TODAY, 30), -60),
    termMonths: 60,
  });
  const later = await createOperatingContract(db, world, {
    operationStart: addMonths(addDays(TODAY, 200), -72),
    termMonths: 72,
  });
  await createContractRecord(db, {
    streetId: world.street.id,
    communityId: world.community.id,
    enterpriseOrgId: world.enterprise.org.id,
    ownersCommitteeOrgId: world.ownersCommittee.org.id,
    propertyCompanyOrgId: world.propertyCompany.org.id,
    state: "submitted",
  });

  // Fees of the world's community: 70.00 due 16 Oct (30.00 paid), 70.00 due 16 Dec (not yet due).
  const ledger = await createLedgerContract(db, world);
  const home = world.households[4];
  if (!home) throw new Error("no household");
  const sub = await createSubscription(db, ledger, { householdId: home.id, unitPrice: "70.00" });
  const october = await createInvoice(db, ledger, {
    subscriberKey: sub.subscriberKey,
    subscriptionId: sub.id,
    total: "70.00",
    period: "2026-10",
    issueDate: "2026-10-01",
  });
  await createInvoice(db, ledger, {
    subscriberKey: sub.subscriberKey,
    subscriptionId: sub.id,
    total: "70.00",
    period: "2026-12",
    issueDate: "2026-12-01",
  });
  const paid = await client(app, world.enterprise.key).post(`/v1/invoices/${october.id}/payments`, {
    amount: "30.00",
    method: "wechat",
    externalRef: `WX-${october.id}`,
    receivedOn: "2026-10-10",
  });
  expect(paid.status, JSON.stringify(paid.body)).toBe(201);

  // A second community of the street: a garage slot's usage invoice of 25.50, never paid.
  const second = await createCommunity(db, world.street.id);
  const secondContract = await createContractRecord(db, {
    streetId: world.street.id,
    communityId: second.id,
    enterpriseOrgId: world.enterprise.org.id,
    ownersCommitteeOrgId: world.ownersCommittee.org.id,
    propertyCompanyOrgId: world.propertyCompany.org.id,
    state: "operating",
  });
  await createInvoice(db, secondContract, {
    subscriberKey: "slot:G-017",
    total: "25.50",
    period: "2026-09",
    issueDate: "2026-09-01",
  });

  // E-bikes: a sensor on one operating elevator; a 5-minute halt on 3 Dec, a 2-minute one on 20 Nov.
  const sensor = await createSensor(db, world, soon.facility.id);
  const shanghai = (time: string) => Date.parse(`${time}:00+08:00`);
  for (const [start, minutes] of [
    ["2026-12-03T10:00", 5],
    ["2026-11-20T09:00", 2],
  ] as const) {
    const sent = await client(app, sensor.key).post(`/v1/sensors/${sensor.id}/events`, [
      event("ebike_detected", 0, {}, shanghai(start)),
      event("ebike_cleared", minutes * 60, {}, shanghai(start)),
    ]);
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
  }
  return { world, soon, later, second };
}

describe("the street office's dashboard", () => {
  it("shows the figures the application layer computes, in words and units", async () => {
    const { world, soon, later, second } = await busyStreet();
    const office = await officeOf(world);
    const page = await office.get("/dashboard");
    expect(page.status).toBe(200);
    const text = textOf(page.html);
    const api = await client(app, world.streetOffice.key).get(`/v1/streets/${world.street.id}/dashboard`);
    expect(api.status).toBe(200);
    const d = api.body;

    expect(text).toContain(`街道概览：${world.street.name}`);
    expect(text).toContain("数据截至 2026年12月5日");
    // Progress against the targets.
    const g = d.facilities.garages;
    expect([g.retrofitted, g.total, g.target]).toEqual([2, 3, 153]);
    expect(text).toContain(
      `已改造 ${g.retrofitted} 个，共 ${g.total} 个；目标 ${g.target} 个，还差 ${g.toTarget} 个。`,
    );
    expect(text).toContain(
      `其中大型车库已改造 ${g.bySize.large.retrofitted} 个（共 ${g.bySize.large.total} 个），小型车库已改造 ${g.bySize.mini.retrofitted} 个（共 ${g.bySize.mini.total} 个）。`,
    );
    const e = d.facilities.elevators;
    expect([e.retrofitted, e.total, e.target]).toEqual([2, 3, 20]);
    expect(text).toContain(
      `已改造 ${e.retrofitted} 台，共 ${e.total} 台；目标 ${e.target} 台，还差 ${e.toTarget} 台。`,
    );
    expect(chartRows(page.html, "elevators")).toEqual([
      [`已改造 ${e.retrofitted} 台`, String(e.retrofitted)],
      [`共 ${e.total} 台`, String(e.total)],
      [`目标 ${e.target} 台`, String(e.target)],
    ]);

    // Contracts by state: every state, the service's count.
    const byState = Object.fromEntries(chartRows(page.html, "contracts-by-state"));
    expect(byState).toMatchObject({
      运营中: `${d.contractsByState.operating} 份`,
      待审议: "1 份",
      草稿: "0 份",
    });
    expect(d.contractsByState.operating).toBe(4);
    expect(Object.keys(byState)).toHaveLength(9);

    // Transfers due within 90 days, with the days left; the later one only counted.
    const soonDue = d.transfersDue.items.find(
      (x: { contractId: string }) => x.contractId === soon.contract.id,
    );
    expect(soonDue.transferDueInDays).toBe(30);
    expect(rowsOf(page.html, "transfers")).toEqual([
      [soon.contract.title, world.community.name, "2027年1月4日", "还有 30 天"],
    ]);
    expect(page.html).toContain(`href="/contracts/${soon.contract.id}"`);
    expect(text).not.toContain(later.contract.title);
    expect(text).toContain("另有 1 份合同在一年内移交。");

    // Arrears and collection rate by community, to the fen.
    expect(rowsOf(page.html, "arrears")).toEqual([
      [world.community.name, "¥140.00", "¥30.00", "¥110.00", "¥40.00", "21.4%"],
      [second.name, "¥25.50", "¥0.00", "¥25.50", "¥25.50", "0.0%"],
    ]);
    expect(d.receivables.outstanding).toBe("135.50");
    expect(d.receivables.overdue).toBe("65.50");
    expect(text).toContain("全街道未收 ¥135.50，其中逾期 ¥65.50（2 张账单逾期）");
    expect(chartRows(page.html, "arrears-by-community")).toEqual([
      [world.community.name, "¥40.00"],
      [second.name, "¥25.50"],
    ]);

    // Incidents: the last 30 days as the dashboard counts them, the weeks as the statistics do.
    expect(d.incidents.ebikeIncidents).toBe(2);
    expect(text).toContain(
      `近 30 天：装有传感器的电梯 ${d.incidents.monitoredElevators} 台，电动车进梯 2 次，其中停梯 ${d.incidents.halts} 次。`,
    );
    const stats = await client(app, world.streetOffice.key).get(
      `/v1/incidents/stats?groupBy=day&from=${addDays(TODAY, -83)}&to=${addDays(TODAY, 1)}`,
    );
    expect(stats.status).toBe(200);
    const weekly = chartRows(page.html, "incidents-weekly");
    const halts = chartRows(page.html, "halts-weekly");
    expect(weekly).toHaveLength(12);
    expect(halts).toHaveLength(12);
    for (let w = 0; w < 12; w++) {
      const days = (
        stats.body.items as { day: string; incidents: number; totalHaltSeconds: number }[]
      ).filter((i) => i.day >= addDays(TODAY, -83 + 7 * w) && i.day <= addDays(TODAY, -83 + 7 * w + 6));
      const count = days.reduce((n, i) => n + i.incidents, 0);
      const seconds = days.reduce((n, i) => n + i.totalHaltSeconds, 0);
      const minutes = new Decimal(seconds).div(60).toFixed(2, Decimal.ROUND_HALF_UP);
      expect(weekly[w]?.[1]).toBe(`${count} 次`);
      expect(halts[w]?.[1]).toBe(`${minutes} 分钟`);
    }
    expect(weekly[11]).toEqual(["2026年11月29日–2026年12月5日", "1 次"]);
    expect(halts[11]).toEqual(["2026年11月29日–2026年12月5日", "5.00 分钟"]);
    expect(halts[10]).toEqual(["2026年11月22日–2026年11月28日", "0.00 分钟"]);
    expect(halts[9]).toEqual(["2026年11月15日–2026年11月21日", "2.00 分钟"]);

    // Charts are images with names; nothing unwritten.
    for (const id of ["garages", "elevators", "contracts-by-state", "incidents-weekly", "halts-weekly"]) {
      expect(page.html).toContain(`aria-labelledby="${id}-title"`);
    }
    expect(page.html).not.toMatch(/NaN|undefined|\[object/);
  });

  it("in English writes the same figures", async () => {
    const { world } = await busyStreet();
    const office = await officeOf(world);
    office.cookies.set("lang", "en");
    const text = textOf((await office.get("/dashboard")).html);
    expect(text).toContain(`Street overview: ${world.street.name}`);
    expect(text).toContain(
      "2 elevators retrofitted of 3 elevators; target 20 elevators, 18 elevators to go.",
    );
    expect(text).toContain("The street is owed ¥135.50, ¥65.50 of it overdue (2 invoices overdue).");
  });

  it("shows another street's office only its own street", async () => {
    const { world } = await busyStreet();
    const other = await createWorld(database.db);
    const page = await (await officeOf(other)).get("/dashboard");
    expect(page.status).toBe(200);
    const text = textOf(page.html);
    expect(text).toContain(`街道概览：${other.street.name}`);
    expect(text).not.toContain(world.street.name);
    expect(text).not.toContain(world.community.name);
    expect(text).toContain("已改造 0 台，共 1 台；目标 20 台，还差 20 台。");
    expect(text).toContain("全街道未收 ¥0.00，其中逾期 ¥0.00（0 张账单逾期）");
  });

  it("says in words when there is nothing yet", async () => {
    const world = await createWorld(database.db);
    const page = await (await officeOf(world)).get("/dashboard");
    const text = textOf(page.html);
    expect(page.status).toBe(200);
    expect(text).toContain("还没有合同。");
    expect(text).toContain("90 天内没有要移交的设施。");
    expect(text).toContain("还没有装传感器的电梯，没有告警数据。");
    expect(text).toContain("还没有开出账单。");
    expect(text).toContain("还没有核实过的告警。");
    expect(page.html).not.toMatch(/NaN|undefined/);
  });

  it("is refused to the other roles with the 403 page", async () => {
    const world = await createWorld(database.db);
    for (const org of [world.ownersCommittee, world.propertyCompany, world.enterprise]) {
      const person = await createPerson(database.db, org.org.id);
      const browser = portalClient(app);
      await browser.signIn(person.login, person.password);
      const page = await browser.get("/dashboard");
      expect(page.status).toBe(403);
      const text = textOf(page.html);
      expect(text).toContain("无法执行此操作");
      expect(text).not.toContain("改造进度");
      expect(text).not.toContain(world.street.name);
    }
  });

  it("sends a visitor who is not signed in to sign in first", async () => {
    const page = await portalClient(app).get("/dashboard");
    expect(page.status).toBe(303);
    expect(page.location).toBe(`/sign-in?next=${encodeURIComponent("/dashboard")}`);
  });
});
