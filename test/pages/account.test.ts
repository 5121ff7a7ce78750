/**
 * People, not keys: an admin invites a member with a one-time link, the member chooses a password
 * and signs in; sessions live in the database, forms can not be forged, guessing is throttled.
 */
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { invitations, people, portalSessions, signInAttempts } from "../../db/schema.js";
import { loggedPath } from "../../src/app.js";
import {
  runPortalUpkeep,
  SIGN_IN_FAILURES_PER_ADDRESS,
  SIGN_IN_FAILURES_PER_LOGIN,
} from "../../src/services/people.js";
import { createTestApp, type TestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import { createOrg, createPerson, createStreet, createWorld, TEST_PASSWORD } from "../support/factories.js";
import { portalClient, textOf } from "../support/portal.js";

let database: DatabaseHandle;
let app: TestApp;

beforeAll(async () => {
  database = await openTestDatabase();
  app = createTestApp(database.db);
});
afterAll(async () => database?.close());

async function committeeAdmin() {
  const world = await createWorld(database.db);
  const admin = await createPerson(database.db, world.ownersCommittee.org.id, {
    role: "admin",
    name: "李主任",
  });
  return { world, admin };
}

describe("an invitation", () => {
  it("is shown once to the admin, lets the invited member choose a password, and works only once", async () => {
    const { world, admin } = await committeeAdmin();
    const browser = portalClient(app);
    await browser.signIn(admin.login, admin.password);
    await browser.get("/members");
    const issued = await browser.post("/members/invite", { name: "王秀英", role: "member" });
    expect(issued.status).toBe(200);
    const link = /data-testid="invitation-link">\s*([^<\s]+)/.exec(issued.html)?.[1] ?? "";
    expect(link).toMatch(/\/invitations\/[\w-]{43}$/);
    // Only its hash is stored; the list does not show the link again.
    const token = link.split("/").pop() ?? "";
    const [row] = await database.db.select().from(invitations).where(eq(invitations.name, "王秀英"));
    expect(row?.tokenHash).not.toContain(token);
    expect((await browser.get("/members")).html).not.toContain(token);

    const member = portalClient(app);
    const opened = await member.get(`/invitations/${token}`);
    expect(opened.status).toBe(200);
    expect(textOf(opened.html)).toContain(`${world.ownersCommittee.org.name} 邀请 王秀英 加入平台`);
    const accepted = await member.post(`/invitations/${token}`, {
      login: "Wang.XiuYing@Example.test",
      password: "十月的梧桐叶落满了小区",
      password2: "十月的梧桐叶落满了小区",
    });
    expect(accepted.status).toBe(303);
    expect(accepted.location).toBe("/home");
    const home = await member.get("/home");
    expect(textOf(home.html)).toContain("您好，王秀英");
    const [person] = await database.db
      .select()
      .from(people)
      .where(eq(people.login, "wang.xiuying@example.test"));
    expect(person?.organizationId).toBe(world.ownersCommittee.org.id);
    expect(person?.passwordHash).toMatch(/^scrypt\$32768\$8\$1\$/);

    const again = await portalClient(app).get(`/invitations/${token}`);
    expect(again.status).toBe(410);
    expect(textOf(again.html)).toContain("这个邀请链接已失效");
  });

  it("refuses a short password and two passwords that differ, keeping the invitation open", async () => {
    const { admin } = await committeeAdmin();
    const browser = portalClient(app);
    await browser.signIn(admin.login, admin.password);
    await browser.get("/members");
    const issued = await browser.post("/members/invite", { name: "赵大伯", role: "member" });
    const token = /\/invitations\/([\w-]{43})/.exec(issued.html)?.[1] ?? "";
    const member = portalClient(app);
    await member.get(`/invitations/${token}`);
    const short = await member.post(`/invitations/${token}`, {
      login: "13800000001",
      password: "short",
      password2: "short",
    });
    expect(short.status).toBe(400);
    expect(textOf(short.html)).toContain("密码太短，至少 10 个字符。");
    const differ = await member.post(`/invitations/${token}`, {
      login: "13800000001",
      password: "a long enough password",
      password2: "another long password",
    });
    expect(differ.status).toBe(400);
    expect(textOf(differ.html)).toContain("两次输入的密码不一致。");
    expect((await member.get(`/invitations/${token}`)).status).toBe(200);
  });

  it("expires after seven days", async () => {
    const { admin } = await committeeAdmin();
    let now = new Date("2026-12-01T02:00:00Z");
    const timed = createTestApp(database.db, { now: () => now });
    const browser = portalClient(timed);
    await browser.signIn(admin.login, admin.password);
    await browser.get("/members");
    const issued = await browser.post("/members/invite", { name: "钱阿姨", role: "member" });
    const token = /\/invitations\/([\w-]{43})/.exec(issued.html)?.[1] ?? "";
    now = new Date("2026-12-08T01:59:00Z");
    expect((await portalClient(timed).get(`/invitations/${token}`)).status).toBe(200);
    now = new Date("2026-12-08T02:00:00Z");
    expect((await portalClient(timed).get(`/invitations/${token}`)).status).toBe(410);
  });

  it("is for the organization's admins only: a member is refused the members page", async () => {
    const world = await createWorld(database.db);
    const member = await createPerson(database.db, world.ownersCommittee.org.id, { role: "member" });
    const browser = portalClient(app);
    await browser.signIn(member.login, member.password);
    const page = await browser.get("/members");
    expect(page.status).toBe(403);
    expect(textOf(page.html)).toContain("无法执行此操作");
    const sent = await browser.post("/members/invite", { name: "冒名者", role: "admin" });
    expect(sent.status).toBe(403);
    const rows = await database.db
      .select()
      .from(invitations)
      .where(
        and(eq(invitations.organizationId, world.ownersCommittee.org.id), eq(invitations.name, "冒名者")),
      );
    expect(rows).toEqual([]);
  });
});

describe("a session", () => {
  it("is a __Host- cookie, httpOnly, Secure and SameSite=Lax, stored only as a hash", async () => {
    const world = await createWorld(database.db);
    const person = await createPerson(database.db, world.propertyCompany.org.id);
    const browser = portalClient(app);
    const res = await browser.signIn(person.login, person.password);
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith("__Host-bot_session=")) ?? "";
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; Secure/);
    expect(cookie).toMatch(/; SameSite=Lax/);
    expect(cookie).toMatch(/; Path=\//);
    expect(cookie).not.toMatch(/Domain=/i);
    const token = browser.cookies.get("__Host-bot_session") ?? "";
    const rows = await database.db
      .select()
      .from(portalSessions)
      .where(eq(portalSessions.personId, person.id));
    expect(rows).toHaveLength(1);
    expect(rows[0]?.tokenHash).not.toBe(token);
  });

  it("ends everywhere on signing out: the old cookie no longer opens a page", async () => {
    const world = await createWorld(database.db);
    const person = await createPerson(database.db, world.enterprise.org.id);
    const browser = portalClient(app);
    await browser.signIn(person.login, person.password);
    const stolen = browser.cookies.get("__Host-bot_session") ?? "";
    expect((await browser.get("/home")).status).toBe(200);
    const out = await browser.post("/sign-out");
    expect(out.status).toBe(303);
    const replay = await app.request("/home", {
      headers: { cookie: `__Host-bot_session=${stolen}`, accept: "text/html" },
    });
    expect(replay.status).toBe(303);
    expect(replay.headers.get("location")).toBe("/sign-in?next=%2Fhome");
  });

  it("ends when the admin disables the member", async () => {
    const { world, admin } = await committeeAdmin();
    const member = await createPerson(database.db, world.ownersCommittee.org.id);
    const memberBrowser = portalClient(app);
    await memberBrowser.signIn(member.login, member.password);
    const adminBrowser = portalClient(app);
    await adminBrowser.signIn(admin.login, admin.password);
    await adminBrowser.get("/members");
    expect((await adminBrowser.post(`/members/${member.id}/disable`)).status).toBe(303);
    expect((await memberBrowser.get("/home")).status).toBe(303);
    await memberBrowser.get("/sign-in");
    const again = await memberBrowser.post("/sign-in", { login: member.login, password: member.password });
    expect(again.status).toBe(401);
  });
});

describe("forms can not be forged", () => {
  it("a signed-in form post without the token, or with another session's, is refused and changes nothing", async () => {
    const { world, admin } = await committeeAdmin();
    const browser = portalClient(app);
    await browser.signIn(admin.login, admin.password);
    await browser.get("/members");
    for (const token of [null, "", "x".repeat(43)]) {
      const forged = await browser.post("/members/invite", {
        _csrf: token,
        name: "伪造的邀请",
        role: "admin",
      });
      expect(forged.status).toBe(403);
      expect(textOf(forged.html)).toContain("表单已过期");
    }
    const rows = await database.db
      .select()
      .from(invitations)
      .where(
        and(eq(invitations.organizationId, world.ownersCommittee.org.id), eq(invitations.name, "伪造的邀请")),
      );
    expect(rows).toEqual([]);
  });

  it("signing in needs the token this browser was given (no sign-in from another site's form)", async () => {
    const world = await createWorld(database.db);
    const person = await createPerson(database.db, world.enterprise.org.id);
    const browser = portalClient(app);
    const res = await browser.post("/sign-in", {
      _csrf: null,
      login: person.login,
      password: person.password,
    });
    expect(res.status).toBe(403);
    expect(browser.cookies.has("__Host-bot_session")).toBe(false);
  });
});

describe("signing in", () => {
  it("says the same for an unknown login and a wrong password, and goes back where the person was headed", async () => {
    const world = await createWorld(database.db);
    const person = await createPerson(database.db, world.enterprise.org.id);
    const browser = portalClient(app);
    expect((await browser.get("/members")).location).toBe("/sign-in?next=%2Fmembers");
    await browser.get("/sign-in?next=%2Fhome");
    const unknown = await browser.post("/sign-in?next=%2Fhome", {
      login: "nobody@example.test",
      password: TEST_PASSWORD,
    });
    const wrong = await browser.post("/sign-in?next=%2Fhome", {
      login: person.login,
      password: "not the password",
    });
    expect([unknown.status, wrong.status]).toEqual([401, 401]);
    expect(textOf(unknown.html)).toContain("账号或密码不正确。");
    expect(textOf(wrong.html)).toContain("账号或密码不正确。");
    const ok = await browser.post("/sign-in?next=%2Fhome", {
      login: person.login.toUpperCase(),
      password: person.password,
    });
    expect(ok.location).toBe("/home");
    // Never to another site.
    await browser.post("/sign-out");
    await browser.get("/sign-in");
    const away = await browser.post("/sign-in?next=%2F%2Fevil.example", {
      login: person.login,
      password: person.password,
    });
    expect(away.location).toBe("/home");
  });

  it(`is throttled per account: after ${SIGN_IN_FAILURES_PER_LOGIN} wrong passwords even the right one waits a quarter hour`, async () => {
    const world = await createWorld(database.db);
    const person = await createPerson(database.db, world.enterprise.org.id);
    let now = new Date("2026-12-05T01:00:00Z");
    const timed = createTestApp(database.db, { now: () => now });
    for (let i = 0; i < SIGN_IN_FAILURES_PER_LOGIN; i++) {
      const guesser = portalClient(timed, { address: `10.0.0.${i + 1}` });
      await guesser.get("/sign-in");
      expect((await guesser.post("/sign-in", { login: person.login, password: `guess ${i}` })).status).toBe(
        401,
      );
    }
    const owner = portalClient(timed, { address: "10.9.9.9" });
    await owner.get("/sign-in");
    const refused = await owner.post("/sign-in", { login: person.login, password: person.password });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBe(15 * 60);
    expect(textOf(refused.html)).toContain("尝试次数过多，请 15 分钟后再试。");
    now = new Date("2026-12-05T01:15:01Z");
    expect((await owner.post("/sign-in", { login: person.login, password: person.password })).status).toBe(
      303,
    );
  });

  it(`is throttled per address: after ${SIGN_IN_FAILURES_PER_ADDRESS} failures from one address, other accounts wait too`, async () => {
    const street = await createStreet(database.db);
    const { org } = await createOrg(database.db, { kind: "enterprise", streetId: street.id });
    const person = await createPerson(database.db, org.id);
    const address = `10.1.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`;
    // All but the last failure as rows (each real one costs a scrypt), the last through the form.
    const now = Date.now();
    await database.db.insert(signInAttempts).values(
      Array.from({ length: SIGN_IN_FAILURES_PER_ADDRESS - 1 }, (_, i) => ({
        login: `someone${i}@example.test`,
        address,
        succeeded: false,
        at: new Date(now - 60_000 + i),
      })),
    );
    const guesser = portalClient(app, { address });
    await guesser.get("/sign-in");
    const last = await guesser.post("/sign-in", {
      login: "someone-else@example.test",
      password: "123456789012",
    });
    expect(last.status).toBe(401);
    expect((await guesser.post("/sign-in", { login: person.login, password: person.password })).status).toBe(
      429,
    );
    const elsewhere = portalClient(app, { address: "10.2.0.1" });
    await elsewhere.get("/sign-in");
    expect(
      (await elsewhere.post("/sign-in", { login: person.login, password: person.password })).status,
    ).toBe(303);
    const counted = await database.db
      .select()
      .from(signInAttempts)
      .where(eq(signInAttempts.address, address));
    expect(counted).toHaveLength(SIGN_IN_FAILURES_PER_ADDRESS);
  });
});

describe("pages that do not exist", () => {
  it("answer a browser with the 404 page in Chinese, and the API with problem+json as before", async () => {
    const page = await app.request("/no-such-page", { headers: { accept: "text/html" } });
    expect(page.status).toBe(404);
    expect(page.headers.get("content-type")).toContain("text/html");
    const html = await page.text();
    expect(html).toContain('<html lang="zh-CN">');
    expect(textOf(html)).toContain("找不到这个页面");
    const api = await app.request("/v1/no-such-thing", { headers: { accept: "text/html" } });
    expect(api.status).toBe(401);
    const apiPost = await app.request("/v1/no-such-thing", {
      method: "POST",
      headers: { authorization: "Bearer x" },
    });
    expect(apiPost.headers.get("content-type")).toContain("application/problem+json");
  });

  it("switch to English and back", async () => {
    const browser = portalClient(app);
    const switched = await browser.get("/lang?to=en&back=%2Fsign-in");
    expect(switched.location).toBe("/sign-in");
    const page = await browser.get("/sign-in");
    expect(page.html).toContain('<html lang="en">');
    expect(textOf(page.html)).toContain("Sign in with your login");
  });
});

describe("the first person of an organization", () => {
  it("is invited with the organization's admin key through the API; the link is shown once and opens the portal", async () => {
    const world = await createWorld(database.db);
    const res = await app.request(`/v1/organizations/${world.propertyCompany.org.id}/invitations`, {
      method: "POST",
      headers: { authorization: `Bearer ${world.propertyCompany.key}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "张建华", role: "admin" }),
    });
    expect(res.status).toBe(201);
    const issued = (await res.json()) as { path: string; role: string; expiresAt: string };
    expect(issued.role).toBe("admin");
    expect(issued.path).toMatch(/^\/invitations\/[\w-]{43}$/);
    const browser = portalClient(app);
    await browser.get(issued.path);
    const accepted = await browser.post(issued.path, {
      login: `zhang.${Date.now()}@example.test`,
      password: "物业办公室的窗外有棵桂花树",
      password2: "物业办公室的窗外有棵桂花树",
    });
    expect(accepted.location).toBe("/home");
    expect((await browser.get("/members")).status).toBe(200);
  });
});

describe("the portal's upkeep", () => {
  it("forgets sign-in attempts older than a day and sessions ended or expired 90 days ago, and nothing newer", async () => {
    const world = await createWorld(database.db);
    const person = await createPerson(database.db, world.enterprise.org.id);
    const now = new Date("2030-01-01T00:00:00Z");
    const day = 86_400_000;
    const login = `upkeep-${person.id}`;
    await database.db.insert(signInAttempts).values([
      { login, address: "10.3.0.1", succeeded: false, at: new Date(now.getTime() - day - 1) },
      { login, address: "10.3.0.1", succeeded: false, at: new Date(now.getTime() - day + 60_000) },
    ]);
    const session = (tokenHash: string, expiresAt: Date, endedAt: Date | null = null) => ({
      tokenHash,
      personId: person.id,
      expiresAt,
      endedAt,
    });
    const tag = person.id.slice(0, 8);
    await database.db
      .insert(portalSessions)
      .values([
        session(`old-expired-${tag}`, new Date(now.getTime() - 91 * day)),
        session(`old-ended-${tag}`, new Date(now.getTime() + day), new Date(now.getTime() - 91 * day)),
        session(`recent-ended-${tag}`, new Date(now.getTime() + day), new Date(now.getTime() - 89 * day)),
        session(`live-${tag}`, new Date(now.getTime() + day)),
      ]);
    await runPortalUpkeep({ db: database.db, clock: () => now });
    const attempts = await database.db.select().from(signInAttempts).where(eq(signInAttempts.login, login));
    expect(attempts.map((a) => a.at.getTime())).toEqual([now.getTime() - day + 60_000]);
    const left = await database.db
      .select()
      .from(portalSessions)
      .where(eq(portalSessions.personId, person.id));
    expect(left.map((s) => s.tokenHash).sort()).toEqual([`live-${tag}`, `recent-ended-${tag}`]);
  });
});

describe("secrets in paths", () => {
  it("are left out of the request log: an invitation's token and a household link's", () => {
    expect(loggedPath("/invitations/3q2-7wXyABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghi")).toBe(
      "/invitations/[token]",
    );
    expect(loggedPath("/h/3q2-7wXyABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghi")).toBe("/h/[token]");
    expect(loggedPath("/members/invitations/0b7f/revoke")).toBe("/members/invitations/0b7f/revoke");
  });
});
