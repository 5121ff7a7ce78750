/**
 * The snapshot on the incident board, in Chromium at 360 px: the property company and the owners
 * committee see the JPEG the sensor uploaded (loaded by the browser from the API with the session
 * cookie, under the page's CSP), with alt text, no wider than the phone; the street office sees
 * the incident but no picture. Axe finds nothing serious.
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { createElevator, createIotWorld, createSensor, event } from "../iot/support.js";
import { client, createTestApp } from "../support/app.js";
import {
  launchChromium,
  openContext,
  overflowsSideways,
  screenshots,
  seriousAxeViolations,
  serve,
  signInAs,
} from "../support/browser.js";
import { openTestDatabase } from "../support/db.js";
import { createPerson, type World } from "../support/factories.js";
import { CAR_JPEG, putSnapshot } from "./support.js";

let database: DatabaseHandle;
let world: World;
let server: { base: string; close: () => Promise<void> };
let browser: Browser;
let elevatorName: string;

beforeAll(async () => {
  database = await openTestDatabase();
  world = await createIotWorld(database.db);
  const elevator = await createElevator(database.db, world);
  elevatorName = elevator.name;
  const sensor = await createSensor(database.db, world, elevator.id);
  const app = createTestApp(database.db);
  const detected = event("ebike_detected", 0, {}, Date.now() - 60_000);
  expect((await client(app, sensor.key).post(`/v1/sensors/${sensor.id}/events`, detected)).status).toBe(200);
  expect((await putSnapshot(app, sensor, detected.eventId, CAR_JPEG)).status).toBe(201);
  server = await serve(app);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await database?.close();
});

describe("the incident board shows the snapshot", () => {
  for (const role of ["propertyCompany", "ownersCommittee"] as const) {
    it(`to the ${role === "propertyCompany" ? "property company" : "owners committee"}: the JPEG, decoded, with alt text, within 360 px`, async () => {
      const person = await createPerson(database.db, world[role].org.id, { name: "值班员" });
      const { context, problems } = await openContext(browser);
      const page = await context.newPage();
      await signInAs(page, server.base, person.login, person.password);
      await page.goto(`${server.base}/incidents`);
      const card = page.locator("#open-incidents li.incident", { hasText: elevatorName });
      const img = card.locator(".snapshots img");
      await img.waitFor({ timeout: 10_000 });
      expect(await img.getAttribute("alt")).toMatch(/^电动车检测抓拍，/);
      // Loaded and decoded by the browser (the CSP's img-src 'self' lets it in; the cookie reads it).
      await page.waitForFunction(
        (el) => {
          const image = el as unknown as { complete: boolean; naturalWidth: number } | null;
          return Boolean(image?.complete) && (image?.naturalWidth ?? 0) > 0;
        },
        await img.elementHandle(),
        { timeout: 10_000 },
      );
      const size = await img.evaluate((el) => ({
        natural: (el as unknown as { naturalWidth: number }).naturalWidth,
        shown: el.getBoundingClientRect().width,
      }));
      expect(size.natural).toBe(320);
      expect(size.shown).toBeGreaterThan(100);
      expect(size.shown).toBeLessThanOrEqual(360);
      expect(await overflowsSideways(page)).toBe(false);
      expect(await seriousAxeViolations(page)).toEqual([]);
      await screenshots(page, `incident-snapshot-${role}`);
      await context.close();
      expect(problems).toEqual([]);
    });
  }

  it("not to the street office: the incident without a picture", async () => {
    const person = await createPerson(database.db, world.streetOffice.org.id, { name: "街道值班员" });
    const { context, problems } = await openContext(browser);
    const page = await context.newPage();
    await signInAs(page, server.base, person.login, person.password);
    await page.goto(`${server.base}/incidents`);
    const card = page.locator("#open-incidents li.incident", { hasText: elevatorName });
    await card.waitFor({ timeout: 10_000 });
    expect(await card.locator("img").count()).toBe(0);
    await context.close();
    expect(problems).toEqual([]);
  });
});
