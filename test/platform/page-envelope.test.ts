/**
 * One page envelope on every collection (docs/api.md, "Pages"): the generated document declares
 * exactly `{items, total, limit, offset, next}` on every list, and a client that follows `next`
 * from the first page gets every row exactly once, in order, with the right total on every page.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendAudit } from "../../db/audit.js";
import type { DatabaseHandle } from "../../db/client.js";
import { contractComments, contractVotes, payments } from "../../db/schema.js";
import { MAX_PAGE_LIMIT, pageJson } from "../../src/openapi.js";
import { client, createTestApp, type TestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import {
  createInvoice,
  createLedgerContract,
  createOrg,
  createStreet,
  createWorld,
  type World,
} from "../support/factories.js";

const ENVELOPE = ["items", "limit", "next", "offset", "total"];

/**
 * Members a list may carry beside the envelope, each describing the whole list and the same on
 * every page. A new one is a decision to write down here and in docs/api.md, never an accident.
 */
const EXTRA_MEMBERS: Record<string, string[]> = {
  listUpcomingTransfers: ["today"],
  listGuidanceDisbursements: ["totals"],
};

/** Answers with `items` that are not collections: each with why. */
const NOT_COLLECTIONS: Record<string, string> = {
  getIncidentStats: "aggregate figures per group over a period, not rows to page through",
};

describe("the page envelope", () => {
  it("links the next page with the same filters, and none after the last", () => {
    const first = pageJson("http://h/v1/contracts?state=draft&limit=2", ["a", "b"], 5, {
      limit: 2,
      offset: 0,
    });
    expect(first).toEqual({
      items: ["a", "b"],
      total: 5,
      limit: 2,
      offset: 0,
      next: "/v1/contracts?state=draft&limit=2&offset=2",
    });
    expect(
      pageJson("http://h/v1/contracts?offset=4&limit=2", ["e"], 5, { limit: 2, offset: 4 }).next,
    ).toBeNull();
    expect(pageJson("http://h/v1/contracts", ["a", "b"], 4, { limit: 2, offset: 2 }).next).toBeNull();
    expect(pageJson("http://h/v1/x?limit=2&offset=2", [], 0, { limit: 2, offset: 2 }).next).toBeNull();
  });
});

let database: DatabaseHandle;
let app: TestApp;
beforeAll(async () => {
  database = await openTestDatabase();
  app = createTestApp(database.db);
});
afterAll(() => database.close());

// biome-ignore lint/suspicious/noExplicitAny: the document is walked as plain JSON
type Json = any;

describe("the document", () => {
  let doc: Json;
  beforeAll(() => {
    doc = app.getOpenAPI31Document({ openapi: "3.1.0", info: { title: "t", version: "1" } });
  });
  const resolve = (schema: Json): Json =>
    schema?.$ref ? doc.components.schemas[schema.$ref.replace("#/components/schemas/", "")] : schema;
  const operations = (): Json[] =>
    Object.values(doc.paths).flatMap((item: Json) =>
      Object.values(item).filter((op: Json) => typeof op === "object" && op?.responses),
    );
  const okSchema = (op: Json) => resolve(op.responses["200"]?.content?.["application/json"]?.schema);

  it("declares every list answer as exactly the envelope, with limit and offset in its query", () => {
    const lists = operations().filter((op) => okSchema(op)?.properties?.items);
    const failures: string[] = [];
    for (const op of lists) {
      if (NOT_COLLECTIONS[op.operationId]) continue;
      const schema = okSchema(op);
      const expected = [...ENVELOPE, ...(EXTRA_MEMBERS[op.operationId] ?? [])].sort();
      const members = Object.keys(schema.properties).sort();
      if (JSON.stringify(members) !== JSON.stringify(expected)) {
        failures.push(`${op.operationId}: members ${members.join(",")}, expected ${expected.join(",")}`);
      }
      if (JSON.stringify([...(schema.required ?? [])].sort()) !== JSON.stringify(expected)) {
        failures.push(`${op.operationId}: required ${schema.required}`);
      }
      if (schema.properties.items.type !== "array") failures.push(`${op.operationId}: items is not an array`);
      for (const name of ["total", "limit", "offset"]) {
        if (schema.properties[name].type !== "integer")
          failures.push(`${op.operationId}: ${name} not integer`);
      }
      expect(schema.properties.limit.maximum).toBe(MAX_PAGE_LIMIT);
      if (JSON.stringify(schema.properties.next.type) !== JSON.stringify(["string", "null"])) {
        failures.push(`${op.operationId}: next is ${JSON.stringify(schema.properties.next.type)}`);
      }
      for (const name of EXTRA_MEMBERS[op.operationId] ?? []) {
        if (!resolve(schema.properties[name]).description && !schema.properties[name].description) {
          failures.push(`${op.operationId}: ${name} has no description`);
        }
      }
      const query = new Map<string, Json>(
        (op.parameters ?? []).filter((p: Json) => p.in === "query").map((p: Json) => [p.name, p.schema]),
      );
      for (const name of ["limit", "offset"]) {
        if (query.get(name)?.type !== "integer") {
          failures.push(`${op.operationId}: query ${name} is ${JSON.stringify(query.get(name)?.type)}`);
        }
      }
    }
    expect(failures).toEqual([]);
    // Every list of /v1 is among them (29 today), and the exceptions name real operations.
    expect(lists.length).toBeGreaterThanOrEqual(29);
    const ids = new Set(operations().map((op) => op.operationId));
    for (const id of [...Object.keys(EXTRA_MEMBERS), ...Object.keys(NOT_COLLECTIONS)])
      expect(ids).toContain(id);
  });

  it("types withinDays as an integer, not integer|null", () => {
    const op = operations().find((o) => o.operationId === "listUpcomingTransfers");
    const within = op.parameters.find((p: Json) => p.name === "withinDays");
    expect(within.schema.type).toBe("integer");
  });
});

/** Follows `next` from the first page with `limit`, checking the envelope of every page. */
async function walk(api: ReturnType<typeof client>, path: string, limit: number) {
  const seen: Json[] = [];
  let next: string | null = `${path}${path.includes("?") ? "&" : "?"}limit=${limit}`;
  let pages = 0;
  let total: number | undefined;
  while (next !== null) {
    const res = await api.get(next);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.limit).toBe(limit);
    expect(res.body.offset).toBe(pages * limit);
    expect(res.body.items.length).toBeLessThanOrEqual(limit);
    total ??= res.body.total;
    expect(res.body.total).toBe(total);
    seen.push(...res.body.items);
    next = res.body.next;
    pages += 1;
    expect(pages).toBeLessThan(100);
  }
  return { items: seen, total, pages };
}

/** Every row once, in the order expected, on more than one page. */
function expectEveryRowOnce(got: { items: Json[]; total?: number; pages: number }, expectedIds: string[]) {
  expect(got.pages).toBeGreaterThan(1);
  expect(got.total).toBe(expectedIds.length);
  expect(got.items.map((i) => i.id)).toEqual(expectedIds);
}

const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

describe("paging through a growing collection", () => {
  let world: World;
  let contractId: string;
  const sameInstant = new Date("2026-03-01T02:00:00Z");
  beforeAll(async () => {
    world = await createWorld(database.db);
    contractId = (await createLedgerContract(database.db, world)).id;
  });

  it("gives a contract's comments once each, oldest first, ties broken by id", async () => {
    // Seven comments written at one instant: only the id orders them, so pages must not overlap.
    const rows = await database.db
      .insert(contractComments)
      .values(
        Array.from({ length: 7 }, (_, n) => ({
          contractId,
          versionNo: 1,
          authorOrgId: world.enterprise.org.id,
          body: `第${n}条意见`,
          createdAt: sameInstant,
        })),
      )
      .returning();
    const got = await walk(client(app, world.enterprise.key), `/v1/contracts/${contractId}/comments`, 3);
    expectEveryRowOnce(got, rows.map((r) => r.id).sort(byId));
  });

  it("gives a contract's votes once each, by the day held, then as recorded", async () => {
    const values = Array.from({ length: 5 }, (_, n) => ({
      contractId,
      versionNo: 1,
      matter: "special" as const,
      totalArea: "720.00",
      totalOwners: 12,
      participatingArea: "720.00",
      participatingOwners: 12,
      yesArea: "600.00",
      yesOwners: 10,
      passed: true,
      heldOn: n < 2 ? "2026-02-01" : "2026-01-15",
      recordedByOrgId: world.ownersCommittee.org.id,
      createdAt: sameInstant,
    }));
    const rows = await database.db.insert(contractVotes).values(values).returning();
    const expected = [...rows]
      .sort((a, b) => a.heldOn.localeCompare(b.heldOn) || byId(a.id, b.id))
      .map((r) => r.id);
    const got = await walk(client(app, world.ownersCommittee.key), `/v1/contracts/${contractId}/votes`, 2);
    expectEveryRowOnce(got, expected);
  });

  it("gives a contract's audit log once each, in seq order, with the total", async () => {
    await database.db.transaction(async (tx) => {
      for (let n = 0; n < 11; n++) {
        await appendAudit(tx, {
          contractId,
          action: "test.row",
          actorOrgId: world.enterprise.org.id,
          actorKeyId: null,
          versionNo: 1,
          payload: { n },
          at: sameInstant,
        });
      }
    });
    const got = await walk(client(app, world.ownersCommittee.key), `/v1/contracts/${contractId}/audit`, 4);
    expect(got.pages).toBe(3);
    expect(got.total).toBe(11);
    expect(got.items.map((r: Json) => r.seq)).toEqual(Array.from({ length: 11 }, (_, n) => n + 1));
  });

  it("gives an invoice's payments once each, by the day received, then as recorded", async () => {
    const contract = await createLedgerContract(database.db, world);
    const invoice = await createInvoice(database.db, contract, {
      subscriberKey: `household:${world.households[0]?.id}`,
      total: "900.00",
      period: "2026-02",
      issueDate: "2026-02-01",
    });
    const rows = await database.db
      .insert(payments)
      .values(
        Array.from({ length: 5 }, (_, n) => ({
          invoiceId: invoice.id,
          contractId: contract.id,
          enterpriseOrgId: contract.enterpriseOrgId,
          subscriberKey: invoice.subscriberKey,
          amount: "10.00",
          appliedAmount: "10.00",
          method: "cash" as const,
          externalRef: `page-test-${invoice.id}-${n}`,
          receivedOn: n % 2 ? "2026-02-03" : "2026-02-02",
          createdAt: sameInstant,
        })),
      )
      .returning();
    const expected = [...rows]
      .sort((a, b) => a.receivedOn.localeCompare(b.receivedOn) || byId(a.id, b.id))
      .map((r) => r.id);
    const got = await walk(client(app, world.enterprise.key), `/v1/invoices/${invoice.id}/payments`, 2);
    expectEveryRowOnce(got, expected);
    expect(got.items.every((p: Json) => p.amount === "10.00")).toBe(true);
  });

  it("gives a street's organizations once each, by kind then name, with a filter kept in next", async () => {
    const street = await createStreet(database.db);
    const office = await createOrg(database.db, { kind: "street_office", streetId: street.id });
    const created = [];
    for (let n = 0; n < 5; n++)
      created.push(await createOrg(database.db, { kind: "enterprise", streetId: street.id }));
    const api = client(app, office.key);
    // The filter by kind must travel in `next`; the order is the database's collation of names,
    // so the pages are compared with the same list read as one page.
    const paged = await walk(api, "/v1/organizations?kind=enterprise", 2);
    const whole = await api.get("/v1/organizations?kind=enterprise&limit=200");
    expect(whole.body.next).toBeNull();
    expectEveryRowOnce(
      paged,
      whole.body.items.map((o: Json) => o.id),
    );
    expect(paged.items.map((o: Json) => o.id).sort(byId)).toEqual(created.map((o) => o.org.id).sort(byId));
    const all = await walk(api, "/v1/organizations", 4);
    // By kind in the order the kinds are declared (street_office first), then name.
    expect(all.items.map((o: Json) => o.kind)).toEqual(["street_office", ...Array(5).fill("enterprise")]);
  });

  it("refuses a limit over the maximum and a negative offset", async () => {
    const api = client(app, world.enterprise.key);
    const over = await api.get(`/v1/contracts/${contractId}/comments?limit=${MAX_PAGE_LIMIT + 1}`);
    expect(over.status).toBe(400);
    expect(over.body.errors[0].field).toBe("query.limit");
    const negative = await api.get(`/v1/contracts/${contractId}/comments?offset=-1`);
    expect(negative.status).toBe(400);
    expect(negative.body.errors[0].field).toBe("query.offset");
  });

  it("answers an empty page past the end, with the total and no next", async () => {
    const res = await client(app, world.enterprise.key).get(
      `/v1/contracts/${contractId}/comments?offset=500`,
    );
    expect(res.body).toMatchObject({ items: [], total: 7, limit: 50, offset: 500, next: null });
  });
});
