/**
 * Operation reports in the portal: the enterprise files a month with the platform's figures
 * prefilled; the owners committee sees them beside the reported ones (differences marked) and
 * accepts or queries; the status written is the one the page says.
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { operationReports, reportComments } from "../../db/schema.js";
import { createTestApp, type TestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import {
  createInvoice,
  createOperatingContract,
  createPerson,
  createSubscription,
  createWorld,
} from "../support/factories.js";
import { type PortalClient, portalClient, textOf } from "../support/portal.js";

let database: DatabaseHandle;
let app: TestApp;
/** 2026-12-05 in Shanghai: November 2026 is the last month that may be reported. */
const NOW = new Date("2026-12-05T05:00:00Z");

beforeAll(async () => {
  database = await openTestDatabase();
  app = createTestApp(database.db, { now: () => NOW });
});
afterAll(async () => database?.close());

/** An operating elevator contract with two November bills (¥100.00 + ¥50.25 of EL-M) and one in October. */
async function operatingWorld() {
  const world = await createWorld(database.db);
  const { contract, transferDate } = await createOperatingContract(database.db, world, {
    operationStart: "2026-01-01",
    termMonths: 60,
  });
  const [a, b] = world.households.slice(4, 6);
  if (!a || !b) throw new Error("world without households");
  for (const [home, total] of [
    [a, "100.00"],
    [b, "50.25"],
  ] as const) {
    const sub = await createSubscription(database.db, contract, { householdId: home.id });
    await createInvoice(database.db, contract, {
      subscriberKey: sub.subscriberKey,
      subscriptionId: sub.id,
      total,
      period: "2026-11",
      issueDate: "2026-11-01",
    });
    if (total === "100.00") {
      await createInvoice(database.db, contract, {
        subscriberKey: sub.subscriberKey,
        subscriptionId: sub.id,
        total: "80.00",
        period: "2026-10",
        issueDate: "2026-10-01",
      });
    }
  }
  return { world, contract, transferDate };
}

async function member(orgId: string, name: string) {
  const person = await createPerson(database.db, orgId, { name });
  const browser = portalClient(app);
  await browser.signIn(person.login, person.password);
  return browser;
}

/** The value of the input `name` on a page. */
function inputValue(html: string, name: string): string | undefined {
  return new RegExp(`name="${name}"[^>]*?value="([^"]*)"`).exec(html)?.[1];
}

/** Files a report through the form: the prefilled values, with `typed` over them. */
async function fileThroughForm(
  enterprise: PortalClient,
  contractId: string,
  period: string,
  typed: Record<string, string>,
) {
  const form = await enterprise.get(`/reports/new?contract=${contractId}&period=${period}`);
  expect(form.status).toBe(200);
  const prefilled: Record<string, string> = {};
  for (const name of [
    "rev_EL-M",
    "rev_EL-Y",
    "rev_EL-RIDE",
    "rides",
    "kWh",
    "chargingSessions",
    "safetyIncidents",
  ]) {
    prefilled[name] = inputValue(form.html, name) ?? "";
  }
  const res = await enterprise.post(`/reports/new?contract=${contractId}`, {
    period,
    ...prefilled,
    cost_maintenance: "300.00",
    cost_electricity: "120.50",
    cost_insurance: "40.00",
    cost_other: "0",
    availabilityPercent: "99.50",
    maintenance: "",
    ...typed,
  });
  return { form, prefilled, res };
}

describe("filing an operation report", () => {
  it("prefills the platform's figures and stores the typed ones beside them", async () => {
    const { world, contract } = await operatingWorld();
    const enterprise = await member(world.enterprise.org.id, "企业小李");
    const list = await enterprise.get("/reports");
    expect(list.status).toBe(200);
    expect(list.html).toContain(`/reports/new?contract=${contract.id}`);

    const { form, prefilled, res } = await fileThroughForm(enterprise, contract.id, "2026-11", {
      "rev_EL-M": "140.00",
      maintenance: "2026-11-03 月度保养\n2026-11-18 更换门机皮带",
    });
    // Prefilled: November's invoice lines of EL-M, ¥150.25; nothing else billed or metered.
    expect(prefilled["rev_EL-M"]).toBe("150.25");
    expect(prefilled["rev_EL-Y"]).toBe("0.00");
    expect(prefilled.rides).toBe("0");
    expect(textOf(form.html)).toContain("平台记录：¥150.25");
    expect(res.status).toBe(303);
    const id = /^\/reports\/([0-9a-f-]{36})\?done=filed$/.exec(res.location ?? "")?.[1] ?? "";
    const [row] = await database.db.select().from(operationReports).where(eq(operationReports.id, id));
    expect(row?.status).toBe("submitted");
    expect(row?.period).toBe("2026-11");
    expect(row?.figures).toEqual({
      revenueByItem: { "EL-M": "140.00", "EL-Y": "0.00", "EL-RIDE": "0.00" },
      costs: { maintenance: "300.00", electricity: "120.50", insurance: "40.00", other: "0" },
      usage: { rides: 0, kWh: "0.000", chargingSessions: 0 },
      availabilityPercent: "99.50",
      maintenanceRecords: [
        { date: "2026-11-03", description: "月度保养" },
        { date: "2026-11-18", description: "更换门机皮带" },
      ],
      safetyIncidents: 0,
    });
    const page = textOf((await enterprise.get(res.location ?? "")).html);
    expect(page).toContain("报告已提交");
    expect(page).toContain("企业填报 ¥140.00 平台开出的账单 ¥150.25");
    // The operator is offered no review.
    expect(page).not.toContain("接受报告");
  });

  it("shows the form again with the field marked when a figure is wrong, writing nothing", async () => {
    const { world, contract } = await operatingWorld();
    const enterprise = await member(world.enterprise.org.id, "企业小李");
    const { res } = await fileThroughForm(enterprise, contract.id, "2026-11", {
      cost_electricity: "12.345",
    });
    expect(res.status).toBe(400);
    expect(res.html).toMatch(/id="f-cost_electricity"[^>]*aria-invalid="true"/);
    expect(textOf(res.html)).toContain("请填写金额，例如 128.50");
    // The typed values are kept.
    expect(inputValue(res.html, "cost_electricity")).toBe("12.345");
    const rows = await database.db
      .select()
      .from(operationReports)
      .where(eq(operationReports.contractId, contract.id));
    expect(rows).toEqual([]);
  });

  it("is not offered to the owners committee (403) and a month not over is refused", async () => {
    const { world, contract } = await operatingWorld();
    const committee = await member(world.ownersCommittee.org.id, "业委会老王");
    expect((await committee.get(`/reports/new?contract=${contract.id}`)).status).toBe(403);
    const enterprise = await member(world.enterprise.org.id, "企业小李");
    const { res } = await fileThroughForm(enterprise, contract.id, "2026-12", {});
    expect(res.status).toBe(400);
    expect(res.html).toMatch(/id="f-period"[^>]*aria-invalid="true"/);
    expect(textOf(res.html)).toContain("这个月份不能填报");
    const outside = await fileThroughForm(enterprise, contract.id, "2026-11", {
      maintenance: "2026-10-30 上月的保养",
    });
    expect(outside.res.status).toBe(400);
    expect(textOf(outside.res.html)).toContain("日期要在报告月份之内");
    const rows = await database.db
      .select()
      .from(operationReports)
      .where(eq(operationReports.contractId, contract.id));
    expect(rows).toEqual([]);
  });
});

describe("reviewing an operation report", () => {
  it("shows the platform's figures beside the reported ones, and a query writes its reason and status", async () => {
    const { world, contract } = await operatingWorld();
    const enterprise = await member(world.enterprise.org.id, "企业小李");
    const { res } = await fileThroughForm(enterprise, contract.id, "2026-11", { "rev_EL-M": "140.00" });
    const id = /\/reports\/([0-9a-f-]{36})/.exec(res.location ?? "")?.[1] ?? "";

    const committee = await member(world.ownersCommittee.org.id, "业委会老王");
    const page = await committee.get(`/reports/${id}`);
    expect(page.status).toBe(200);
    const text = textOf(page.html);
    // EL-M: ¥140.00 reported, ¥150.25 invoiced, −¥10.25 beyond max(¥1.00, 1 %).
    expect(text).toMatch(/收入：EL-M（EL-M） ¥140\.00 ¥150\.25 -¥10\.25 ⚠ 有差异/);
    expect(text).toContain("1 项有差异");
    expect(text).toContain("成本：电费 ¥120.50 — — 平台无此数据");
    expect(text).toContain("接受报告");

    const empty = await committee.post(`/reports/${id}/query`, { comment: "  " });
    expect(empty.status).toBe(400);
    expect(textOf(empty.html)).toContain("请写下疑问的内容");
    const queried = await committee.post(`/reports/${id}/query`, {
      comment: "EL-M 收入比账单少了 10.25 元，请说明。",
    });
    expect(queried.status).toBe(303);
    const [row] = await database.db.select().from(operationReports).where(eq(operationReports.id, id));
    expect(row?.status).toBe("queried");
    expect(row?.reviewedByOrgId).toBe(world.ownersCommittee.org.id);
    const notes = await database.db.select().from(reportComments).where(eq(reportComments.reportId, id));
    expect(notes.map((n) => n.body)).toEqual(["EL-M 收入比账单少了 10.25 元，请说明。"]);
    const after = textOf((await committee.get(`/reports/${id}`)).html);
    expect(after).toContain("有疑问");
    expect(after).toContain("EL-M 收入比账单少了 10.25 元，请说明。");
    // Queried: nothing more to review.
    expect(after).not.toContain("接受报告");
    expect((await committee.get(`/reports/${id}/revise`)).status).toBe(403);

    // The enterprise answers with a revised version: the queried one is kept, superseded.
    const answer = await enterprise.get(`/reports/${id}`);
    expect(answer.html).toContain(`/reports/${id}/revise`);
    const form = await enterprise.get(`/reports/${id}/revise`);
    expect(form.status).toBe(200);
    expect(inputValue(form.html, "rev_EL-M")).toBe("140.00");
    expect(inputValue(form.html, "cost_electricity")).toBe("120.50");
    const fields: Record<string, string> = { comment: "漏记了一户的账单，已更正。" };
    for (const name of [
      "rev_EL-M",
      "rev_EL-Y",
      "rev_EL-RIDE",
      "cost_maintenance",
      "cost_electricity",
      "cost_insurance",
      "cost_other",
      "rides",
      "kWh",
      "chargingSessions",
      "availabilityPercent",
      "safetyIncidents",
    ]) {
      fields[name] = inputValue(form.html, name) ?? "";
    }
    const revised = await enterprise.post(`/reports/${id}/revise`, { ...fields, "rev_EL-M": "150.25" });
    expect(revised.status).toBe(303);
    const versions = await database.db
      .select()
      .from(operationReports)
      .where(eq(operationReports.contractId, contract.id));
    expect(versions.map((v) => [v.versionNo, v.status]).sort()).toEqual([
      [1, "superseded"],
      [2, "submitted"],
    ]);
    const second = versions.find((v) => v.versionNo === 2);
    expect(second?.figures).toMatchObject({ revenueByItem: { "EL-M": "150.25" } });
    const review = textOf((await committee.get(`/reports/${second?.id}`)).html);
    expect(review).toContain("所有能对照的数字都在允许范围内");
    expect(review).toContain("漏记了一户的账单，已更正。");
    expect(review).toContain("接受报告");
  });

  it("accepts a report for the committee only; the enterprise and another community can not", async () => {
    const { world, contract } = await operatingWorld();
    const enterprise = await member(world.enterprise.org.id, "企业小李");
    const { res } = await fileThroughForm(enterprise, contract.id, "2026-10", {});
    const id = /\/reports\/([0-9a-f-]{36})/.exec(res.location ?? "")?.[1] ?? "";

    await enterprise.get(`/reports/${id}`);
    expect((await enterprise.post(`/reports/${id}/accept`)).status).toBe(403);
    const stranger = await member((await createWorld(database.db)).ownersCommittee.org.id, "别的业委会");
    expect((await stranger.get(`/reports/${id}`)).status).toBe(404);
    await stranger.get("/reports");
    expect((await stranger.post(`/reports/${id}/accept`)).status).toBe(404);
    const [before] = await database.db.select().from(operationReports).where(eq(operationReports.id, id));
    expect(before?.status).toBe("submitted");

    const committee = await member(world.ownersCommittee.org.id, "业委会老王");
    const page = await committee.get(`/reports/${id}`);
    expect(textOf(page.html)).toContain("所有能对照的数字都在允许范围内");
    const accepted = await committee.post(`/reports/${id}/accept`);
    expect(accepted.status).toBe(303);
    const [row] = await database.db.select().from(operationReports).where(eq(operationReports.id, id));
    expect(row?.status).toBe("accepted");
    expect(textOf((await committee.get(`/reports/${id}`)).html)).toContain("已接受");
    expect(textOf((await committee.get("/reports")).html)).toContain("2026-10");
  });
});
