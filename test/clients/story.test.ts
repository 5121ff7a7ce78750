/**
 * A short story told only through the typed client (clients/typescript) against the app on a real
 * HTTP port: the platform admin sets up a street, its street office registers a community and
 * the parties, an enterprise drafts and submits a contract, the owners committee comments on it.
 * Every body and answer is typed from the document: a renamed field or route fails to compile
 * here once the client is regenerated (`npm run client:generate`).
 */
import type { Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BotClient, createBotClient, type Schema } from "../../clients/typescript/index.js";
import type { DatabaseHandle } from "../../db/client.js";
import { startHttpServer } from "../../src/http-server.js";
import { createTestApp, TEST_ADMIN_TOKEN } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";

let database: DatabaseHandle;
let server: Server;
let baseUrl: string;

beforeAll(async () => {
  database = await openTestDatabase();
  const started = await startHttpServer({
    fetch: createTestApp(database.db).fetch,
    port: 0,
    hostname: "127.0.0.1",
    limits: { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, maxConnections: 100 },
  });
  server = started.server;
  baseUrl = `http://127.0.0.1:${started.port}`;
});
afterAll(async () => {
  await new Promise((done) => server?.close(done));
  await database?.close();
});

/** The body of an answer with the expected status (the problem it carried otherwise, in the failure). */
async function answer<Data>(
  call: Promise<{ data?: Data; error?: unknown; response: Response }>,
  status: number,
): Promise<Data> {
  const { data, error, response } = await call;
  expect(response.status, JSON.stringify(error)).toBe(status);
  if (data === undefined) throw new Error(`${response.url} answered ${status} without a body`);
  return data;
}

const suffix = () => Math.random().toString(36).slice(2, 8);

describe("the typed client", () => {
  it("drafts, submits and discusses a contract from an empty street", async () => {
    const admin = createBotClient({ baseUrl, apiKey: TEST_ADMIN_TOKEN });
    const as = (key: string): BotClient => createBotClient({ baseUrl, apiKey: key });

    // The platform admin: a district, a street, its street office (and the office's first key).
    const district = await answer(admin.POST("/v1/districts", { body: { name: `杨浦区 ${suffix()}` } }), 201);
    const street = await answer(
      admin.POST("/v1/streets", { body: { districtId: district.id, name: `殷行街道 ${suffix()}` } }),
      201,
    );
    const registered = await answer(
      admin.POST("/v1/organizations", {
        body: { kind: "street_office", name: `殷行街道办 ${suffix()}`, streetId: street.id },
      }),
      201,
    );
    expect(registered.organization.streetId).toBe(street.id);
    const office = as(registered.firstKey.key);

    // The street office: a community with a building, its parties, a planned elevator.
    const community = await answer(
      office.POST("/v1/communities", { body: { name: `国伟新苑 ${suffix()}`, address: "国伟路 100 弄" } }),
      201,
    );
    expect(community.streetId).toBe(street.id);
    const building = await answer(
      office.POST("/v1/communities/{id}/buildings", {
        params: { path: { id: community.id } },
        body: { name: "12号楼", storeys: 6 },
      }),
      201,
    );
    const party = async (kind: "enterprise" | "owners_committee" | "property_company") => {
      const { organization, firstKey } = await answer(
        office.POST("/v1/organizations", {
          body: {
            kind,
            name: `${kind} ${suffix()}`,
            ...(kind === "enterprise" ? {} : { communityIds: [community.id] }),
          },
        }),
        201,
      );
      expect(firstKey.role).toBe("admin");
      return { id: organization.id, api: as(firstKey.key) };
    };
    const enterprise = await party("enterprise");
    const committee = await party("owners_committee");
    const propertyCompany = await party("property_company");
    const elevator = await answer(
      office.POST("/v1/facilities", {
        body: {
          kind: "elevator",
          communityId: community.id,
          name: "12号楼加装电梯",
          buildingId: building.id,
          floorsServed: 6,
          stops: 6,
        },
      }),
      201,
    );

    // The enterprise drafts the contract, reads it back and finds it in its list.
    const newContract: Schema<"NewContract"> = {
      title: "12号楼加装电梯 BOT",
      communityId: community.id,
      ownersCommitteeOrgId: committee.id,
      propertyCompanyOrgId: propertyCompany.id,
      facilityIds: [elevator.id],
      terms: {
        totalInvestment: "800000.00",
        enterpriseCapital: "800000.00",
        guidanceFunds: "0.00",
        operationTermMonths: 180,
        handbackConditions: [{ code: "INSPECTION", description: "特种设备定期检验合格证在有效期内" }],
        maintenanceObligations: "企业承担运营期内全部维保费用。",
        feeSchedule: [
          { code: "EL-M", name: "电梯使用费(包月)", kind: "monthly", price: "45.00", unit: "household" },
        ],
      },
    };
    const drafted = await answer(enterprise.api.POST("/v1/contracts", { body: newContract }), 201);
    expect(drafted.state).toBe("draft");
    expect(drafted.enterpriseOrgId).toBe(enterprise.id);
    expect(drafted.allowedActions).toContain("submit");
    const id = drafted.id;
    const read = await answer(enterprise.api.GET("/v1/contracts/{id}", { params: { path: { id } } }), 200);
    expect(read.facilityIds).toEqual([elevator.id]);
    expect(read.currentVersion.terms.totalInvestment).toBe("800000.00");
    expect(read.currentVersion.terms.feeSchedule[0]?.price).toBe("45.00");
    const listed = await answer(
      enterprise.api.GET("/v1/contracts", { params: { query: { state: "draft" } } }),
      200,
    );
    expect(listed.items.map((contract) => contract.id)).toEqual([id]);

    // The committee may not draft (a typed problem); it reviews the contract once submitted.
    const refused = await committee.api.POST("/v1/contracts", { body: newContract });
    expect(refused.response.status).toBe(403);
    expect(refused.error?.code).toBe("forbidden");
    const submitted = await answer(
      enterprise.api.POST("/v1/contracts/{id}/submit", { params: { path: { id } } }),
      200,
    );
    expect(submitted.state).toBe("submitted");
    const reviewing = await answer(
      committee.api.GET("/v1/contracts/{id}", { params: { path: { id } } }),
      200,
    );
    expect(reviewing.allowedActions).toEqual(expect.arrayContaining(["comment", "request_changes"]));

    // The committee comments; the enterprise reads it, written by the committee.
    const comment = await answer(
      committee.api.POST("/v1/contracts/{id}/comments", {
        params: { path: { id } },
        body: { body: "请补充维保单位资质。" },
      }),
      201,
    );
    expect(comment.versionNo).toBe(submitted.currentVersionNo);
    const comments = await answer(
      enterprise.api.GET("/v1/contracts/{id}/comments", { params: { path: { id } } }),
      200,
    );
    expect(comments.items).toEqual([
      {
        id: comment.id,
        versionNo: 1,
        authorOrgId: committee.id,
        body: "请补充维保单位资质。",
        createdAt: comment.createdAt,
      },
    ]);
  }, 60_000);
});
