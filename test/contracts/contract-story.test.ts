import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { queryRows } from "../../db/database.js";
import { client, createTestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import { createWorld, type World } from "../support/factories.js";
import { elevatorTerms } from "../support/terms.js";

let database: DatabaseHandle;
let world: World;
/** The test's clock: Asia/Shanghai 10:00 on the given date. */
let now = new Date("2024-12-20T02:00:00Z");
const at = (date: string) => {
  now = new Date(`${date}T02:00:00Z`);
};

beforeAll(async () => {
  database = await openTestDatabase();
  world = await createWorld(database.db);
});
afterAll(() => database.close());

const api = (key: string) => client(createTestApp(database.db, { now: () => now }), key);

describe("an added elevator's BOT contract, from the enterprise's draft to the owners' ownership", () => {
  it("goes through review, the owners' vote, signatures, construction, operation and transfer", async () => {
    const enterprise = api(world.enterprise.key);
    const committee = api(world.ownersCommittee.key);
    const property = api(world.propertyCompany.key);
    const office = api(world.streetOffice.key);

    // The enterprise drafts.
    const drafted = await enterprise.post("/v1/contracts", {
      title: "国伟新苑1号楼加装电梯BOT合同",
      communityId: world.community.id,
      ownersCommitteeOrgId: world.ownersCommittee.org.id,
      propertyCompanyOrgId: world.propertyCompany.org.id,
      streetOfficeOrgId: world.streetOffice.org.id,
      facilityIds: [world.elevator.id],
      terms: elevatorTerms(),
    });
    expect(drafted.status).toBe(201);
    const id: string = drafted.body.id;
    expect(drafted.body).toMatchObject({
      state: "draft",
      currentVersionNo: 1,
      allowedActions: ["submit", "comment", "edit_draft", "set_financial_assumptions"],
    });
    // The committee has nothing to do but read and comment until the draft is submitted.
    expect((await committee.get(`/v1/contracts/${drafted.body.id}`)).body.allowedActions).toEqual([
      "comment",
    ]);
    expect(drafted.body.currentVersion.funding).toMatchObject({
      guidanceSharePercent: "15.00",
      otherFunding: "0.00",
      defaultGuidanceSharePercent: "15.00",
    });
    expect(drafted.body.currentVersion.terms.feeSchedule[0].floorPrices[0]).toEqual({
      floor: 2,
      price: "30.00",
    });
    expect(drafted.body.requiredSigners).toEqual([
      "enterprise",
      "owners_committee",
      "property_company",
      "street_office",
    ]);

    // Edits need the current ETag; a stale one changes nothing.
    const v1 = await enterprise.get(`/v1/contracts/${id}/versions/1`);
    const etag = v1.headers.get("etag") ?? "";
    expect(etag).toBe('"r1"');
    const edited = await enterprise.put(
      `/v1/contracts/${id}/versions/1`,
      { terms: elevatorTerms({ maintenanceObligations: "每月两次例行保养，24小时应急响应。" }) },
      { "if-match": etag },
    );
    expect(edited.status).toBe(200);
    expect(edited.headers.get("etag")).toBe('"r2"');
    const stale = await enterprise.put(
      `/v1/contracts/${id}/versions/1`,
      { terms: elevatorTerms() },
      { "if-match": etag },
    );
    expect(stale.status).toBe(412);
    expect(stale.body.code).toBe("stale_revision");

    // Submitted, then the owners committee asks for a lower 6th-floor price.
    expect((await enterprise.post(`/v1/contracts/${id}/submit`)).body.state).toBe("submitted");
    const frozen = await enterprise.put(
      `/v1/contracts/${id}/versions/1`,
      { terms: elevatorTerms() },
      { "if-match": '"r2"' },
    );
    expect(frozen.status).toBe(409);
    const asked = await committee.post(`/v1/contracts/${id}/request-changes`, {
      reason: "6楼价格偏高，请调整为65元",
    });
    expect(asked.body.state).toBe("changes_requested");
    const revised = await enterprise.post(`/v1/contracts/${id}/revise`);
    expect(revised.body).toMatchObject({ state: "draft", currentVersionNo: 2 });
    const cheaper = elevatorTerms({ maintenanceObligations: "每月两次例行保养，24小时应急响应。" });
    cheaper.feeSchedule[0]?.floorPrices?.splice(4, 1, { floor: 6, price: "65.00" });
    expect(
      (await enterprise.put(`/v1/contracts/${id}/versions/2`, { terms: cheaper }, { "if-match": '"r1"' }))
        .status,
    ).toBe(200);
    const diff = await committee.get(`/v1/contracts/${id}/diff?fromVersionNo=1&toVersionNo=2`);
    expect(diff.body.changes).toEqual([
      { path: "feeSchedule[EL-M].floorPrices[6]", change: "changed", before: "70.00", after: "65.00" },
    ]);
    expect((await enterprise.post(`/v1/contracts/${id}/submit`)).body.state).toBe("submitted");

    // Approval needs a passing vote: 12 households of 60 m² (720 m²) in the register.
    const noVote = await committee.post(`/v1/contracts/${id}/approve`);
    expect(noVote.status).toBe(409);
    expect(noVote.body.code).toBe("vote_required");
    // A vote is held after the version was submitted (2024-12-20), and not in the future.
    const tooEarly = await committee.post(`/v1/contracts/${id}/votes`, {
      heldOn: "2024-12-19",
      participatingArea: "480.00",
      participatingOwners: 8,
      yesArea: "360.00",
      yesOwners: 6,
    });
    expect(tooEarly.status).toBe(400);
    expect(tooEarly.body.errors).toEqual([
      { field: "body.heldOn", message: "is before version 2 was submitted (2024-12-20)" },
    ]);
    at("2024-12-30");
    const failing = await committee.post(`/v1/contracts/${id}/votes`, {
      heldOn: "2024-12-28",
      participatingArea: "480.00",
      participatingOwners: 8,
      yesArea: "359.99",
      yesOwners: 6,
    });
    expect(failing.status).toBe(201);
    expect(failing.body).toMatchObject({
      passed: false,
      failed: ["approval_area"],
      totalArea: "720.00",
      totalOwners: 12,
    });
    expect((await committee.post(`/v1/contracts/${id}/approve`)).body.code).toBe("vote_failed");
    const passing = await committee.post(`/v1/contracts/${id}/votes`, {
      heldOn: "2024-12-30",
      participatingArea: "480.00",
      participatingOwners: 8,
      yesArea: "360.00",
      yesOwners: 6,
    });
    expect(passing.body.passed).toBe(true);
    expect(
      passing.body.ratios.map((r: { ratio: string; threshold: string }) => [r.ratio, r.threshold]),
    ).toEqual([
      ["0.6666", "2/3"],
      ["0.6666", "2/3"],
      ["0.7500", "3/4"],
      ["0.7500", "3/4"],
    ]);
    expect((await committee.post(`/v1/contracts/${id}/approve`)).body.state).toBe("approved");

    // Every party signs with its own key; the last signature fixes the hash.
    const first = await enterprise.post(`/v1/contracts/${id}/sign`);
    expect(first.body.state).toBe("approved");
    expect((await enterprise.post(`/v1/contracts/${id}/sign`)).body.code).toBe("already_signed");
    await property.post(`/v1/contracts/${id}/sign`);
    await office.post(`/v1/contracts/${id}/sign`);
    const signed = await committee.post(`/v1/contracts/${id}/sign`);
    expect(signed.body.state).toBe("signed");
    const hash: string = signed.body.currentVersion.contentHash;
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(signed.body.signatures.map((s: { contentHash: string }) => s.contentHash)).toEqual([
      hash,
      hash,
      hash,
      hash,
    ]);
    const reread = await property.get(`/v1/contracts/${id}/versions/2`);
    expect(reread.body).toMatchObject({ state: "signed", contentHash: hash, computedHash: hash });

    // Construction and operation, each milestone confirmed by the owners committee.
    at("2025-02-10");
    for (const [kind, occurredOn] of [
      ["construction_start", "2025-01-05"],
      ["completion_acceptance", "2025-01-25"],
      ["operation_start", "2025-01-31"],
    ] as const) {
      expect((await enterprise.post(`/v1/contracts/${id}/milestones`, { kind, occurredOn })).status).toBe(
        201,
      );
      expect((await committee.post(`/v1/contracts/${id}/milestones/${kind}/confirm`)).status).toBe(200);
    }
    const operating = await office.get(`/v1/contracts/${id}`);
    // 2025-01-31 + 13 months: February has no 31st, so the last day of February.
    expect(operating.body).toMatchObject({
      state: "operating",
      operationStartDate: "2025-01-31",
      transferDate: "2026-02-28",
    });
    const facility = await queryRows<{ status: string; operator_org_id: string | null }>(
      database.db,
      sql`select status, operator_org_id from facilities where id = ${world.elevator.id}`,
    );
    expect(facility[0]).toEqual({ status: "operating", operator_org_id: world.enterprise.org.id });

    // The street office sees the transfer coming.
    at("2025-12-15");
    const soon = await office.get("/v1/transfers?withinDays=90");
    expect(soon.body.items.find((c: { id: string }) => c.id === id)).toMatchObject({
      transferDueInDays: 75,
      overdue: false,
      handbackOpen: 2,
    });
    expect(
      (await office.get("/v1/transfers?withinDays=30")).body.items.map((c: { id: string }) => c.id),
    ).not.toContain(id);

    // Not before the date, not with open handback items.
    const early = await committee.post(`/v1/contracts/${id}/transfer`, {});
    expect(early.status).toBe(409);
    expect(early.body).toMatchObject({ code: "transfer_not_due", transferDate: "2026-02-28" });
    at("2026-02-28");
    const open = await committee.post(`/v1/contracts/${id}/transfer`, {});
    expect(open.body.code).toBe("handback_incomplete");
    for (const code of ["INSPECTION", "MANUALS"]) {
      expect(
        (await committee.post(`/v1/contracts/${id}/handback/${code}/check`, { checkedOn: "2026-02-27" }))
          .status,
      ).toBe(200);
    }
    const transferred = await committee.post(`/v1/contracts/${id}/transfer`, {});
    expect(transferred.body).toMatchObject({
      state: "transferred",
      transferredOn: "2026-02-28",
      allowedActions: ["comment"],
    });
    const handedOver = await queryRows<{
      status: string;
      operator_org_id: string | null;
      transferred_at: string;
    }>(
      database.db,
      sql`select status, operator_org_id, transferred_at::text from facilities where id = ${world.elevator.id}`,
    );
    expect(handedOver[0]).toEqual({
      status: "transferred",
      operator_org_id: null,
      transferred_at: "2026-02-28",
    });

    // Every decision is in the audit log, and the chain verifies.
    const audit = await committee.get(`/v1/contracts/${id}/audit`);
    expect(audit.body.items.map((r: { action: string }) => r.action)).toEqual([
      "contract.drafted",
      "draft.edited",
      "version.submitted",
      "version.changes_requested",
      "version.revised",
      "draft.edited",
      "version.submitted",
      "vote.recorded",
      "vote.recorded",
      "version.approved",
      "version.signed",
      "version.signed",
      "version.signed",
      "version.signed",
      "milestone.recorded",
      "milestone.confirmed",
      "milestone.recorded",
      "milestone.confirmed",
      "milestone.recorded",
      "milestone.confirmed",
      "handback.checked",
      "handback.checked",
      "contract.transferred",
    ]);
    expect((await office.get(`/v1/contracts/${id}/audit/verify`)).body).toEqual({ intact: true, length: 23 });
  });
});
