/**
 * The Workers entry under workerd (wrangler's dev server over wrangler.toml), against a real
 * PostgreSQL with the migrations applied: a database of this file's own, on DATABASE_URL's server
 * or, on the embedded defaults, on a PostgreSQL server of its own (a Worker reaches PostgreSQL
 * through Hyperdrive; it can not run PGlite). The scheduled jobs sweep every row, so no other
 * test's rows may be in their way.
 *
 * The same calls go to the Node app (createApp over a pool) and to the Worker, for every role,
 * and must get the same answers.
 */
import { randomUUID } from "node:crypto";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { periodOf } from "../../contracts/index.js";
import { incidents, sensors, subscriptions } from "../../db/schema.js";
import type { Role } from "../../src/auth/principal.js";
import { buildWorker, type WorkerBuild } from "../../src/cli/build-worker.js";
import { loadConfig } from "../../src/config.js";
import { SCHEDULED_JOBS } from "../../src/scheduled.js";
import { addSensor, buildFixture } from "../authz/fixtures.js";
import type { Fixture } from "../authz/matrix.js";
import { countEvents, createElevator, createSensor, event, waitFor } from "../iot/support.js";
import { client, createTestApp, TEST_ADMIN_TOKEN, type TestApp } from "../support/app.js";
import { createScratchDatabase, type ScratchDatabase } from "../support/db.js";
import { createPerson } from "../support/factories.js";
import { portalClient, textOf } from "../support/portal.js";
import { type PrivatePostgres, startPrivatePostgres } from "../support/private-postgres.js";
import { startBundledWorker, startTestWorker, type TestWorker, workerClient } from "../support/worker.js";

const { DATABASE_URL } = loadConfig(process.env);
/** How long a followed feed runs on the Worker under test (FEED_MAX_S). */
const FEED_MAX_S = 3;

let server: PrivatePostgres | null = null;
let database: ScratchDatabase;
let node: TestApp;
let worker: TestWorker;
/** The world whose reads are compared; the writes of each runtime go to a world of its own. */
let shared: Fixture;
let nodeWorld: Fixture;
let workerWorld: Fixture;
/** Another street: its contract is out of every organization's scope. */
let elsewhere: Fixture;
/** The bundle `npm run build:worker` makes, built once by the first test that needs it. */
let built: WorkerBuild | null = null;
const bundleDir = join(tmpdir(), `bot-worker-${process.pid}-${randomUUID().slice(0, 8)}`);
const bundle = () => {
  built ??= buildWorker(bundleDir);
  return built;
};

beforeAll(async () => {
  if (!DATABASE_URL) server = await startPrivatePostgres();
  const serverUrl = DATABASE_URL ?? server?.url;
  if (!serverUrl) throw new Error("no PostgreSQL server");
  database = await createScratchDatabase(serverUrl, `workers_${process.pid}_${randomUUID().slice(0, 8)}`);
  node = createTestApp(database.db);
  const world = async () => addSensor(database.db, node, await buildFixture(database.db, node, "operating"));
  [shared, nodeWorld, workerWorld, elsewhere] = [await world(), await world(), await world(), await world()];
  worker = await startTestWorker(database.url, { FEED_MAX_S: String(FEED_MAX_S) });
}, 120_000);

afterAll(async () => {
  await worker?.dispose();
  await database?.drop();
  await server?.destroy();
  await rm(bundleDir, { recursive: true, force: true });
});

const onNode = (key?: string) => client(node, key);
const onWorker = (key?: string) => workerClient(worker, key);
type Api = ReturnType<typeof onNode>;
type Answer = Awaited<ReturnType<Api["get"]>>;

function keyOf(fx: Fixture, role: Role): string {
  const { world } = fx;
  return {
    platform_admin: TEST_ADMIN_TOKEN,
    street_office: world.streetOffice.key,
    enterprise: world.enterprise.key,
    owners_committee: world.ownersCommittee.key,
    property_company: world.propertyCompany.key,
  }[role];
}

/** What a client relies on: the status, the content type and the body (the request id aside). */
function answer(res: Answer) {
  const body = typeof res.body === "object" && res.body !== null ? { ...res.body } : res.body;
  if (typeof body === "object" && body !== null) delete body.requestId;
  return { status: res.status, type: res.headers.get("content-type"), body };
}

/** An answer about other rows than its twin's: ids, instants and the given labels replaced. */
function shape(res: Answer, labels: string[] = []) {
  let text = JSON.stringify(answer(res));
  for (const label of labels) text = text.replaceAll(label, "<label>");
  text = text
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "<id>")
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)/g, "<instant>");
  return JSON.parse(text);
}

async function expectSameAnswers(calls: { role: Role; path: string; fx?: Fixture }[]) {
  for (const { role, path, fx = shared } of calls) {
    const key = keyOf(fx, role);
    const [fromNode, fromWorker] = [await onNode(key).get(path), await onWorker(key).get(path)];
    expect(answer(fromWorker), `${role} GET ${path} on the Worker`).toEqual(answer(fromNode));
  }
}

const ROLES: Role[] = [
  "platform_admin",
  "street_office",
  "enterprise",
  "owners_committee",
  "property_company",
];

describe("the Workers entry under workerd", () => {
  it("answers /healthz, /readyz, /openapi.json and /docs with its assets as Node does", async () => {
    for (const path of [
      "/healthz",
      "/readyz",
      "/openapi.json",
      "/docs/assets/swagger-ui-dist/swagger-ui.css",
    ]) {
      const [fromNode, fromWorker] = [await onNode().get(path), await onWorker().get(path)];
      expect(fromWorker.status, path).toBe(200);
      if (path.endsWith(".css")) {
        // The test app serves a stand-in stylesheet; the Worker serves the real one from its assets.
        expect(fromWorker.headers.get("content-type")).toBe("text/css; charset=utf-8");
        expect(String(fromWorker.body)).toContain(".swagger-ui");
      } else expect(answer(fromWorker), path).toEqual(answer(fromNode));
    }
    const docs = await onWorker().get("/docs");
    expect(docs.status).toBe(200);
    expect(docs.body).toContain("/docs/assets/swagger-ui-dist/swagger-ui-bundle.js");
    const bundle = await onWorker().get("/docs/assets/swagger-ui-dist/swagger-ui-bundle.js");
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    // Only the two files the docs page needs are served, nothing else of the package.
    expect((await onWorker().get("/docs/assets/swagger-ui-dist/package.json")).status).toBe(404);
    expect((await onWorker().get("/package.json")).status).toBe(404);
  });

  it.each(ROLES)("gives the %s the same lists, details, 403s and 404s as Node", async (role) => {
    const contractId = shared.contractId ?? "";
    const theirs = elsewhere.contractId ?? "";
    const orgId = {
      platform_admin: null,
      street_office: shared.world.streetOffice.org.id,
      enterprise: shared.world.enterprise.org.id,
      owners_committee: shared.world.ownersCommittee.org.id,
      property_company: shared.world.propertyCompany.org.id,
    }[role];
    const calls = [
      // The platform admin sees every street: its list is narrowed to the shared world's community.
      { role, path: `/v1/contracts?communityId=${shared.world.community.id}` },
      { role, path: "/v1/contracts" },
      { role, path: `/v1/contracts/${contractId}` },
      { role, path: `/v1/contracts/${contractId}/versions/1` },
      { role, path: `/v1/incidents?facilityId=${shared.sensor?.elevatorId}` },
      { role, path: `/v1/sensors/${shared.sensor?.id}` },
      { role, path: `/v1/subscriptions/${shared.ledger?.subscriptionId}` },
      // Out of scope (another street), or no such contract for the admin who sees every street.
      { role, path: `/v1/contracts/${role === "platform_admin" ? randomUUID() : theirs}` },
      ...(orgId ? [{ role, path: `/v1/organizations/${orgId}` }] : []),
    ];
    await expectSameAnswers(
      role === "platform_admin" ? calls.filter((c) => c.path !== "/v1/contracts") : calls,
    );

    const forbidden: Record<Role, [string, unknown]> = {
      platform_admin: [`/v1/contracts/${contractId}/comments`, { body: "平台管理员不是合同一方" }],
      street_office: ["/v1/districts", { name: "杨浦区" }],
      enterprise: ["/v1/communities", { name: "国伟新苑", streetId: shared.world.street.id }],
      owners_committee: [
        "/v1/facilities",
        {
          kind: "garage",
          communityId: shared.world.community.id,
          name: "非机动车库",
          garageSize: "mini",
          parkingCapacity: 20,
          chargingPoints: 8,
        },
      ],
      property_company: ["/v1/sensors", { facilityId: shared.world.elevator.id, name: "轿厢AI摄像头" }],
    };
    const [path, body] = forbidden[role];
    const key = keyOf(shared, role);
    const [fromNode, fromWorker] = [await onNode(key).post(path, body), await onWorker(key).post(path, body)];
    expect(fromWorker.status, `${role} POST ${path}`).toBe(403);
    expect(answer(fromWorker)).toEqual(answer(fromNode));
  });

  it("streams the same CSV exports as Node does (docs/api.md, CSV export)", async () => {
    const key = shared.world.streetOffice.key;
    const csv = { accept: "text/csv" };
    for (const path of [
      `/v1/incidents?facilityId=${shared.sensor?.elevatorId}`,
      "/v1/dead-letters",
      `/v1/contracts/${shared.contractId}/invoices`,
      `/v1/contracts/${shared.contractId}/receivables`,
    ]) {
      const [fromNode, fromWorker] = [await onNode(key).get(path, csv), await onWorker(key).get(path, csv)];
      expect(fromWorker.status, path).toBe(200);
      expect(fromWorker.headers.get("content-type"), path).toMatch(/^text\/csv/);
      expect(answer(fromWorker), `GET ${path} as CSV on the Worker`).toEqual(answer(fromNode));
    }
    // Not only headers: the shared world's sensor has an incident.
    const incidents = await onWorker(key).get(`/v1/incidents?facilityId=${shared.sensor?.elevatorId}`, csv);
    expect(String(incidents.body)).toContain(shared.sensor?.incidentId);
  });

  it("corrupts no array: an organization's communities and a contract's facilities are lists of ids", async () => {
    const committee = onWorker(shared.world.ownersCommittee.key);
    const org = await committee.get(`/v1/organizations/${shared.world.ownersCommittee.org.id}`);
    expect(org.status).toBe(200);
    expect(org.body.communityIds).toEqual([shared.world.community.id]);
    const contract = await committee.get(`/v1/contracts/${shared.contractId}`);
    expect(contract.status).toBe(200);
    expect(contract.body.facilityIds).toEqual([shared.world.elevator.id]);
  });

  it.each(ROLES)("lets the %s write as Node does", async (role) => {
    const write = async (api: (key?: string) => Api, fx: Fixture, label: string) => {
      const key = keyOf(fx, role);
      switch (role) {
        case "platform_admin":
          return api(key).post("/v1/districts", { name: label });
        case "street_office":
          return api(key).post("/v1/communities", { name: label, streetId: fx.world.street.id });
        case "enterprise":
        case "owners_committee":
          return api(key).post(`/v1/contracts/${fx.contractId}/comments`, { body: label });
        case "property_company":
          return api(key).post(`/v1/incidents/${fx.sensor?.incidentId}/acknowledge`, {
            classification: "confirmed",
            note: label,
          });
      }
    };
    const labels = [`node ${randomUUID()}`, `worker ${randomUUID()}`];
    const fromNode = await write(onNode, nodeWorld, labels[0] ?? "");
    const fromWorker = await write(onWorker, workerWorld, labels[1] ?? "");
    expect(fromWorker.status, JSON.stringify(fromWorker.body)).toBeLessThan(300);
    expect(shape(fromWorker, labels)).toEqual(shape(fromNode, labels));
  });

  it("runs a billing run to the fen as Node does, and the repeat of its key answers the same run", async () => {
    // Both worlds' contracts started operating today: bill this month, the first that may be billed.
    const contract = await onWorker(workerWorld.world.enterprise.key).get(
      `/v1/contracts/${workerWorld.contractId}`,
    );
    const period = periodOf(contract.body.operationStartDate);
    const run = (api: (key?: string) => Api, fx: Fixture, idempotencyKey: string) =>
      api(fx.world.enterprise.key).post(
        `/v1/contracts/${fx.contractId}/billing-runs`,
        { period },
        { "idempotency-key": idempotencyKey },
      );
    const keys = [`run-${randomUUID()}`, `run-${randomUUID()}`];
    const fromNode = await run(onNode, nodeWorld, keys[0] ?? "");
    const fromWorker = await run(onWorker, workerWorld, keys[1] ?? "");
    expect(fromWorker.status, JSON.stringify(fromWorker.body)).toBe(201);
    expect(shape(fromWorker, keys)).toEqual(shape(fromNode, keys));
    const again = await run(onWorker, workerWorld, keys[1] ?? "");
    expect(again.status).toBe(201);
    expect(again.body).toEqual(fromWorker.body);
    const totals = async (api: (key?: string) => Api, fx: Fixture) =>
      (
        await api(fx.world.enterprise.key).get(`/v1/contracts/${fx.contractId}/invoices?period=${period}`)
      ).body.items.map((i: { total: string }) => i.total);
    const onWorkerTotals = await totals(onWorker, workerWorld);
    expect(onWorkerTotals).toHaveLength(1);
    expect(onWorkerTotals).toEqual(await totals(onNode, nodeWorld));
  });

  it("stores HTTP sensor events once, answers duplicates, rejects bad ones, refuses a wrong key", async () => {
    const sensor = workerWorld.sensor;
    if (!sensor) throw new Error("the world has no sensor");
    const path = `/v1/sensors/${sensor.id}/events`;
    // The fixture's sensor already carries the detection that opened its incident.
    const before = await countEvents(database.db, sensor.id);
    const batch = [
      event("heartbeat", 0, {}, Date.now() - 60_000),
      event("fault", 1, {}, Date.now() - 60_000),
    ];
    const bad = { eventId: "bad-1", type: "heartbeat", occurredAt: "yesterday" };
    const first = await onWorker(sensor.key).post(path, [...batch, bad]);
    expect(first.status).toBe(200);
    expect(first.body.stored).toEqual(batch.map((e) => e.eventId));
    expect(first.body.duplicates).toEqual([]);
    expect(first.body.rejected).toEqual([expect.objectContaining({ index: 2, eventId: "bad-1" })]);
    const again = await onWorker(sensor.key).post(path, batch);
    expect(again.body).toEqual({ stored: [], duplicates: batch.map((e) => e.eventId), rejected: [] });
    expect(await countEvents(database.db, sensor.id)).toBe(before + 2);
    const wrongKey = await onWorker(nodeWorld.sensor?.key).post(path, [event("heartbeat", 2)]);
    expect(wrongKey.status).toBe(401);
    expect(wrongKey.body.code).toBe("unauthorized");
  });

  it("builds a bundle with nothing Node-only in it, whose cron trigger runs each job once", async () => {
    const build = bundle();
    expect(build.problems).toEqual([]);
    const bundled = await startBundledWorker(build.script, database.url);
    try {
      expect([...bundled.crons].sort()).toEqual(Object.keys(SCHEDULED_JOBS).sort());
      // A sensor last heard from ten minutes ago, still marked online.
      const silent = await createSensor(database.db, workerWorld.world, workerWorld.world.elevator.id);
      await database.db
        .update(sensors)
        .set({ online: true, lastSeenAt: new Date(Date.now() - 600_000) })
        .where(eq(sensors.id, silent.id));
      const subscriptionId = workerWorld.ledger?.subscriptionId ?? "";
      const stateOf = async () =>
        (await database.db.select().from(subscriptions).where(eq(subscriptions.id, subscriptionId)))[0]
          ?.state;
      const offlineIncidents = () =>
        database.db.select().from(incidents).where(eq(incidents.sensorId, silent.id));
      expect(await stateOf()).toBe("active");

      expect((await bundled.scheduled("* * * * *")).outcome).toBe("ok");
      const [row] = await database.db.select().from(sensors).where(eq(sensors.id, silent.id));
      expect(row?.online).toBe(false);
      expect((await offlineIncidents()).map((i) => [i.kind, i.closedAt])).toEqual([["sensor_offline", null]]);
      // The minute's job is the sweep only: the unpaid February invoice has suspended nobody yet.
      expect(await stateOf()).toBe("active");

      expect((await bundled.scheduled("0 * * * *")).outcome).toBe("ok");
      expect(await stateOf()).toBe("suspended");
      // Again: nothing more to do, nothing written twice.
      expect((await bundled.scheduled("* * * * *")).outcome).toBe("ok");
      expect(await offlineIncidents()).toHaveLength(1);
      // A cron expression wrangler.toml does not have is a failed run, not a silent success.
      expect((await bundled.scheduled("5 4 * * *")).outcome).toBe("exception");
    } finally {
      await bundled.dispose();
    }
  });

  it("limits per key and per CF-Connecting-IP in the isolate, and answers CORS to a listed origin", async () => {
    const bundled = await startBundledWorker(bundle().script, database.url, {
      RATE_LIMIT_KEY_PER_MIN: "3",
      RATE_LIMIT_ADDRESS_PER_MIN: "2",
      CORS_ORIGINS: "https://integrator.example",
    });
    try {
      const api = bundled.client(workerWorld.world.enterprise.key);
      const answers = [];
      for (let i = 0; i < 4; i++) answers.push(await api.get("/v1/organizations"));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 429]);
      expect(answers.map((a) => a.headers.get("ratelimit"))).toEqual([
        '"key";r=2;t=20',
        '"key";r=1;t=40',
        '"key";r=0;t=60',
        '"key";r=0;t=20',
      ]);
      expect(answers[3]?.headers.get("retry-after")).toBe("20");
      expect(answers[3]?.body.code).toBe("rate_limited");
      // Another key of the isolate has its own bucket.
      expect(
        (await bundled.client(workerWorld.world.propertyCompany.key).get("/v1/organizations")).status,
      ).toBe(200);

      // Without a key: Cloudflare's CF-Connecting-IP is the client's address.
      const document = (ip: string) => bundled.client().get("/openapi.json", { "cf-connecting-ip": ip });
      expect((await document("198.51.100.20")).status).toBe(200);
      expect((await document("198.51.100.20")).status).toBe(200);
      const refused = await document("198.51.100.20");
      expect(refused.status).toBe(429);
      expect(refused.headers.get("ratelimit-policy")).toBe('"address";q=2;w=60');
      expect((await document("198.51.100.21")).status).toBe(200);

      // A listed origin's script may read even a refusal (here, no key), to tell its user why.
      const noKey = await bundled.client().get("/v1/organizations", { origin: "https://integrator.example" });
      expect(noKey.status).toBe(401);
      expect(noKey.headers.get("access-control-allow-origin")).toBe("https://integrator.example");
    } finally {
      await bundled.dispose();
    }
  });

  it("registers HTTP sensors, and leaves Mosquitto's logins to the Node process with a 501", async () => {
    const enterprise = workerWorld.world.enterprise.key;
    const registered = await onWorker(enterprise).post("/v1/sensors", {
      facilityId: workerWorld.world.elevator.id,
      name: "HTTP传感器",
    });
    expect(registered.status).toBe(201);
    const sent = event("heartbeat", 0, {}, Date.now() - 60_000);
    const stored = await onWorker(registered.body.key).post(`/v1/sensors/${registered.body.id}/events`, sent);
    expect(stored.body.stored).toEqual([sent.eventId]);

    // A deployment whose sensors log in to Mosquitto: the Worker can not tell the broker.
    const bundled = await startBundledWorker(bundle().script, database.url, { SENSOR_LOGINS: "mosquitto" });
    try {
      const name = `MQTT传感器 ${randomUUID()}`;
      const res = await bundled.client(enterprise).post("/v1/sensors", {
        facilityId: workerWorld.world.elevator.id,
        name,
      });
      expect(res.status).toBe(501);
      expect(res.body).toMatchObject({ status: 501, code: "needs_node_process" });
      expect(await database.db.select().from(sensors).where(eq(sensors.name, name))).toEqual([]);
      const revoke = await bundled.client(enterprise).post(`/v1/sensors/${registered.body.id}/revoke`);
      expect(revoke.status).toBe(501);
      const [row] = await database.db.select().from(sensors).where(eq(sensors.id, registered.body.id));
      expect(row?.revokedAt).toBeNull();
    } finally {
      await bundled.dispose();
    }
  });

  it("serves the portal as Node does: its pages and assets, signing in (scrypt on workerd), a session, an invitation", async () => {
    const admin = await createPerson(database.db, workerWorld.world.ownersCommittee.org.id, {
      role: "admin",
      name: "王秀英",
    });
    const send = async (path: string, init: RequestInit) =>
      (await worker.fetch(`http://worker.test${path}`, {
        ...init,
        redirect: "manual",
      } as never)) as unknown as Response;
    const browser = portalClient(send);
    const signInPage = await browser.get("/sign-in");
    expect(signInPage.status).toBe(200);
    expect(signInPage.html).toContain('<html lang="zh-CN">');
    const css = /href="(\/assets\/portal\.css\?v=\w+)"/.exec(signInPage.html)?.[1] ?? "";
    const sheet = await send(css, {});
    expect(sheet.status).toBe(200);
    expect(sheet.headers.get("content-type")).toContain("text/css");
    await browser.signIn(admin.login, admin.password);
    const home = await browser.get("/home");
    expect(home.status).toBe(200);
    expect(textOf(home.html)).toContain("您好，王秀英");
    await browser.get("/members");
    const issued = await browser.post("/members/invite", { name: "赵大伯", role: "member" });
    const token = /\/invitations\/([\w-]{43})/.exec(issued.html)?.[1] ?? "";
    // The link made on the Worker opens on Node: one database, one set of sessions and links.
    const onNodeBrowser = portalClient(node);
    expect((await onNodeBrowser.get(`/invitations/${token}`)).status).toBe(200);
    const missing = await browser.get("/no-such-page");
    expect(missing.status).toBe(404);
    expect(textOf(missing.html)).toContain("找不到这个页面");
    await browser.post("/sign-out");
    expect((await browser.get("/home")).status).toBe(303);
  }, 60_000);

  it("serves every role's portal pages on the Worker as on Node: the same status and the same heading", async () => {
    const send = async (path: string, init: RequestInit) =>
      (await worker.fetch(`http://worker.test${path}`, {
        ...init,
        redirect: "manual",
      } as never)) as unknown as Response;
    const { world, contractId, sensor } = workerWorld;
    const pagesOf: [string, string[]][] = [
      [
        world.ownersCommittee.org.id,
        [
          "/contracts",
          `/contracts/${contractId}`,
          `/contracts/${contractId}/print`,
          "/reports",
          "/incidents",
        ],
      ],
      [
        world.propertyCompany.org.id,
        ["/incidents", `/incidents/${sensor?.incidentId}`, "/sensors", "/households"],
      ],
      [world.streetOffice.org.id, ["/dashboard", "/contracts"]],
      [
        world.enterprise.org.id,
        ["/drafts", "/drafts/new", `/billing?contract=${contractId}`, "/sensors", "/reports"],
      ],
    ];
    const heading = (html: string) => textOf(/<h1>([\s\S]*?)<\/h1>/.exec(html)?.[1] ?? "");
    for (const [orgId, paths] of pagesOf) {
      const person = await createPerson(database.db, orgId, { role: "admin" });
      const onW = portalClient(send);
      const onN = portalClient(node);
      await onW.signIn(person.login, person.password);
      await onN.signIn(person.login, person.password);
      for (const path of paths) {
        const [w, n] = [await onW.get(path), await onN.get(path)];
        expect(w.status, path).toBe(200);
        expect(w.status, path).toBe(n.status);
        expect(heading(w.html), path).toBe(heading(n.html));
        expect(heading(w.html).length, path).toBeGreaterThan(0);
      }
    }
  }, 120_000);

  it("streams an incident opened while the feed is connected, ends before its limit, and resumes", async () => {
    // An elevator with no open incident, so that the detection opens one.
    const elevator = await createElevator(database.db, workerWorld.world);
    const sensor = await createSensor(database.db, workerWorld.world, elevator.id);
    const key = workerWorld.world.propertyCompany.key;
    const feed = await openFeed(key);
    await feed.until((text) => text.includes("retry: "), "the retry line");
    const connectedAt = performance.now();
    // The sensor sees an e-bike, through the Worker's own ingest.
    const halt = event("ebike_detected", 0, {}, Date.now() - 1_000);
    expect((await onWorker(sensor.key).post(`/v1/sensors/${sensor.id}/events`, halt)).status).toBe(200);
    const opened = await feed.until((text) => /event: incident\.opened\ndata: /.test(text), "the incident");
    const [, data, lastId] = /event: incident\.opened\ndata: (.*)\nid: (\d+)\n/.exec(opened) ?? [];
    const incident = JSON.parse(data ?? "null");
    expect(incident).toMatchObject({ kind: "ebike", facilityId: elevator.id, state: "open" });
    // The stream lives on past the request (the old client closed it after ~0.5 s), then ends
    // on its own before FEED_MAX_S is much over, telling the client to reconnect.
    const ended = await feed.ended();
    const lived = (performance.now() - connectedAt) / 1000;
    expect(lived).toBeGreaterThan(FEED_MAX_S - 1);
    expect(ended).toContain(`: reconnect: this stream ends after ${FEED_MAX_S} s`);

    // While nobody listens, the incident is acknowledged; the client resumes after the last id.
    const ack = await onWorker(key).post(`/v1/incidents/${incident.id}/acknowledge`, {
      classification: "confirmed",
    });
    expect(ack.status).toBe(200);
    const resumed = await openFeed(key, { "last-event-id": lastId ?? "" }, "follow=false");
    const missed = await resumed.ended();
    expect(missed).toMatch(/event: incident\.acknowledged\ndata: /);
    expect(missed).not.toContain(`id: ${lastId}\n`);
    expect(missed).not.toContain("event: incident.opened");
  });
});

/** A live feed on the Worker: its text so far, waited on. */
async function openFeed(key: string, headers: Record<string, string> = {}, query = "follow=true") {
  const res = await worker.fetch(`http://worker.test/v1/incidents/stream?${query}`, {
    headers: { authorization: `Bearer ${key}`, ...headers },
  });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/event-stream");
  const reader = res.body?.getReader();
  if (!reader) throw new Error("the feed has no body");
  const decoder = new TextDecoder();
  let text = "";
  let done = false;
  const pump = (async () => {
    try {
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) break;
        text += decoder.decode(chunk.value, { stream: true });
      }
    } catch (err) {
      text += `\n[the stream failed: ${err instanceof Error ? err.message : String(err)}]`;
    } finally {
      done = true;
    }
  })();
  return {
    until: (matches: (text: string) => boolean, what: string) =>
      waitFor(async () => (matches(text) ? text : null), 10_000, what),
    ended: async () => {
      await waitFor(async () => done, (FEED_MAX_S + 10) * 1000, "the end of the stream");
      await pump;
      return text;
    },
  };
}
