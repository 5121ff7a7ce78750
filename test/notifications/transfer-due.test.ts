/**
 * Transfer reminders (runTransferReminders) on the Asia/Shanghai calendar: 90 and 30 days before
 * the transfer date, once each, caught up once when the job did not run on the day, never for a
 * contract transferred, terminated or past its date. A database of the file's own: the job reads
 * every contract.
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../db/database.js";
import { contracts } from "../../db/schema.js";
import { runTransferReminders } from "../../src/services/notifications/transfer-due.js";
import { createContractRecord, createWorld, type World } from "../support/factories.js";
import { causesOf } from "./causes-support.js";
import { ownDatabase } from "./support.js";

let own: Awaited<ReturnType<typeof ownDatabase>>;
let db: Database;
let world: World;
const remind = (now: Date) => runTransferReminders({ db, clock: () => now });

async function contractDue(
  transferDate: string,
  state: NonNullable<(typeof contracts.$inferInsert)["state"]> = "operating",
  transferredOn: string | null = null,
) {
  const row = await createContractRecord(db, {
    streetId: world.street.id,
    communityId: world.community.id,
    enterpriseOrgId: world.enterprise.org.id,
    ownersCommitteeOrgId: world.ownersCommittee.org.id,
    propertyCompanyOrgId: world.propertyCompany.org.id,
    state,
  });
  const [updated] = await db
    .update(contracts)
    .set({ operationStartDate: "2016-03-01", transferDate, transferredOn })
    .where(eq(contracts.id, row.id))
    .returning();
  if (!updated) throw new Error("no contract");
  return updated;
}

async function reminders(contractId: string) {
  return (await causesOf(db, "transfer_due", contractId)).map((c) => c.payload.daysLeft);
}

beforeAll(async () => {
  own = await ownDatabase("transfer_due");
  db = own.db;
  world = await createWorld(db);
}, 60_000);
afterAll(async () => {
  await own?.close();
});

describe("transfer_due", () => {
  it("reminds at 90 and at 30 days by the Shanghai calendar, once each", async () => {
    const contract = await contractDue("2027-03-01");
    // 2026-11-30T15:59:59Z is 23:59:59 on 2026-11-30 in Shanghai: 91 days left.
    await remind(new Date("2026-11-30T15:59:59Z"));
    expect(await reminders(contract.id)).toEqual([]);
    // One second later it is 2026-12-01 in Shanghai (still 2026-11-30 in UTC): 90 days left.
    const ninety = new Date("2026-11-30T16:00:00Z");
    await Promise.all([remind(ninety), remind(ninety), remind(new Date("2026-12-01T03:00:00Z"))]);
    const causes = await causesOf(db, "transfer_due", contract.id);
    expect(causes).toEqual([
      expect.objectContaining({
        contract_id: contract.id,
        community_id: world.community.id,
        street_id: world.street.id,
        enterprise_org_id: world.enterprise.org.id,
        dedupe_key: `transfer_due:${contract.id}:90`,
        payload: { contractId: contract.id, title: contract.title, transferDate: "2027-03-01", daysLeft: 90 },
      }),
    ]);
    await remind(new Date("2027-01-29T15:59:59Z")); // 2027-01-29 in Shanghai: 31 days left
    expect(await reminders(contract.id)).toEqual([90]);
    await remind(new Date("2027-01-29T16:00:00Z")); // 2027-01-30 in Shanghai: 30 days left
    expect(await reminders(contract.id)).toEqual([90, 30]);
    await remind(new Date("2027-02-20T02:00:00Z"));
    await remind(new Date("2027-03-01T02:00:00Z"));
    expect(await reminders(contract.id)).toEqual([90, 30]);
  });

  it("catches up once, with the nearest step, when the job did not run on the day", async () => {
    const missed90 = await contractDue("2027-06-01");
    const missedBoth = await contractDue("2027-04-20");
    // 2027-03-12 in Shanghai: 81 and 39 days left (the 90-day day went by), then 20 days left.
    await remind(new Date("2027-03-12T02:00:00Z"));
    expect(await reminders(missed90.id)).toEqual([90]);
    expect(await reminders(missedBoth.id)).toEqual([90]);
    await remind(new Date("2027-03-31T02:00:00Z"));
    expect(await reminders(missedBoth.id)).toEqual([90, 30]);
    // First run ever when 10 days are left: the 30-day reminder alone.
    const late = await contractDue("2027-04-10");
    await remind(new Date("2027-03-31T02:00:00Z"));
    expect(await reminders(late.id)).toEqual([30]);
    await remind(new Date("2027-04-09T02:00:00Z"));
    expect(await reminders(late.id)).toEqual([30]);
  });

  it("never reminds of a contract transferred, terminated, or past its transfer date", async () => {
    const transferred = await contractDue("2027-05-01", "transferred", "2027-04-01");
    const terminated = await contractDue("2027-05-01", "terminated");
    const overdue = await contractDue("2027-04-01");
    await remind(new Date("2027-04-15T02:00:00Z"));
    expect(await reminders(transferred.id)).toEqual([]);
    expect(await reminders(terminated.id)).toEqual([]);
    expect(await reminders(overdue.id)).toEqual([]);
  });
});
