/**
 * The contract pages in-process: the list and the document scoped to the person's communities,
 * the fees by floor to the fen, the owners' vote with its four ratios, approval under the person's
 * name, and only the buttons the command table allows (a refused POST writes nothing).
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readAudit } from "../../db/audit.js";
import type { DatabaseHandle } from "../../db/client.js";
import { contracts, contractVotes } from "../../db/schema.js";
import { client, createTestApp, type TestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import { createOperatingContract, createPerson, createWorld, type World } from "../support/factories.js";
import { portalClient, textOf } from "../support/portal.js";
import { elevatorTerms } from "../support/terms.js";

let database: DatabaseHandle;
let app: TestApp;

beforeAll(async () => {
  database = await openTestDatabase();
  app = createTestApp(database.db);
});
afterAll(async () => database?.close());

/** A contract the enterprise drafted and submitted today, over the world's elevator. */
async function submittedContract(world: World, title = "国伟新苑1号楼加装电梯合同") {
  const enterprise = client(app, world.enterprise.key);
  const drafted = await enterprise.post("/v1/contracts", {
    title,
    communityId: world.community.id,
    ownersCommitteeOrgId: world.ownersCommittee.org.id,
    propertyCompanyOrgId: world.propertyCompany.org.id,
    streetOfficeOrgId: world.streetOffice.org.id,
    facilityIds: [world.elevator.id],
    terms: elevatorTerms(),
  });
  if (drafted.status !== 201) throw new Error(`draft: ${drafted.status} ${JSON.stringify(drafted.body)}`);
  const id: string = drafted.body.id;
  const submitted = await enterprise.post(`/v1/contracts/${id}/submit`);
  if (submitted.status !== 200) throw new Error(`submit: ${submitted.status}`);
  return id;
}

async function committeeMember(world: World, name = "王秀英") {
  const person = await createPerson(database.db, world.ownersCommittee.org.id, { name });
  const browser = portalClient(app);
  await browser.signIn(person.login, person.password);
  return { person, browser };
}

const today = () => new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());

/** The register of createWorld: 12 households of 60 m² (720 m²). 480/8 take part. */
const PASSING = { participatingArea: "480.00", participatingOwners: "8", yesArea: "360.00", yesOwners: "6" };
const FAILING = { ...PASSING, yesArea: "359.99" };

async function stateOf(id: string) {
  const [row] = await database.db.select().from(contracts).where(eq(contracts.id, id));
  return row?.state;
}

describe("the contract list", () => {
  it("shows the organization's contracts with their state in words, and not another community's", async () => {
    const world = await createWorld(database.db);
    const other = await createWorld(database.db);
    await submittedContract(world, "本小区加装电梯合同");
    await submittedContract(other, "别的小区加装电梯合同");
    const { browser } = await committeeMember(world);
    const list = await browser.get("/contracts");
    expect(list.status).toBe(200);
    const text = textOf(list.html);
    expect(text).toContain("本小区加装电梯合同");
    expect(text).toContain("已提交，待审阅");
    expect(text).not.toContain("别的小区加装电梯合同");
  });

  it("says so in words when there is none", async () => {
    const world = await createWorld(database.db);
    const { browser } = await committeeMember(world);
    const list = await browser.get("/contracts");
    expect(list.status).toBe(200);
    expect(textOf(list.html)).toContain("还没有合同");
  });

  it("is for people who signed in", async () => {
    const res = await portalClient(app).get("/contracts");
    expect(res.status).toBe(303);
    expect(res.location).toBe("/sign-in?next=%2Fcontracts");
  });
});

describe("the contract page", () => {
  it("reads like a document: the parties by name, the fees by floor to the fen, the funding and the model", async () => {
    const world = await createWorld(database.db);
    const id = await submittedContract(world);
    await client(app, world.enterprise.key).put(`/v1/contracts/${id}/financial-assumptions`, {
      takeUp: { rates: { "EL-M": "0.50", "EL-Y": "0.25" } },
      yearlyCosts: { maintenance: "1200.00", electricity: "360.00", insurance: "240.00", other: "0" },
      discountRate: "0.05",
    });
    const { browser } = await committeeMember(world);
    const page = await browser.get(`/contracts/${id}`);
    expect(page.status).toBe(200);
    const text = textOf(page.html);
    for (const org of [
      world.enterprise.org,
      world.ownersCommittee.org,
      world.propertyCompany.org,
      world.streetOffice.org,
    ]) {
      expect(text).toContain(org.name);
    }
    expect(text).toContain(world.elevator.name);
    // EL-M by floor: the ground floor pays nothing, "30" is ¥30.00.
    const floors = /<table data-fee="EL-M">[\s\S]*?<\/table>/.exec(page.html)?.[0] ?? "";
    expect(textOf(floors)).toContain(
      "1 楼 ¥0.00 2 楼 ¥30.00 3 楼 ¥40.00 4 楼 ¥50.00 5 楼 ¥60.00 6 楼 ¥70.00",
    );
    expect(text).toContain("电梯使用费(包年) 包年 ¥600.00 每户");
    expect(text).toContain("总投资 ¥800,000.00");
    expect(text).toContain("街道财政引导资金 ¥120,000.00");
    expect(text).toContain("引导资金占总投资 15.00%");
    // The model: 680,000 of capital against 3,000 + 1,800 − 1,800 a year over 13 months never pays back.
    expect(text).toContain("运营期内收不回企业投资");
    expect(page.html).toMatch(/<svg[^>]*role="img"[^>]*aria-labelledby="cash-flow-title cash-flow-desc"/);
    expect(text).toContain("第 0 年 ¥0.00 ¥0.00 -¥680,000.00 -¥680,000.00");
    // The record names the enterprise's submission; the handback checklist and the transfer rule.
    expect(text).toContain("提交审阅");
    expect(text).toContain("特种设备定期检验合格证在有效期内（未完成）");
    expect(text).toContain("开始运营之日起 13 个月");
  });

  it("records a passing vote (the row and the four ratios), then approves under the person's name", async () => {
    const world = await createWorld(database.db);
    const id = await submittedContract(world);
    const { browser } = await committeeMember(world, "赵美华");
    const before = await browser.get(`/contracts/${id}`);
    expect(before.status).toBe(200);
    // No assumptions yet (the service's 404 financial_assumptions_missing): the page says so.
    expect(textOf(before.html)).toContain("企业还没有填写测算假设");
    expect(before.html).toContain(`action="/contracts/${id}/votes"`);
    expect(before.html).not.toContain(`action="/contracts/${id}/approve"`);

    const voted = await browser.post(`/contracts/${id}/votes`, { heldOn: today(), ...PASSING });
    expect(voted.status).toBe(303);
    const rows = await database.db.select().from(contractVotes).where(eq(contractVotes.contractId, id));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      versionNo: 1,
      totalArea: "720.00",
      totalOwners: 12,
      participatingArea: "480.00",
      participatingOwners: 8,
      yesArea: "360.00",
      yesOwners: 6,
      passed: true,
    });
    const page = await browser.get(`/contracts/${id}`);
    const text = textOf(page.html);
    expect(text).toContain("表决通过");
    expect(text).toContain("参与表决的面积 66.66% 480.00 / 720.00 平方米 至少三分之二 达到");
    expect(text).toContain("同意的人数（占参与人数） 75.00% 6 / 8 户 至少四分之三 达到");
    expect(page.html).toContain(`action="/contracts/${id}/approve"`);

    const approved = await browser.post(`/contracts/${id}/approve`, { comment: "业主大会同意" });
    expect(approved.status).toBe(303);
    expect(await stateOf(id)).toBe("approved");
    const audit = await readAudit(database.db, id);
    expect(audit.at(-1)).toMatchObject({
      action: "version.approved",
      actorName: "赵美华",
      actorOrgId: world.ownersCommittee.org.id,
    });
    const after = textOf((await browser.get(`/contracts/${id}`)).html);
    expect(after).toContain("已批准，待签署");
    expect(after).toContain(`批准 （第 1 版） 赵美华（${world.ownersCommittee.org.name}）`);
    expect(after).toContain("业主大会同意");
  });

  it("shows which threshold a failing vote missed and offers no approval; a forced approval is refused", async () => {
    const world = await createWorld(database.db);
    const id = await submittedContract(world);
    const { browser } = await committeeMember(world);
    await browser.get(`/contracts/${id}`);
    expect((await browser.post(`/contracts/${id}/votes`, { heldOn: today(), ...FAILING })).status).toBe(303);
    const page = await browser.get(`/contracts/${id}`);
    const text = textOf(page.html);
    expect(text).toContain("表决未通过");
    expect(text).toContain("未达到的条件：同意的面积（占参与面积）");
    expect(text).toContain("同意的面积（占参与面积） 74.99% 359.99 / 480.00 平方米 至少四分之三 未达到");
    expect(page.html).not.toContain(`action="/contracts/${id}/approve"`);
    // Changes can still be asked for.
    expect(page.html).toContain(`action="/contracts/${id}/request-changes"`);

    const auditBefore = (await readAudit(database.db, id)).length;
    const forced = await browser.post(`/contracts/${id}/approve`, {});
    expect(forced.status).toBe(409);
    expect(textOf(forced.html)).toContain("业主表决没有达到法定比例（《民法典》第二百七十八条），不能批准");
    expect(await stateOf(id)).toBe("submitted");
    expect(await readAudit(database.db, id)).toHaveLength(auditBefore);
  });

  it("refuses a tally that does not add up, naming the field, and records nothing", async () => {
    const world = await createWorld(database.db);
    const id = await submittedContract(world);
    const { browser } = await committeeMember(world);
    await browser.get(`/contracts/${id}`);
    const bad = await browser.post(`/contracts/${id}/votes`, {
      heldOn: today(),
      ...PASSING,
      yesOwners: "9",
    });
    expect(bad.status).toBe(400);
    expect(textOf(bad.html)).toContain("表决结果没有登记");
    expect(bad.html).toMatch(/id="f-yesOwners"[^>]*aria-invalid="true"/);
    expect(textOf(bad.html)).toContain("不能超过参与表决的户数");
    const notNumber = await browser.post(`/contracts/${id}/votes`, {
      heldOn: today(),
      ...PASSING,
      participatingArea: "四百八十",
    });
    expect(notNumber.status).toBe(400);
    expect(notNumber.html).toMatch(/id="f-participatingArea"[^>]*aria-invalid="true"/);
    expect(await database.db.select().from(contractVotes).where(eq(contractVotes.contractId, id))).toEqual(
      [],
    );
  });

  it("asks for changes with a reason, and shows the field-by-field diff of the revision", async () => {
    const world = await createWorld(database.db);
    const id = await submittedContract(world);
    const { browser } = await committeeMember(world);
    await browser.get(`/contracts/${id}`);
    const empty = await browser.post(`/contracts/${id}/request-changes`, { reason: "  " });
    expect(empty.status).toBe(400);
    expect(textOf(empty.html)).toContain("请写下需要修改的地方");
    const asked = await browser.post(`/contracts/${id}/request-changes`, {
      reason: "6楼价格偏高，请调整为65元",
    });
    expect(asked.status).toBe(303);
    expect(await stateOf(id)).toBe("changes_requested");

    const enterprise = client(app, world.enterprise.key);
    await enterprise.post(`/v1/contracts/${id}/revise`);
    const cheaper = elevatorTerms();
    cheaper.feeSchedule[0]?.floorPrices?.splice(4, 1, { floor: 6, price: "65.00" });
    const edited = await enterprise.put(
      `/v1/contracts/${id}/versions/2`,
      { terms: cheaper },
      { "if-match": '"r1"' },
    );
    expect(edited.status).toBe(200);
    const diff = await browser.get(`/contracts/${id}/diff?from=1&to=2`);
    expect(diff.status).toBe(200);
    expect(textOf(diff.html)).toContain("收费项目 EL-M › 6 楼 修改 ¥70.00 ¥65.00");
    const page = textOf((await browser.get(`/contracts/${id}`)).html);
    expect(page).toContain("6楼价格偏高，请调整为65元");
    expect(page).toContain("第 1 版：已要求修改");
    expect((await browser.get(`/contracts/${id}/diff?from=1&to=1`)).status).toBe(400);
    expect((await browser.get(`/contracts/${id}/diff?from=1&to=9`)).status).toBe(404);
  });

  it("is the not-found page for a member of another community, for reading and for acting", async () => {
    const world = await createWorld(database.db);
    const other = await createWorld(database.db);
    const id = await submittedContract(world);
    const { browser } = await committeeMember(other);
    for (const path of [`/contracts/${id}`, `/contracts/${id}/print`, `/contracts/${id}/diff?from=1&to=2`]) {
      const res = await browser.get(path);
      expect(res.status).toBe(404);
      expect(textOf(res.html)).toContain("找不到这个页面");
    }
    await browser.get("/contracts");
    expect((await browser.post(`/contracts/${id}/votes`, { heldOn: today(), ...PASSING })).status).toBe(404);
    expect((await browser.get("/contracts/not-a-contract")).status).toBe(404);
    expect(await database.db.select().from(contractVotes).where(eq(contractVotes.contractId, id))).toEqual(
      [],
    );
  });

  it("offers the property company no vote or approval, and refuses them when posted, writing nothing", async () => {
    const world = await createWorld(database.db);
    const id = await submittedContract(world);
    const person = await createPerson(database.db, world.propertyCompany.org.id, { name: "物业小张" });
    const browser = portalClient(app);
    await browser.signIn(person.login, person.password);
    const page = await browser.get(`/contracts/${id}`);
    expect(page.status).toBe(200);
    for (const action of ["votes", "approve", "request-changes", "sign"]) {
      expect(page.html).not.toContain(`action="/contracts/${id}/${action}"`);
    }
    // A comment is every party's.
    expect(page.html).toContain(`action="/contracts/${id}/comments"`);
    const auditBefore = (await readAudit(database.db, id)).length;
    const vote = await browser.post(`/contracts/${id}/votes`, { heldOn: today(), ...PASSING });
    expect(vote.status).toBe(403);
    expect(textOf(vote.html)).toContain("您所在的组织或您的权限不能执行这个操作");
    const approval = await browser.post(`/contracts/${id}/approve`, {});
    expect(approval.status).toBe(403);
    expect(await database.db.select().from(contractVotes).where(eq(contractVotes.contractId, id))).toEqual(
      [],
    );
    expect(await stateOf(id)).toBe("submitted");
    expect(await readAudit(database.db, id)).toHaveLength(auditBefore);
  });

  it("reads in English after the switch, with the same figures", async () => {
    const world = await createWorld(database.db);
    const id = await submittedContract(world);
    const { browser } = await committeeMember(world);
    await browser.get(`/lang?to=en&back=/contracts/${id}`);
    const page = await browser.get(`/contracts/${id}`);
    expect(page.html).toContain('<html lang="en">');
    const text = textOf(page.html);
    expect(text).toContain("Submitted, awaiting review");
    expect(text).toContain("Floor 2 ¥30.00");
    expect(text).toContain("Guidance funds are 15.00% of the investment");
    expect(text).not.toMatch(/收费标准|业主表决/);
  });

  it("keeps a comment under the organization's name", async () => {
    const world = await createWorld(database.db);
    const id = await submittedContract(world);
    const { browser } = await committeeMember(world);
    await browser.get(`/contracts/${id}`);
    expect((await browser.post(`/contracts/${id}/comments`, { body: "请说明维保响应时间" })).status).toBe(
      303,
    );
    const text = textOf((await browser.get(`/contracts/${id}`)).html);
    expect(text).toContain(`${world.ownersCommittee.org.name}，`);
    expect(text).toContain("请说明维保响应时间");
  });
});

describe("after the approval", () => {
  it("the committee signs on the page, then confirms the enterprise's milestone under the person's name", async () => {
    const world = await createWorld(database.db);
    const id = await submittedContract(world);
    const { browser } = await committeeMember(world, "孙建国");
    await browser.get(`/contracts/${id}`);
    await browser.post(`/contracts/${id}/votes`, { heldOn: today(), ...PASSING });
    await browser.get(`/contracts/${id}`);
    expect((await browser.post(`/contracts/${id}/approve`, {})).status).toBe(303);
    for (const key of [world.enterprise.key, world.propertyCompany.key, world.streetOffice.key]) {
      expect((await client(app, key).post(`/v1/contracts/${id}/sign`)).status).toBe(200);
    }
    const approved = await browser.get(`/contracts/${id}`);
    expect(textOf(approved.html)).toContain(`代表 ${world.ownersCommittee.org.name} 签署`);
    expect(textOf(approved.html)).toContain("尚待签署：业主委员会");
    expect((await browser.post(`/contracts/${id}/sign`, {})).status).toBe(303);
    expect(await stateOf(id)).toBe("signed");
    // Signed once: the button is gone and a second signature is refused.
    const signed = await browser.get(`/contracts/${id}`);
    expect(signed.html).not.toContain(`action="/contracts/${id}/sign"`);
    expect((await browser.post(`/contracts/${id}/sign`, {})).status).toBe(409);

    const recorded = await client(app, world.enterprise.key).post(`/v1/contracts/${id}/milestones`, {
      kind: "construction_start",
      occurredOn: today(),
      note: "脚手架进场",
    });
    expect(recorded.status).toBe(201);
    const page = await browser.get(`/contracts/${id}`);
    expect(textOf(page.html)).toContain("开工 ：");
    expect(textOf(page.html)).toContain("待确认");
    const confirmPath = `/contracts/${id}/milestones/construction_start/confirm`;
    expect(page.html).toContain(`action="${confirmPath}"`);
    expect((await browser.post(confirmPath, {})).status).toBe(303);
    expect(await stateOf(id)).toBe("under_construction");
    expect((await readAudit(database.db, id)).at(-1)).toMatchObject({
      action: "milestone.confirmed",
      actorName: "孙建国",
    });
    const after = await browser.get(`/contracts/${id}`);
    expect(after.html).not.toContain(`action="${confirmPath}"`);
    expect(textOf(after.html)).toContain("施工中");
    expect(textOf(after.html)).toContain("已确认");
  });

  it("counts the days to the transfer date in Shanghai", async () => {
    const world = await createWorld(database.db);
    const { contract } = await createOperatingContract(database.db, world, {
      operationStart: "2026-01-01",
      termMonths: 60,
    });
    // 2026-12-05 00:30 in Shanghai is still 2026-12-04 in UTC.
    const timed = createTestApp(database.db, { now: () => new Date("2026-12-04T16:30:00Z") });
    const person = await createPerson(database.db, world.ownersCommittee.org.id);
    const browser = portalClient(timed);
    await browser.signIn(person.login, person.password);
    const page = await browser.get(`/contracts/${contract.id}`);
    expect(page.status).toBe(200);
    const text = textOf(page.html);
    expect(text).toContain("移交日期 2031年1月1日 还有 1488 天");
    expect(text).toContain("运营中");
  });
});

describe("the print view", () => {
  it("has the summary, the fee table and a voting slip with the thresholds, with a print style sheet", async () => {
    const world = await createWorld(database.db);
    const id = await submittedContract(world);
    const { browser } = await committeeMember(world);
    const page = await browser.get(`/contracts/${id}/print`);
    expect(page.status).toBe(200);
    const text = textOf(page.html);
    expect(text).toContain("合同摘要");
    expect(text).toContain(world.enterprise.org.name);
    expect(text).toContain("6 楼 ¥70.00");
    expect(text).toContain("业主表决票");
    expect(text).toContain("同意的面积（占参与面积） 至少四分之三");
    expect(page.html).toMatch(/\/assets\/contracts\.css\?v=/);
    const css = await app.request("/assets/contracts.css");
    expect(await css.text()).toContain("@media print");
  });
});
