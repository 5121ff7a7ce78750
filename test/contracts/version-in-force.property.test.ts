/**
 * "The version in force on a date" has one SQL form (db/versions.ts `versionInForceId`, used by
 * the contracts store and the street dashboard) and one TypeScript form (contracts/versions.ts
 * `versionInForceOn`). Random version histories written to the real database must get the same
 * answer from both, for a contract addressed by value and by a column of an outer query.
 */
import { sql } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addDays, VERSION_STATUSES, type VersionDates, versionInForceOn } from "../../contracts/index.js";
import type { DatabaseHandle } from "../../db/client.js";
import { queryRows } from "../../db/database.js";
import { contractVersions } from "../../db/schema.js";
import { versionInForceId } from "../../db/versions.js";
import { versionInForce } from "../../src/services/contracts/store.js";
import { openTestDatabase } from "../support/db.js";
import { createContractRecord, createWorld, type World } from "../support/factories.js";

let database: DatabaseHandle;
let world: World;

beforeAll(async () => {
  database = await openTestDatabase();
  world = await createWorld(database.db);
});
afterAll(() => database.close());

const BASE = "2026-06-15";
/** Days around BASE: a small range, so effective dates and asked dates often coincide. */
const dayArb = fc.integer({ min: -20, max: 20 });

const versionArb = fc.record({
  status: fc.constantFrom(...VERSION_STATUSES),
  isAmendment: fc.boolean(),
  effectiveDay: fc.option(dayArb, { nil: null }),
});

describe("the SQL version in force agrees with contracts/versions.ts", () => {
  it("for any history of versions and any date", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(versionArb, { minLength: 0, maxLength: 6 }),
        fc.array(dayArb, { minLength: 1, maxLength: 4 }),
        async (plans, askedDays) => {
          const contract = await createContractRecord(database.db, {
            streetId: world.street.id,
            communityId: world.community.id,
            enterpriseOrgId: world.enterprise.org.id,
            ownersCommitteeOrgId: world.ownersCommittee.org.id,
            propertyCompanyOrgId: world.propertyCompany.org.id,
          });
          const versions: VersionDates[] = plans.map((p, i) => ({
            versionNo: i + 1,
            status: p.status,
            isAmendment: p.isAmendment,
            effectiveDate: p.effectiveDay === null ? null : addDays(BASE, p.effectiveDay),
          }));
          if (versions.length) {
            await database.db.insert(contractVersions).values(
              versions.map((v) => ({
                contractId: contract.id,
                ...v,
                totalInvestment: "800000.00",
                enterpriseCapital: "680000.00",
                guidanceFunds: "120000.00",
                operationTermMonths: 60,
                maintenanceObligations: "企业承担运营期内全部维保费用",
                handbackConditions: [],
              })),
            );
          }
          for (const day of askedDays) {
            const date = addDays(BASE, day);
            const expected = versionInForceOn(versions, date)?.versionNo ?? null;
            const label = `${JSON.stringify(versions)} on ${date}`;
            // By value, as the contracts store asks for one contract.
            expect((await versionInForce(database.db, contract.id, date))?.versionNo ?? null, label).toBe(
              expected,
            );
            // By an outer query's column, as the dashboard joins every contract of a street.
            const joined = await queryRows<{ version_no: number }>(
              database.db,
              sql`select v.version_no from contracts c
                join contract_versions v on v.id = ${versionInForceId(sql`c.id`, date)}
                where c.id = ${contract.id}`,
            );
            expect(
              joined.map((r) => r.version_no),
              label,
            ).toEqual(expected === null ? [] : [expected]);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
