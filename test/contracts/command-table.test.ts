/**
 * The command table as users meet it through the API: what `allowedActions` offers, what a 409
 * says, the date rules, and action bodies that are checked and kept rather than ignored.
 */
import { once } from "node:events";
import { type AddressInfo, connect } from "node:net";
import { serve } from "@hono/node-server";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { queryRows } from "../../db/database.js";
import { client, createTestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import { createWorld, type World } from "../support/factories.js";
import { elevatorTerms } from "../support/terms.js";

let database: DatabaseHandle;
/** The test's clock: Asia/Shanghai 10:00 on the given date. */
let now = new Date("2026-11-02T02:00:00Z");
const at = (date: string) => {
  now = new Date(`${date}T02:00:00Z`);
};

beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

const api = (key: string) => client(createTestApp(database.db, { now: () => now }), key);
const TALLY = { participatingArea: "720.00", participatingOwners: 12, yesArea: "720.00", yesOwners: 12 };

/** A contract drafted and submitted on 2026-11-02. */
async function submitted(world: World) {
  at("2026-11-02");
  const res = await api(world.enterprise.key).post("/v1/contracts", {
    title: "加装电梯合同",
    communityId: world.community.id,
    ownersCommitteeOrgId: world.ownersCommittee.org.id,
    propertyCompanyOrgId: world.propertyCompany.org.id,
    streetOfficeOrgId: world.streetOffice.org.id,
    facilityIds: [world.elevator.id],
    terms: elevatorTerms(),
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  const id: string = res.body.id;
  expect((await api(world.enterprise.key).post(`/v1/contracts/${id}/submit`)).status).toBe(200);
  return id;
}

/** Voted on 2026-11-10, approved and signed by the four parties that day. */
async function signed(world: World) {
  const id = await submitted(world);
  at("2026-11-10");
  const committee = api(world.ownersCommittee.key);
  expect((await committee.post(`/v1/contracts/${id}/votes`, { heldOn: "2026-11-10", ...TALLY })).status).toBe(
    201,
  );
  expect((await committee.post(`/v1/contracts/${id}/approve`)).status).toBe(200);
  for (const party of [world.enterprise, world.propertyCompany, world.streetOffice, world.ownersCommittee]) {
    expect((await api(party.key).post(`/v1/contracts/${id}/sign`)).status).toBe(200);
  }
  return id;
}

describe("allowedActions shows each party its next step", () => {
  it("a signed contract: the enterprise records the construction start, then the committee confirms it", async () => {
    const world = await createWorld(database.db);
    const id = await signed(world);
    const read = async (key: string) => (await api(key).get(`/v1/contracts/${id}`)).body.allowedActions;
    expect(await read(world.enterprise.key)).toEqual([
      "record_construction_start",
      "amend",
      "terminate",
      "comment",
      "set_financial_assumptions",
    ]);
    expect(await read(world.ownersCommittee.key)).toEqual(["terminate", "comment"]);
    expect(await read(world.propertyCompany.key)).toEqual(["comment"]);

    at("2026-11-12");
    const recorded = await api(world.enterprise.key).post(`/v1/contracts/${id}/milestones`, {
      kind: "construction_start",
      occurredOn: "2026-11-12",
    });
    expect(recorded.status).toBe(201);
    expect(await read(world.ownersCommittee.key)).toEqual([
      "confirm_construction_start",
      "terminate",
      "comment",
    ]);
  });

  it("a 409 says what would make it allowed, and what the caller may do instead", async () => {
    const world = await createWorld(database.db);
    const id = await submitted(world);
    const early = await api(world.enterprise.key).post(`/v1/contracts/${id}/milestones`, {
      kind: "operation_start",
      occurredOn: "2026-11-02",
    });
    expect(early.status).toBe(409);
    expect(early.body).toMatchObject({
      code: "illegal_transition",
      currentState: "submitted",
      detail:
        "The operation start is recorded while the contract is under construction; it is submitted. Next: the owners committee records the owners' vote on version 1, then approves it or requests changes.",
      allowedActions: ["comment", "set_financial_assumptions"],
    });
  });
});

describe("dates are checked by the rules", () => {
  it("a vote is not held before the version was submitted, nor in the future", async () => {
    const world = await createWorld(database.db);
    const id = await submitted(world);
    at("2026-11-10");
    const committee = api(world.ownersCommittee.key);
    const vote = (heldOn: string) => committee.post(`/v1/contracts/${id}/votes`, { heldOn, ...TALLY });
    for (const [heldOn, message] of [
      ["2020-01-01", "is before version 1 was submitted (2026-11-02)"],
      ["2026-11-01", "is before version 1 was submitted (2026-11-02)"],
      ["2026-11-11", "is in the future (today is 2026-11-10)"],
    ] as const) {
      const res = await vote(heldOn);
      expect(res.status, heldOn).toBe(400);
      expect(res.body.errors).toEqual([{ field: "body.heldOn", message }]);
    }
    const votes = await queryRows<{ n: number }>(
      database.db,
      sql`select count(*)::int as n from contract_votes where contract_id = ${id}`,
    );
    expect(votes[0]?.n).toBe(0);
    // The boundaries themselves are fine: the day of the submission, and today.
    expect((await vote("2026-11-02")).status).toBe(201);
    expect((await vote("2026-11-10")).status).toBe(201);
  });

  it("construction does not start before the signature", async () => {
    const world = await createWorld(database.db);
    const id = await signed(world);
    at("2026-11-20");
    const record = (occurredOn: string) =>
      api(world.enterprise.key).post(`/v1/contracts/${id}/milestones`, {
        kind: "construction_start",
        occurredOn,
      });
    const before = await record("2026-11-09");
    expect(before.status).toBe(400);
    expect(before.body.errors).toEqual([
      { field: "body.occurredOn", message: "is before the contract was signed (2026-11-10)" },
    ]);
    expect((await record("2026-11-10")).status).toBe(201);
  });
});

describe("action bodies are checked, and what they carry is kept", () => {
  it("a field an action does not take is refused by name, and nothing is recorded", async () => {
    const world = await createWorld(database.db);
    const id = await submitted(world);
    at("2026-11-10");
    const committee = api(world.ownersCommittee.key);
    await committee.post(`/v1/contracts/${id}/votes`, { heldOn: "2026-11-10", ...TALLY });
    await committee.post(`/v1/contracts/${id}/approve`);
    const sign = await api(world.propertyCompany.key).post(`/v1/contracts/${id}/sign`, {
      party: "owners_committee",
    });
    expect(sign.status).toBe(400);
    expect(sign.body.errors).toEqual([{ field: "body.party", message: "is not a known field" }]);
    const signatures = await queryRows<{ n: number }>(
      database.db,
      sql`select count(*)::int as n from contract_signatures where contract_id = ${id}`,
    );
    expect(signatures[0]?.n).toBe(0);
    // No body at all, even one announced as JSON: the same as `{}`.
    const empty = await api(world.propertyCompany.key).post(`/v1/contracts/${id}/sign`, undefined, {
      "content-type": "application/json",
    });
    expect(empty.status).toBe(200);
    expect(empty.body.signatures).toEqual([expect.objectContaining({ party: "property_company" })]);
  });

  it("over HTTP, a POST announced as JSON with no body at all (curl -X POST -H 'Content-Type: application/json') is `{}`", async () => {
    const world = await createWorld(database.db);
    const id = await submitted(world);
    at("2026-11-10");
    await api(world.ownersCommittee.key).post(`/v1/contracts/${id}/votes`, {
      heldOn: "2026-11-10",
      ...TALLY,
    });
    const server = serve({ fetch: createTestApp(database.db, { now: () => now }).fetch, port: 0 });
    try {
      await once(server, "listening");
      const { port } = server.address() as AddressInfo;
      // What curl sends: no Content-Length, no Transfer-Encoding, no body (Node's own client
      // would add Content-Length: 0, so the request is written by hand).
      const socket = connect(port, "127.0.0.1");
      // Written, not ended: a half-closed socket may be closed by the server before it answers.
      socket.write(
        [
          `POST /v1/contracts/${id}/approve HTTP/1.1`,
          `Host: 127.0.0.1:${port}`,
          `Authorization: Bearer ${world.ownersCommittee.key}`,
          "Content-Type: application/json",
          "Connection: close",
          "",
          "",
        ].join("\r\n"),
      );
      let answer = "";
      for await (const chunk of socket) answer += String(chunk);
      const status = Number(answer.split(" ")[1]);
      expect(status).toBe(200);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect((await api(world.ownersCommittee.key).get(`/v1/contracts/${id}`)).body.state).toBe("approved");
  });

  it("the approval's comment is kept on the version and in the audit log", async () => {
    const world = await createWorld(database.db);
    const id = await submitted(world);
    at("2026-11-10");
    const committee = api(world.ownersCommittee.key);
    await committee.post(`/v1/contracts/${id}/votes`, { heldOn: "2026-11-10", ...TALLY });
    const approved = await committee.post(`/v1/contracts/${id}/approve`, {
      comment: "业主大会表决通过，同意签约",
    });
    expect(approved.status).toBe(200);
    const comments = await committee.get(`/v1/contracts/${id}/comments`);
    expect(comments.body.items).toEqual([
      expect.objectContaining({
        versionNo: 1,
        body: "业主大会表决通过，同意签约",
        authorOrgId: world.ownersCommittee.org.id,
      }),
    ]);
    const audit = await queryRows<{ payload: { comment?: string } }>(
      database.db,
      sql`select payload from audit_log where contract_id = ${id} and action = 'version.approved'`,
    );
    expect(audit[0]?.payload.comment).toBe("业主大会表决通过，同意签约");
  });
});
