/**
 * An unknown query parameter is refused like an unknown body field (issue 15): a typo such as
 * `?stat=draft` would otherwise list everything, silently unfiltered. Every route of the document
 * is called with one, its path filled with well-formed ids, before anything else can answer.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { createSensor } from "../iot/support.js";
import { createTestApp, TEST_ADMIN_TOKEN, type TestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import { createWorld } from "../support/factories.js";

let database: DatabaseHandle;
let app: TestApp;
/** A sensor's own id and key: the routes a sensor calls check its key before anything else. */
let sensor: { id: string; key: string };
beforeAll(async () => {
  database = await openTestDatabase();
  app = createTestApp(database.db);
  sensor = await createSensor(database.db, await createWorld(database.db));
});
afterAll(() => database.close());

const ID = "00000000-0000-4000-8000-000000000001";

describe("unknown query parameters", () => {
  it("are a 400 naming the parameter on every route of the document", async () => {
    const routes = app.openAPIRegistry.definitions.flatMap((d) => (d.type === "route" ? [d.route] : []));
    expect(routes.length).toBeGreaterThan(100);
    const answers: string[] = [];
    for (const route of routes) {
      const bySensor = JSON.stringify(route.security ?? []).includes("SensorKey");
      const path = route.path.replace(/\{(\w+)\}/g, (_, name: string) =>
        name === "versionNo" ? "1" : name === "id" && bySensor ? sensor.id : ID,
      );
      const key = bySensor ? sensor.key : TEST_ADMIN_TOKEN;
      const media = Object.keys(route.request?.body?.content ?? {})[0] ?? "application/json";
      const res = await app.request(`${path}?stat=draft`, {
        method: route.method.toUpperCase(),
        headers: { authorization: `Bearer ${key}`, "content-type": media },
        body: route.method === "get" ? undefined : "{}",
      });
      const body = (await res.json().catch(() => ({}))) as { errors?: { field: string }[] };
      const named = body.errors?.some((e) => e.field === "query.stat") ?? false;
      answers.push(`${route.method} ${route.path}: ${res.status}${named ? "" : " (query.stat not named)"}`);
    }
    expect(answers.filter((a) => !a.endsWith(": 400"))).toEqual([]);
  });
});
