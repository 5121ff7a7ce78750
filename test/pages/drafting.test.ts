/**
 * The enterprise's drafting desk: a contract drafted from the form keeps its per-floor prices to
 * the fen, a bad price shows the form again with its message and writes nothing, the draft is
 * edited at its revision and submitted, and nobody but the enterprise opens the editor.
 */
import { and, asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { contracts, contractVersions, feeItems } from "../../db/schema.js";
import { client, createTestApp, type TestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import { createPerson, createWorld, type World } from "../support/factories.js";
import { portalClient, textOf } from "../support/portal.js";

let database: DatabaseHandle;
let app: TestApp;

beforeAll(async () => {
  database = await openTestDatabase();
  app = createTestApp(database.db);
});
afterAll(async () => database?.close());

async function clerkOf(world: World) {
  const clerk = await createPerson(database.db, world.enterprise.org.id, { name: "张会计" });
  const browser = portalClient(app);
  await browser.signIn(clerk.login, clerk.password);
  return browser;
}

/** The form as a clerk fills it in: 包月 by floor (ground floor free), 包年 flat, one handback item. */
function draftForm(world: World, title: string, floors: Record<number, string>) {
  const fields: Record<string, string> = {
    title,
    communityId: world.community.id,
    ownersCommitteeOrgId: world.ownersCommittee.org.id,
    propertyCompanyOrgId: world.propertyCompany.org.id,
    streetOfficeOrgId: world.streetOffice.org.id,
    facilityIds: world.elevator.id,
    voteMatter: "special",
    summary: "3号楼加装电梯一部",
    "terms.totalInvestment": "800000.00",
    "terms.enterpriseCapital": "680000.00",
    "terms.guidanceFunds": "120000.00",
    "terms.operationTermMonths": "180",
    "terms.maintenanceObligations": "企业承担运营期内全部维保费用",
    fees: "3",
    "terms.feeSchedule.0.code": "EL-M",
    "terms.feeSchedule.0.name": "电梯包月",
    "terms.feeSchedule.0.kind": "monthly",
    "terms.feeSchedule.0.unit": "household",
    "terms.feeSchedule.0.price": "0.00",
    "terms.feeSchedule.1.code": "EL-Y",
    "terms.feeSchedule.1.name": "电梯包年",
    "terms.feeSchedule.1.kind": "yearly",
    "terms.feeSchedule.1.unit": "household",
    "terms.feeSchedule.1.price": "600.00",
    // The editor's last, empty box: left out.
    "terms.feeSchedule.2.code": "",
    "terms.feeSchedule.2.name": "",
    "terms.feeSchedule.2.kind": "monthly",
    "terms.feeSchedule.2.unit": "household",
    "terms.feeSchedule.2.price": "",
    handbacks: "2",
    "terms.handbackConditions.0.code": "INSPECT",
    "terms.handbackConditions.0.description": "移交前通过年度检验",
    "terms.handbackConditions.1.code": "",
    "terms.handbackConditions.1.description": "",
    invoiceDueDays: "15",
    paymentGraceDays: "15",
  };
  for (let floor = 1; floor <= 6; floor++) {
    fields[`terms.feeSchedule.0.floor.${floor}`] = floors[floor] ?? "";
    fields[`terms.feeSchedule.1.floor.${floor}`] = "";
  }
  return fields;
}

const PRICES = { 2: "30.00", 3: "38.80", 4: "45.05", 5: "52.10", 6: "60.99" };

async function feesOf(contractId: string) {
  return database.db
    .select({ code: feeItems.code, price: feeItems.price, floorPrices: feeItems.floorPrices })
    .from(feeItems)
    .innerJoin(contractVersions, eq(contractVersions.id, feeItems.versionId))
    .where(and(eq(contractVersions.contractId, contractId), eq(contractVersions.versionNo, 1)))
    .orderBy(asc(feeItems.position));
}

describe("a contract drafted from the form", () => {
  it("keeps the per-floor prices exactly as typed, the ground floor paying nothing", async () => {
    const world = await createWorld(database.db);
    const clerk = await clerkOf(world);
    const page = await clerk.get("/drafts/new");
    expect(page.status).toBe(200);
    // A row per floor served by the street's planned elevator (6 floors).
    expect(page.html).toContain('name="terms.feeSchedule.0.floor.6"');
    expect(page.html).not.toContain('name="terms.feeSchedule.0.floor.7"');

    const title = `国伟新苑加装电梯 ${world.community.id.slice(0, 6)}`;
    const res = await clerk.post("/drafts/new", draftForm(world, title, PRICES));
    expect(res.status).toBe(303);
    const [row] = await database.db.select().from(contracts).where(eq(contracts.title, title));
    expect(row?.state).toBe("draft");
    expect(res.location).toBe(`/drafts/${row?.id}/edit?saved=1`);
    expect(await feesOf(row?.id ?? "")).toEqual([
      {
        code: "EL-M",
        price: "0.00",
        floorPrices: [
          { floor: 2, price: "30.00" },
          { floor: 3, price: "38.80" },
          { floor: 4, price: "45.05" },
          { floor: 5, price: "52.10" },
          { floor: 6, price: "60.99" },
        ],
      },
      { code: "EL-Y", price: "600.00", floorPrices: null },
    ]);

    const editor = await clerk.get(res.location ?? "");
    expect(editor.status).toBe(200);
    expect(textOf(editor.html)).toContain("草稿已保存");
    expect(editor.html).toContain('name="terms.feeSchedule.0.floor.4" value="45.05"');
  });

  it("with a bad price shows the form again with each message, the values kept, and writes nothing", async () => {
    const world = await createWorld(database.db);
    const clerk = await clerkOf(world);
    await clerk.get("/drafts/new");
    const title = `写错价格的合同 ${world.community.id.slice(0, 6)}`;
    const res = await clerk.post("/drafts/new", draftForm(world, title, { ...PRICES, 3: "12.345", 5: "-1" }));
    expect(res.status).toBe(400);
    const text = textOf(res.html);
    expect(text).toContain("有 2 处需要改正");
    expect(text).toContain("请填写金额（元），最多两位小数，例如 128.50。");
    expect(text).toContain("金额不能是负数。");
    // Each message is announced with its input, which keeps what was typed.
    expect(res.html).toMatch(
      /name="terms\.feeSchedule\.0\.floor\.3" value="12\.345"[^>]*aria-invalid="true" aria-describedby="f-terms\.feeSchedule\.0\.floor\.3-error"/,
    );
    expect(res.html).toMatch(/name="terms\.feeSchedule\.0\.floor\.5" value="-1"[^>]*aria-invalid="true"/);
    expect(res.html).toContain('name="terms.feeSchedule.0.floor.4" value="45.05"');
    expect(res.html).toContain(`value="${title}"`);
    expect(await database.db.select().from(contracts).where(eq(contracts.title, title))).toEqual([]);
  });

  it("refused by the service (a committee of another community) shows the field's message and writes nothing", async () => {
    const world = await createWorld(database.db);
    const other = await createWorld(database.db);
    const clerk = await clerkOf(world);
    await clerk.get("/drafts/new");
    const title = `别的业委会 ${world.community.id.slice(0, 6)}`;
    const res = await clerk.post("/drafts/new", {
      ...draftForm(world, title, PRICES),
      ownersCommitteeOrgId: other.ownersCommittee.org.id,
    });
    expect(res.status).toBe(400);
    expect(textOf(res.html)).toContain("请选择这个小区的业委会。");
    expect(await database.db.select().from(contracts).where(eq(contracts.title, title))).toEqual([]);
  });
});

describe("a draft", () => {
  it("is edited at its revision, refused when stale, and submitted to the owners committee", async () => {
    const world = await createWorld(database.db);
    const clerk = await clerkOf(world);
    await clerk.get("/drafts/new");
    const title = `待提交的合同 ${world.community.id.slice(0, 6)}`;
    const created = await clerk.post("/drafts/new", draftForm(world, title, PRICES));
    const editPath = (created.location ?? "").replace(/\?.*$/, "");
    const editor = await clerk.get(editPath);
    const revision = /name="revision" value="([^"]+)"/.exec(editor.html)?.[1]?.replace(/&quot;/g, '"') ?? "";
    expect(revision).toMatch(/^"r\d+"$/);
    // The editor offers the submit button: the command table allows it on a draft.
    expect(textOf(editor.html)).toContain("提交业委会审阅");

    const changed = {
      ...draftForm(world, title, { ...PRICES, 6: "66.60" }),
      versionNo: "1",
      revision,
    };
    const saved = await clerk.post(editPath, changed);
    expect(saved.status).toBe(303);
    const [elm] = await feesOf(/drafts\/([^/]+)/.exec(editPath)?.[1] ?? "");
    expect(elm?.floorPrices?.at(-1)).toEqual({ floor: 6, price: "66.60" });

    // The same revision again: someone (this clerk) changed it since.
    await clerk.get(editPath);
    const stale = await clerk.post(editPath, { ...changed, revision });
    expect(stale.status).toBe(412);
    expect(textOf(stale.html)).toContain("这份草稿刚被别人改过");

    const id = /drafts\/([^/]+)/.exec(editPath)?.[1] ?? "";
    const submitted = await clerk.post(`/drafts/${id}/submit`);
    expect(submitted.status).toBe(303);
    expect(submitted.location).toBe(`/drafts?submitted=${id}`);
    const [row] = await database.db.select().from(contracts).where(eq(contracts.id, id));
    expect(row?.state).toBe("submitted");
    const list = await clerk.get(submitted.location ?? "");
    expect(textOf(list.html)).toContain(`“${title}”已提交业委会审阅。`);
    // Submitted: no longer editable.
    expect((await clerk.get(editPath)).status).toBe(403);
  });
});

describe("a draft the owners committee asked to change", () => {
  it("is revised into a new draft version, edited and submitted again", async () => {
    const world = await createWorld(database.db);
    const clerk = await clerkOf(world);
    await clerk.get("/drafts/new");
    const title = `要修改的合同 ${world.community.id.slice(0, 6)}`;
    const created = await clerk.post("/drafts/new", draftForm(world, title, PRICES));
    const id = /drafts\/([^/]+)/.exec(created.location ?? "")?.[1] ?? "";
    await clerk.get("/drafts");
    expect((await clerk.post(`/drafts/${id}/submit`)).status).toBe(303);
    const committee = client(app, world.ownersCommittee.key);
    const asked = await committee.post(`/v1/contracts/${id}/request-changes`, { reason: "六楼太贵" });
    expect(asked.status).toBe(200);

    const list = await clerk.get("/drafts");
    expect(textOf(list.html)).toContain("业委会要求修改");
    expect(list.html).toContain(`action="/drafts/${id}/revise"`);
    expect(list.html).not.toContain(`href="/drafts/${id}/edit"`);
    const revised = await clerk.post(`/drafts/${id}/revise`);
    expect(revised.status).toBe(303);
    expect(revised.location).toBe(`/drafts/${id}/edit`);
    const editor = await clerk.get(`/drafts/${id}/edit`);
    expect(textOf(editor.html)).toContain("第 2 版草稿");
    const revision = /name="revision" value="([^"]+)"/.exec(editor.html)?.[1]?.replace(/&quot;/g, '"') ?? "";
    const saved = await clerk.post(`/drafts/${id}/edit`, {
      ...draftForm(world, title, { ...PRICES, 6: "55.00" }),
      versionNo: "2",
      revision,
    });
    expect(saved.status).toBe(303);
    const [v2] = await database.db
      .select({ floorPrices: feeItems.floorPrices })
      .from(feeItems)
      .innerJoin(contractVersions, eq(contractVersions.id, feeItems.versionId))
      .where(and(eq(contractVersions.contractId, id), eq(contractVersions.versionNo, 2)))
      .orderBy(asc(feeItems.position));
    expect(v2?.floorPrices?.at(-1)).toEqual({ floor: 6, price: "55.00" });
    // Version 1 stays as it was reviewed.
    const [v1] = await feesOf(id);
    expect(v1?.floorPrices?.at(-1)).toEqual({ floor: 6, price: "60.99" });
    await clerk.get(`/drafts/${id}/edit`);
    expect((await clerk.post(`/drafts/${id}/submit`)).status).toBe(303);
    const [row] = await database.db.select().from(contracts).where(eq(contracts.id, id));
    expect(row?.state).toBe("submitted");
  });
});

describe("the editor", () => {
  it("is not opened by an owners committee member (403 page), and their post writes nothing", async () => {
    const world = await createWorld(database.db);
    const enterprise = await clerkOf(world);
    await enterprise.get("/drafts/new");
    const title = `业委会不能改 ${world.community.id.slice(0, 6)}`;
    const created = await enterprise.post("/drafts/new", draftForm(world, title, PRICES));
    const editPath = (created.location ?? "").replace(/\?.*$/, "");

    const member = await createPerson(database.db, world.ownersCommittee.org.id, { name: "李阿姨" });
    const browser = portalClient(app);
    await browser.signIn(member.login, member.password);
    const page = await browser.get("/drafts/new");
    expect(page.status).toBe(403);
    expect(textOf(page.html)).toContain("只有企业可以起草和修改合同。");
    expect(page.html).not.toContain('name="terms.totalInvestment"');
    expect((await browser.get(editPath)).status).toBe(403);

    const other = `业委会起草 ${world.community.id.slice(0, 6)}`;
    const posted = await browser.post("/drafts/new", draftForm(world, other, PRICES));
    expect(posted.status).toBe(403);
    expect(await database.db.select().from(contracts).where(eq(contracts.title, other))).toEqual([]);
  });

  it("speaks English when the reader switched", async () => {
    const world = await createWorld(database.db);
    const clerk = await clerkOf(world);
    await clerk.get("/lang?to=en&back=/drafts/new");
    const page = await clerk.get("/drafts/new");
    expect(page.status).toBe(200);
    const text = textOf(page.html);
    expect(text).toContain("Draft a new contract");
    expect(text).toContain("Prices by floor");
    expect(page.html).toContain('aria-label="Price on floor 3 (CNY)"');
    expect(text).not.toContain("收费标准");
  });

  it("sends a visitor who is not signed in to sign in", async () => {
    const res = await portalClient(app).get("/drafts/new");
    expect(res.status).toBe(303);
    expect(res.location).toBe(`/sign-in?next=${encodeURIComponent("/drafts/new")}`);
  });
});
