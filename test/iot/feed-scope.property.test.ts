/**
 * Who sees a change of the incident log is one rule with two forms: the SQL the stats, the list
 * and each stream's own reads use (`incidentEventScope`) and its TypeScript twin the shared poller
 * hands changes on with (`incidentEventAdmits`, over what `readEveryChange` reads). This pins them
 * together on real rows, for every role and for principals whose street, communities or
 * organization match some changes, all or none (and for a sensor that no longer exists).
 */
import { randomUUID } from "node:crypto";
import { and, asc, inArray } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { incidentEvents, incidents } from "../../db/schema.js";
import type { Principal, Role } from "../../src/auth/principal.js";
import { readEveryChange } from "../../src/services/incidents/feed.js";
import { incidentEventAdmits, incidentEventScope } from "../../src/services/incidents/scope.js";
import { openTestDatabase } from "../support/db.js";
import { createCommunity } from "../support/factories.js";
import { createIotWorld, createSensor } from "./support.js";

let database: DatabaseHandle;

beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

describe("the live feed's scope", () => {
  it("admits the same changes in TypeScript as incidentEventScope does in SQL", async () => {
    const worlds = [await createIotWorld(database.db), await createIotWorld(database.db)];
    const [one, two] = worlds;
    if (!one || !two) throw new Error("no worlds");
    const sensors = [await createSensor(database.db, one), await createSensor(database.db, two)];
    const nextDoor = await createCommunity(database.db, one.street.id);
    // A real incident's snapshot, for rows the poller can parse.
    const openedAt = new Date(Date.now() - 60_000);
    const [incident] = await database.db
      .insert(incidents)
      .values({
        kind: "ebike",
        sensorId: sensors[0]?.id ?? "",
        facilityId: one.elevator.id,
        communityId: one.community.id,
        streetId: one.street.id,
        openedAt,
      })
      .returning({ id: incidents.id });
    const [logged] = await database.db
      .select({ snapshot: incidentEvents.snapshot })
      .from(incidentEvents)
      .where(inArray(incidentEvents.incidentId, [incident?.id ?? ""]));
    if (!logged) throw new Error("no logged change");

    const streetIds = [one.street.id, two.street.id, randomUUID()];
    const communityIds = [one.community.id, two.community.id, nextDoor.id, randomUUID()];
    // The last one has no sensor row: nobody's enterprise.
    const sensorIds = [...sensors.map((s) => s.id), randomUUID()];
    const enterpriseIds = [one.enterprise.org.id, two.enterprise.org.id, randomUUID()];

    const changeArb = fc.record({
      streetId: fc.constantFrom(...streetIds),
      communityId: fc.constantFrom(...communityIds),
      sensorId: fc.constantFrom(...sensorIds),
    });
    const roles: Role[] = [
      "platform_admin",
      "street_office",
      "enterprise",
      "owners_committee",
      "property_company",
    ];
    const principalArb = fc
      .record({
        role: fc.constantFrom(...roles),
        streetId: fc.constantFrom(...streetIds),
        orgId: fc.constantFrom(...enterpriseIds),
        communityIds: fc.subarray(communityIds),
      })
      .map(
        (p): Principal =>
          p.role === "platform_admin"
            ? {
                role: p.role,
                orgId: null,
                keyId: null,
                keyRole: "admin",
                streetId: null,
                communityIds: [],
                person: null,
              }
            : {
                role: p.role,
                orgId: p.orgId,
                keyId: randomUUID(),
                keyRole: "member",
                streetId: p.streetId,
                communityIds:
                  p.role === "owners_committee" || p.role === "property_company" ? p.communityIds : [],
                person: null,
              },
      );

    await fc.assert(
      fc.asyncProperty(
        fc.array(changeArb, { minLength: 1, maxLength: 12 }),
        fc.array(principalArb, { minLength: 1, maxLength: 6 }),
        async (changes, principals) => {
          const rows = await database.db
            .insert(incidentEvents)
            .values(
              changes.map((c) => ({
                incidentId: randomUUID(),
                kind: "opened" as const,
                incidentKind: "ebike" as const,
                sensorId: c.sensorId,
                facilityId: randomUUID(),
                communityId: c.communityId,
                streetId: c.streetId,
                snapshot: logged.snapshot,
              })),
            )
            .returning({ id: incidentEvents.id });
          const ids = rows.map((r) => r.id);
          const mine = new Set(ids);
          // What the poller reads after the first of them (other suites may log changes meanwhile).
          const read: Awaited<ReturnType<typeof readEveryChange>>["changes"] = [];
          for (let after = Math.min(...ids) - 1, more = true; more; ) {
            const page = await readEveryChange(database.db, after);
            read.push(...page.changes.filter((c) => mine.has(c.id)));
            more = page.more && (page.changes.at(-1)?.id ?? 0) < Math.max(...ids);
            after = page.changes.at(-1)?.id ?? after;
          }
          expect(read.map((c) => c.id)).toEqual(ids);
          for (const p of principals) {
            const inSql = await database.db
              .select({ id: incidentEvents.id })
              .from(incidentEvents)
              .where(and(inArray(incidentEvents.id, ids), incidentEventScope(p)))
              .orderBy(asc(incidentEvents.id));
            const inTs = read.filter((c) => incidentEventAdmits(p, c)).map((c) => c.id);
            expect(inTs, JSON.stringify(p)).toEqual(inSql.map((r) => r.id));
          }
        },
      ),
      { numRuns: 60 },
    );
  }, 60_000);
});
