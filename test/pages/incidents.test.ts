/**
 * The incident board (/incidents): the property company sees its communities' incidents, open ones
 * first, and classifies one in a tap or two; another community sees none of it; the live feed
 * reads with the person's session cookie (for the board's EventSource), only for reading, and ends
 * when the session does.
 */
import { eq } from "drizzle-orm";
import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { hashKey } from "../../db/keys.js";
import { incidents } from "../../db/schema.js";
import { createApp } from "../../src/app.js";
import { createElevator, createIotWorld, createSensor } from "../iot/support.js";
import { TEST_ADMIN_TOKEN, type TestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import { createPerson, createWorld, type World } from "../support/factories.js";
import { type PortalClient, portalClient, textOf } from "../support/portal.js";

let database: DatabaseHandle;
let app: TestApp;

beforeAll(async () => {
  database = await openTestDatabase();
  // As the Node entry builds it, with the feed's access re-check every 200 ms (not 5 s).
  app = createApp({
    db: database.db,
    logger: pino({ level: "silent" }),
    clock: () => new Date(),
    adminTokenHash: hashKey(TEST_ADMIN_TOKEN),
    feedRecheckMs: 200,
  });
});
afterAll(async () => database?.close());

/** An incident of a new elevator (with its sensor) of the world's community, as the ingest writes one. */
async function incidentIn(
  world: World,
  opts: { kind?: "ebike" | "sensor_offline"; closed?: boolean; minutesAgo?: number } = {},
) {
  const elevator = await createElevator(database.db, world);
  const sensor = await createSensor(database.db, world, elevator.id);
  const openedAt = new Date(Date.now() - (opts.minutesAgo ?? 5) * 60_000);
  const [row] = await database.db
    .insert(incidents)
    .values({
      kind: opts.kind ?? "ebike",
      sensorId: sensor.id,
      facilityId: elevator.id,
      communityId: world.community.id,
      streetId: world.street.id,
      openedAt,
      detections: 2,
      ...(opts.closed ? { closedAt: new Date(openedAt.getTime() + 95_500), haltSeconds: 95 } : {}),
    })
    .returning();
  if (!row) throw new Error("no incident");
  return { incident: row, elevator, sensor };
}

async function signedIn(orgId: string, name?: string): Promise<PortalClient> {
  const person = await createPerson(database.db, orgId, name ? { name } : {});
  const browser = portalClient(app);
  await browser.signIn(person.login, person.password);
  return browser;
}

describe("the board", () => {
  it("lists the property company's incidents, open ones first and e-bike halts marked, with the elevator's names and Shanghai times", async () => {
    const world = await createIotWorld(database.db);
    const ended = await incidentIn(world, { closed: true, minutesAgo: 1 });
    const halt = await incidentIn(world, { minutesAgo: 30 });
    const pc = await signedIn(world.propertyCompany.org.id);
    const page = await pc.get("/incidents");
    expect(page.status).toBe(200);
    const html = page.html;
    // Open first, although it opened before the ended one.
    const openAt = html.indexOf(`id="incident-${halt.incident.id}"`);
    const endedAt = html.indexOf(`id="incident-${ended.incident.id}"`);
    expect(openAt).toBeGreaterThan(0);
    expect(endedAt).toBeGreaterThan(openAt);
    const card = html.slice(openAt, endedAt);
    expect(card).toContain('class="card incident halt"');
    expect(textOf(card)).toContain("⚠ 电动车阻梯");
    expect(textOf(card)).toContain("电梯已停住，等待电动车离开");
    expect(textOf(card)).toContain(halt.elevator.name);
    expect(textOf(card)).toContain(world.building.name);
    expect(textOf(card)).toContain(world.community.name);
    const shanghai = new Intl.DateTimeFormat("zh-CN", {
      timeZone: "Asia/Shanghai",
      dateStyle: "medium",
      timeStyle: "short",
      hourCycle: "h23",
    }).format(halt.incident.openedAt);
    expect(textOf(card)).toContain(shanghai);
    expect(textOf(card)).toContain("确认是电动车");
    expect(textOf(html.slice(endedAt))).toContain("1分35秒");
    // The live part: the script asset and the feed after the page's cursor; a polite live region.
    expect(html).toMatch(/<script src="\/assets\/incidents-board\.js\?v=\w+" defer(="")?>/);
    expect(html).toMatch(/data-feed="\/v1\/incidents\/stream\?lastEventId=\d+"/);
    expect(html).toContain('aria-live="polite"');
    expect(html).not.toMatch(/<script>|<script [^>]*>[^<]/);
  });

  it("is read by the owners committee and the street office too, and in English after the switch", async () => {
    const world = await createIotWorld(database.db);
    const { incident, elevator } = await incidentIn(world);
    const office = await signedIn(world.streetOffice.org.id);
    const page = await office.get("/incidents");
    expect(page.html).toContain(`id="incident-${incident.id}"`);
    expect(textOf(page.html)).toContain(elevator.name);
    expect(textOf(page.html)).not.toContain("确认是电动车");
    const oc = await signedIn(world.ownersCommittee.org.id);
    expect((await oc.get(`/incidents/${incident.id}`)).status).toBe(200);
    await oc.get("/lang?to=en&back=/incidents");
    const english = textOf((await oc.get("/incidents")).html);
    expect(english).toContain("Elevator alerts");
    expect(english).toContain("⚠ E-bike halt");
    expect(english).toContain("The car is halted until the e-bike leaves");
  });

  it("says so in words when nothing happens", async () => {
    const world = await createWorld(database.db);
    const pc = await signedIn(world.propertyCompany.org.id);
    const text = textOf((await pc.get("/incidents")).html);
    expect(text).toContain("现在没有正在发生的告警。");
    expect(text).toContain("还没有结束的告警。");
  });

  it("sends a person who is not signed in to sign in first", async () => {
    const res = await portalClient(app).get("/incidents");
    expect(res.status).toBe(303);
    expect(res.location).toBe("/sign-in?next=%2Fincidents");
  });
});

describe("classifying", () => {
  it("records a false alarm with its reason for the property company, and offers no buttons after", async () => {
    const world = await createIotWorld(database.db);
    const { incident } = await incidentIn(world);
    const pc = await signedIn(world.propertyCompany.org.id, "物业值班员张师傅");
    await pc.get("/incidents");
    const res = await pc.post(`/incidents/${incident.id}/acknowledge`, {
      classification: "false_alarm",
      reason: "stroller",
      note: "推婴儿车的住户",
    });
    expect(res.status).toBe(303);
    expect(res.location).toBe("/incidents?classified=false_alarm");
    const [row] = await database.db.select().from(incidents).where(eq(incidents.id, incident.id));
    expect(row).toMatchObject({
      classification: "false_alarm",
      falseAlarmReason: "stroller",
      note: "推婴儿车的住户",
      acknowledgedByOrgId: world.propertyCompany.org.id,
      acknowledgedByName: "物业值班员张师傅",
    });
    expect(row?.acknowledgedByPersonId).toMatch(/^[0-9a-f-]{36}$/);
    const after = await pc.get(res.location ?? "");
    expect(textOf(after.html)).toContain("已记录：误报。");
    const card = after.html.slice(after.html.indexOf(`id="incident-${incident.id}"`));
    expect(textOf(card)).toContain("误报（婴儿车），由 物业值班员张师傅 处理");
    expect(card.slice(0, card.indexOf("</li>"))).not.toContain("确认是电动车");
    // Twice: the table's refusal, in words, on the board.
    const again = await pc.post(`/incidents/${incident.id}/acknowledge`, { classification: "confirmed" });
    expect(again.status).toBe(409);
    expect(textOf(again.html)).toContain("这条告警已经有人确认过了。");
  });

  it("confirms an e-bike in one tap, and refuses a false alarm without its reason", async () => {
    const world = await createIotWorld(database.db);
    const { incident } = await incidentIn(world);
    const pc = await signedIn(world.propertyCompany.org.id);
    await pc.get("/incidents");
    const missing = await pc.post(`/incidents/${incident.id}/acknowledge`, { classification: "false_alarm" });
    expect(missing.status).toBe(400);
    expect(textOf(missing.html)).toContain("请选择误报的原因。");
    const res = await pc.post(`/incidents/${incident.id}/acknowledge`, { classification: "confirmed" });
    expect(res.status).toBe(303);
    const [row] = await database.db.select().from(incidents).where(eq(incidents.id, incident.id));
    expect(row).toMatchObject({ classification: "confirmed", falseAlarmReason: null });
  });

  it("offers the owners committee no buttons and refuses its post", async () => {
    const world = await createIotWorld(database.db);
    const { incident } = await incidentIn(world);
    const oc = await signedIn(world.ownersCommittee.org.id);
    const page = await oc.get("/incidents");
    expect(page.html).toContain(`id="incident-${incident.id}"`);
    expect(textOf(page.html)).not.toContain("确认是电动车");
    const res = await oc.post(`/incidents/${incident.id}/acknowledge`, { classification: "confirmed" });
    expect(res.status).toBe(403);
    expect(textOf(res.html)).toContain("只有物业公司可以");
    const [row] = await database.db.select().from(incidents).where(eq(incidents.id, incident.id));
    expect(row?.acknowledgedAt).toBeNull();
  });
});

describe("another community", () => {
  it("sees none of it: absent from its board, 404 on the incident's page, card and form", async () => {
    const world = await createIotWorld(database.db);
    const { incident, elevator } = await incidentIn(world);
    const other = await createWorld(database.db);
    const stranger = await signedIn(other.propertyCompany.org.id);
    const board = await stranger.get("/incidents");
    expect(board.status).toBe(200);
    expect(board.html).not.toContain(incident.id);
    expect(board.html).not.toContain(elevator.name);
    for (const path of [`/incidents/${incident.id}`, `/incidents/${incident.id}/card`]) {
      const res = await stranger.get(path);
      expect(res.status).toBe(404);
      expect(textOf(res.html)).toContain("找不到这个页面");
      expect(res.html).not.toContain(elevator.name);
    }
    const post = await stranger.post(`/incidents/${incident.id}/acknowledge`, {
      classification: "confirmed",
    });
    expect(post.status).toBe(404);
    const [row] = await database.db.select().from(incidents).where(eq(incidents.id, incident.id));
    expect(row?.acknowledgedAt).toBeNull();
    expect((await stranger.get("/incidents/not-an-id")).status).toBe(404);
  });
});

// ---- the live feed with the session cookie ------------------------------------------------------

const opened: AbortController[] = [];
afterEach(() => {
  for (const a of opened.splice(0)) a.abort();
});

function cookieOf(browser: PortalClient): string {
  return [...browser.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
}

/** Opens the feed with only the browser's cookies (as EventSource does) and reads it block by block. */
async function feedOf(browser: PortalClient) {
  const abort = new AbortController();
  opened.push(abort);
  const res = await app.request("/v1/incidents/stream", {
    headers: { cookie: cookieOf(browser), accept: "text/event-stream" },
    signal: abort.signal,
  });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/event-stream");
  if (!res.body) throw new Error("no body");
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  /** A read still under way when the last wait timed out: the next wait takes its chunk. */
  let pending: ReturnType<typeof reader.read> | null = null;
  /** The text up to the stream's end or until `until` matches it (or throws after timeoutMs). */
  async function readUntil(
    until: RegExp | null,
    timeoutMs = 8_000,
  ): Promise<{ text: string; ended: boolean }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (until?.test(buffer)) return { text: buffer, ended: false };
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; read so far: ${buffer}`);
      pending ??= reader.read();
      const chunk = await Promise.race([
        pending,
        new Promise<"timeout">((r) => setTimeout(() => r("timeout"), left)),
      ]);
      if (chunk === "timeout") continue;
      pending = null;
      if (chunk.done) return { text: buffer, ended: true };
      buffer += chunk.value;
    }
  }
  return { readUntil };
}

describe("the live feed read with a session", () => {
  it("streams the person's incidents to the session cookie alone; a write with only the cookie is refused", async () => {
    const world = await createIotWorld(database.db);
    const pc = await signedIn(world.propertyCompany.org.id);
    const feed = await feedOf(pc);
    await feed.readUntil(/: incident feed after event \d+\n\n/);
    const { incident } = await incidentIn(world);
    const { text } = await feed.readUntil(
      new RegExp(`event: incident\\.opened\\ndata: \\{"id":"${incident.id}"`),
    );
    expect(text).toContain('"kind":"ebike","state":"open"');
    // Not another community's.
    const other = await createWorld(database.db);
    const stranger = await signedIn(other.propertyCompany.org.id);
    const theirs = await feedOf(stranger);
    await theirs.readUntil(/: incident feed after event \d+\n\n/);
    await incidentIn(world);
    await expect(theirs.readUntil(/event: incident\./, 1_500)).rejects.toThrow(/timed out/);

    const write = await app.request(`/v1/incidents/${incident.id}/acknowledge`, {
      method: "POST",
      headers: { cookie: cookieOf(pc), "content-type": "application/json" },
      body: JSON.stringify({ classification: "confirmed" }),
    });
    expect(write.status).toBe(401);
    const [row] = await database.db.select().from(incidents).where(eq(incidents.id, incident.id));
    expect(row?.acknowledgedAt).toBeNull();
    // A read of the API with the cookie works; without a cookie or with an ended one, 401.
    const read = await app.request(`/v1/incidents/${incident.id}`, { headers: { cookie: cookieOf(pc) } });
    expect(read.status).toBe(200);
    expect((await app.request(`/v1/incidents/${incident.id}`)).status).toBe(401);
  });

  it("ends a signed-out session's stream", async () => {
    const world = await createIotWorld(database.db);
    const pc = await signedIn(world.propertyCompany.org.id);
    const cookie = cookieOf(pc);
    const feed = await feedOf(pc);
    await feed.readUntil(/: incident feed after event \d+\n\n/);
    await pc.get("/home");
    expect((await pc.post("/sign-out")).status).toBe(303);
    const { text, ended } = await feed.readUntil(null, 5_000);
    expect(ended).toBe(true);
    expect(text).toContain(": access ended: the session ended");
    const again = await app.request("/v1/incidents/stream", { headers: { cookie } });
    expect(again.status).toBe(401);
  });
});
