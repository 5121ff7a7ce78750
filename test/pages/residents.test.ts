/**
 * Household links: an issuer (the property company serving the community, or an enterprise with a
 * contract there) issues a link shown once; the resident opens it without an account and reads the
 * household's bills to the fen and the transfer date; a revoked link shows nothing of it.
 */
import { Writable } from "node:stream";
import { eq } from "drizzle-orm";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { hashKey } from "../../db/keys.js";
import { householdLinks, invoices, payments } from "../../db/schema.js";
import { createApp } from "../../src/app.js";
import { createTestApp, TEST_ADMIN_TOKEN, type TestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import {
  createBilledHousehold,
  createInvoice,
  createOrg,
  createPerson,
  createWorld,
} from "../support/factories.js";
import { portalClient, textOf } from "../support/portal.js";

let database: DatabaseHandle;
let app: TestApp;
/** Today in these tests: 2026-12-05 13:00 in Shanghai. */
const NOW = new Date("2026-12-05T05:00:00Z");

beforeAll(async () => {
  database = await openTestDatabase();
  app = createTestApp(database.db, { now: () => NOW });
});
afterAll(async () => database?.close());

/**
 * A household on an operating elevator contract (transfer 2031-01-01) with two bills: 2026-03
 * ¥100.00 paid ¥40.25, and 2026-04 ¥70.10 unpaid: ¥170.10 billed, ¥40.25 paid, ¥129.85 owed.
 */
async function billedHousehold() {
  const billed = await createBilledHousehold(database.db, {
    contract: { transferDate: "2031-01-01" },
  });
  const { contract, subscription, invoice } = billed;
  await database.db.update(invoices).set({ paidAmount: "40.25" }).where(eq(invoices.id, invoice.id));
  await database.db.insert(payments).values({
    invoiceId: invoice.id,
    contractId: contract.id,
    enterpriseOrgId: contract.enterpriseOrgId,
    subscriberKey: subscription.subscriberKey,
    amount: "40.25",
    appliedAmount: "40.25",
    method: "wechat",
    externalRef: `wx-${invoice.id}`,
    receivedOn: "2026-03-10",
  });
  const april = await createInvoice(database.db, contract, {
    subscriberKey: subscription.subscriberKey,
    subscriptionId: subscription.id,
    total: "70.10",
    period: "2026-04",
    issueDate: "2026-04-01",
  });
  return { ...billed, april };
}

async function signedInMember(orgId: string) {
  const person = await createPerson(database.db, orgId, { name: "物业小张" });
  const browser = portalClient(app);
  await browser.signIn(person.login, person.password);
  return browser;
}

async function issue(browser: ReturnType<typeof portalClient>, householdId: string) {
  await browser.get(`/households/${householdId}`);
  const res = await browser.post(`/households/${householdId}/links`);
  const link = /data-testid="household-link">\s*([^<\s]+)/.exec(res.html)?.[1] ?? "";
  return { res, link, token: link.split("/h/")[1] ?? "" };
}

describe("issuing a household link", () => {
  it("shows the link once with its QR code, and stores only its hash", async () => {
    const { world, household } = await billedHousehold();
    const pc = await signedInMember(world.propertyCompany.org.id);
    const list = await pc.get(`/households?q=${encodeURIComponent(world.building.name)}`);
    expect(list.status).toBe(200);
    expect(list.html).toContain(`/households/${household.id}`);

    const { res, link, token } = await issue(pc, household.id);
    expect(res.status).toBe(200);
    expect(link).toMatch(/^http:\/\/localhost\/h\/[\w-]{43}$/);
    expect(res.html).toMatch(/<svg[^>]*role="img"[^>]*aria-label="住户链接二维码：[^"]+"/);
    const rows = await database.db
      .select()
      .from(householdLinks)
      .where(eq(householdLinks.householdId, household.id));
    expect(rows).toHaveLength(1);
    expect(rows[0]?.tokenHash).toBe(hashKey(token));
    expect(rows[0]?.tokenHash).not.toContain(token);
    expect(rows[0]?.issuedByOrgId).toBe(world.propertyCompany.org.id);
    // Shown once: the household's page afterwards lists the link by its first characters only.
    const again = await pc.get(`/households/${household.id}`);
    expect(again.html).not.toContain(token);
    expect(textOf(again.html)).toContain(`${token.slice(0, 6)}…`);
  });

  it("is refused to an issuer outside the community (404) and to an owners committee (403); nothing is written", async () => {
    const { world, household } = await billedHousehold();
    const other = await createWorld(database.db);
    const outsider = await signedInMember(other.propertyCompany.org.id);
    await outsider.get("/households");
    expect((await outsider.post(`/households/${household.id}/links`)).status).toBe(404);
    expect((await outsider.get(`/households/${household.id}`)).status).toBe(404);
    // An enterprise of the street without a contract in the community does not see it either.
    const stranger = await createOrg(database.db, { kind: "enterprise", streetId: world.street.id });
    const enterprise = await signedInMember(stranger.org.id);
    await enterprise.get("/households");
    expect((await enterprise.post(`/households/${household.id}/links`)).status).toBe(404);
    expect(textOf((await enterprise.get("/households")).html)).toContain("没有找到住户");

    const committee = await signedInMember(world.ownersCommittee.org.id);
    await committee.get("/home");
    expect((await committee.post(`/households/${household.id}/links`)).status).toBe(403);

    const rows = await database.db
      .select()
      .from(householdLinks)
      .where(eq(householdLinks.householdId, household.id));
    expect(rows).toEqual([]);
  });

  it("is open to the enterprise with a contract in the community", async () => {
    const { world, household } = await billedHousehold();
    const enterprise = await signedInMember(world.enterprise.org.id);
    const { res, token } = await issue(enterprise, household.id);
    expect(res.status).toBe(200);
    expect((await portalClient(app).get(`/h/${token}`)).status).toBe(200);
  });
});

describe("a resident's link", () => {
  it("shows the household's bills to the fen, its subscription and the transfer date, without an account", async () => {
    const { world, household, invoice, april } = await billedHousehold();
    const pc = await signedInMember(world.propertyCompany.org.id);
    const { token } = await issue(pc, household.id);

    const resident = portalClient(app);
    const page = await resident.get(`/h/${token}`);
    expect(page.status).toBe(200);
    expect(page.headers.get("cache-control")).toBe("no-store");
    expect(page.headers.get("referrer-policy")).toBe("no-referrer");
    const text = textOf(page.html);
    expect(text).toContain(`${world.building.name} ${household.unit}单元 ${household.room}室`);
    expect(text).toContain(world.community.name);
    expect(text).toContain("包月");
    expect(text).toContain("正常");
    // Each bill: amount, paid, outstanding.
    expect(text).toContain(`2026-03 ${invoice.number} 2026年3月16日 ¥100.00 ¥40.25 ¥59.75`);
    expect(text).toContain(`2026-04 ${april.number} 2026年4月16日 ¥70.10 ¥0.00 ¥70.10`);
    expect(text).toContain("账单合计 ¥170.10 已付款 ¥40.25 尚欠 ¥129.85");
    expect(text).toContain("目前尚欠合计： ¥129.85");
    // The transfer date and the days left (2026-12-05 → 2031-01-01).
    expect(text).toContain("2031年1月1日 起，设施归全体业主所有，还有 1,488 天。");
    expect(text).toContain(world.elevator.name);
    // The fee schedule at the household's floor (world.households[4] is on floor 3: ¥40.00).
    expect(household.floor).toBe(3);
    expect(text).toContain("¥40.00（您家在 3 楼）");
  });

  it("once revoked is a 404 page that shows nothing of the household and says whom to ask", async () => {
    const { world, household, invoice } = await billedHousehold();
    const pc = await signedInMember(world.propertyCompany.org.id);
    const { token } = await issue(pc, household.id);
    const [row] = await database.db
      .select()
      .from(householdLinks)
      .where(eq(householdLinks.householdId, household.id));
    const revoked = await pc.post(`/households/${household.id}/links/${row?.id}/revoke`);
    expect(revoked.status).toBe(303);
    const [after] = await database.db
      .select()
      .from(householdLinks)
      .where(eq(householdLinks.id, row?.id ?? ""));
    expect(after?.revokedAt).not.toBeNull();

    const page = await portalClient(app).get(`/h/${token}`);
    expect(page.status).toBe(404);
    expect(page.headers.get("cache-control")).toBe("no-store");
    const text = textOf(page.html);
    expect(text).toContain("这个链接用不了");
    expect(text).toContain("请联系小区物业服务中心");
    for (const secret of [
      world.building.name,
      world.community.name,
      invoice.number,
      "¥100.00",
      household.room,
    ]) {
      expect(text).not.toContain(secret);
    }
    const unknown = await portalClient(app).get(`/h/${"x".repeat(43)}`);
    expect(unknown.status).toBe(404);
    expect(textOf(unknown.html)).toContain("这个链接用不了");
  });

  it("keeps the token out of the request log", async () => {
    const { world, household } = await billedHousehold();
    const pc = await signedInMember(world.propertyCompany.org.id);
    const { token } = await issue(pc, household.id);
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logged = createApp({
      db: database.db,
      logger: pino({ level: "info" }, sink),
      clock: () => NOW,
      adminTokenHash: hashKey(TEST_ADMIN_TOKEN),
    });
    const res = await logged.request(`/h/${token}`, { headers: { accept: "text/html" } });
    expect(res.status).toBe(200);
    const log = lines.join("");
    expect(log).toContain('"path":"/h/[token]"');
    expect(log).not.toContain(token);
  });
});
