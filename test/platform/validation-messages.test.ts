import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { ERROR_CODES } from "../../src/errors.js";
import { client, createTestApp, type TestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import { createWorld, type World } from "../support/factories.js";
import { elevatorTerms } from "../support/terms.js";

let database: DatabaseHandle;
let app: TestApp;
let world: World;

beforeAll(async () => {
  database = await openTestDatabase();
  app = createTestApp(database.db);
  world = await createWorld(database.db);
});
afterAll(() => database.close());

interface FieldError {
  field: string;
  message: string;
}

/** Every 400 body the tests saw, to check at the end that none speaks zod's own wording. */
const seen: FieldError[] = [];

/** The `errors` of a 400 `validation_failed` answer, in a stable order. */
function fieldErrorsOf(res: { status: number; body: { code?: string; errors?: FieldError[] } }) {
  expect(res.status, JSON.stringify(res.body)).toBe(400);
  expect(res.body.code).toBe("validation_failed");
  const errors = res.body.errors ?? [];
  seen.push(...errors);
  return [...errors].sort((a, b) => a.field.localeCompare(b.field) || a.message.localeCompare(b.message));
}

const byField = (errors: FieldError[]) =>
  [...errors].sort((a, b) => a.field.localeCompare(b.field) || a.message.localeCompare(b.message));

describe("validation errors speak the API's own sentences", () => {
  it("names each failing field of a contract draft and says what is accepted", async () => {
    const [monthly] = elevatorTerms().feeSchedule;
    const terms = elevatorTerms({
      totalInvestment: 800000,
      operationTermMonths: 601,
      maintenanceObligations: "维".repeat(4001),
      colour: "red",
      feeSchedule: [
        { ...monthly, code: "", kind: "weekly", price: 30, floorPrices: [{ floor: 2.5, price: "12.345" }] },
      ],
    });
    const res = await client(app, world.enterprise.key).post("/v1/contracts", {
      title: " ",
      communityId: "community-1",
      propertyCompanyOrgId: world.propertyCompany.org.id,
      facilityIds: [],
      voteMatter: "urgent",
      terms,
    });
    expect(fieldErrorsOf(res)).toEqual(
      byField([
        { field: "body.title", message: "must not be empty" },
        { field: "body.communityId", message: "must be a UUID" },
        { field: "body.ownersCommitteeOrgId", message: "is required" },
        { field: "body.facilityIds", message: "must have at least one item" },
        { field: "body.voteMatter", message: "must be one of: special, ordinary" },
        { field: "body.terms.totalInvestment", message: "must be text, not a number" },
        { field: "body.terms.operationTermMonths", message: "must be a whole number from 1 to 600" },
        { field: "body.terms.maintenanceObligations", message: "must be at most 4000 characters long" },
        { field: "body.terms.colour", message: "is not a known field" },
        { field: "body.terms.feeSchedule.0.code", message: "must not be empty" },
        // The schema's own messages are kept as written.
        { field: "body.terms.feeSchedule.0.code", message: "letters, digits, _ . - only" },
        {
          field: "body.terms.feeSchedule.0.kind",
          message: "must be one of: monthly, yearly, per_use, one_off",
        },
        { field: "body.terms.feeSchedule.0.price", message: "must be text, not a number" },
        { field: "body.terms.feeSchedule.0.floorPrices.0.floor", message: "must be a whole number" },
        {
          field: "body.terms.feeSchedule.0.floorPrices.0.price",
          message: "must be a non-negative decimal string with at most 2 decimal places",
        },
      ]),
    );
  });

  it("says which query values are out of range or unknown", async () => {
    const api = client(app, world.enterprise.key);
    const res = await api.get("/v1/contracts?limit=500&offset=-1&state=signing&facilityKind=lift&q=");
    expect(fieldErrorsOf(res)).toEqual(
      byField([
        { field: "query.limit", message: "must be a whole number from 1 to 200" },
        { field: "query.offset", message: "must be a whole number from 0 to 1000000" },
        {
          field: "query.state",
          message: expect.stringMatching(
            /^must be one of: draft, submitted, changes_requested, .*transferred/,
          ),
        },
        { field: "query.facilityKind", message: "must be one of: garage, elevator" },
        { field: "query.q", message: "must not be empty" },
      ]),
    );
    // Not a number at all, or not a whole one: the same sentence.
    expect(fieldErrorsOf(await api.get("/v1/contracts?limit=ten"))).toEqual([
      { field: "query.limit", message: "must be a whole number from 1 to 200" },
    ]);
    expect(fieldErrorsOf(await api.get("/v1/contracts?limit=2.5"))).toEqual([
      { field: "query.limit", message: "must be a whole number from 1 to 200" },
    ]);
    expect(fieldErrorsOf(await api.get("/v1/incidents?from=2026-03-01&acknowledged=yes"))).toEqual(
      byField([
        { field: "query.acknowledged", message: "must be one of: true, false" },
        {
          field: "query.from",
          message: "must be a date and time as YYYY-MM-DDTHH:MM:SS with Z or an offset such as +08:00",
        },
      ]),
    );
  });

  it("names path parameters that do not fit", async () => {
    const api = client(app, world.enterprise.key);
    expect(fieldErrorsOf(await api.get("/v1/contracts/42"))).toEqual([
      { field: "path.id", message: "must be a UUID" },
    ]);
    expect(fieldErrorsOf(await api.get(`/v1/contracts/${world.community.id}/versions/0`))).toEqual([
      { field: "path.versionNo", message: "must be a whole number from 1 to 2147483647" },
    ]);
  });

  it("tells a facility's kind, types and sizes apart", async () => {
    const api = client(app, world.streetOffice.key);
    expect(fieldErrorsOf(await api.post("/v1/facilities", { kind: "lift" }))).toEqual([
      { field: "body.kind", message: "must be one of: garage, elevator" },
    ]);
    const garage = await api.post("/v1/facilities", {
      kind: "garage",
      communityId: world.community.id,
      garageSize: "huge",
      parkingCapacity: "120",
      chargingPoints: -1,
      floorsServed: 3,
    });
    expect(fieldErrorsOf(garage)).toEqual(
      byField([
        { field: "body.name", message: "is required" },
        { field: "body.garageSize", message: "must be one of: large, mini" },
        { field: "body.parkingCapacity", message: "must be a whole number from 0 to 100000, not text" },
        { field: "body.chargingPoints", message: "must be a whole number from 0 to 100000" },
        { field: "body.floorsServed", message: "is not a known field" },
      ]),
    );
    expect(fieldErrorsOf(await api.post("/v1/facilities", [{ kind: "garage" }]))).toEqual([
      { field: "body", message: "must be an object, not a list" },
    ]);
  });

  it("leaves none of zod's default wording in any 400 body", () => {
    expect(seen.length).toBeGreaterThan(20);
    for (const { field, message } of seen) {
      expect(message, field).not.toMatch(/Invalid|Too (big|small)|expected|received|Unrecognized|>=|<=/);
    }
  });
});

describe("Hono's own refusals keep their status with a declared code", () => {
  it("answers a body that is not JSON with bad_request and a wrong Content-Type with 415", async () => {
    const api = client(app, world.enterprise.key);
    const malformed = await api.post("/v1/contracts", "{not json");
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ code: "bad_request", detail: "Malformed JSON in request body" });
    const text = await api.post("/v1/contracts", "title=x", { "content-type": "text/plain" });
    expect(text.status).toBe(415);
    expect(text.body).toMatchObject({
      code: "unsupported_media_type",
      type: "/problems/unsupported_media_type",
    });
  });
});

describe("the error codes", () => {
  it("are declared in the OpenAPI document as the enum of the problem's code", async () => {
    const { body } = await client(app).get("/openapi.json");
    const code = body.components.schemas.Problem.properties.code;
    expect(code.enum).toEqual(Object.keys(ERROR_CODES));
    expect(code.description).toContain("- `illegal_transition`: ");
  });

  it("used anywhere in the code are all declared, and each declared one is used", async () => {
    const sources = await sourceFiles(["src", "iot", "db", "contracts"]);
    // The code argument of ApiError's constructor and factories, and of the domain core's
    // refusals (the command tables answer a status and a code the services turn into an ApiError),
    // over line breaks.
    const call =
      /(?:ApiError\.(?:conflict|unavailable)|conflictOn)\(\s*"([^"]+)"|new ApiError\(\s*[\w.]+,\s*"([^"]+)"|refuse\(\s*\d{3},\s*"([^"]+)"|status: \d{3},\s*code: "([a-z_]+)"/g;
    const used = new Set<string>();
    for (const text of sources.values()) {
      for (const m of text.matchAll(call)) used.add(m[1] ?? m[2] ?? m[3] ?? m[4] ?? "");
    }
    expect(used.size).toBeGreaterThan(30);
    const declared = Object.keys(ERROR_CODES);
    expect([...used].filter((code) => !declared.includes(code))).toEqual([]);
    // The other way: a declared code nothing answers with would mislead clients.
    const everything = [...sources.values()].join("\n");
    expect(declared.filter((code) => !everything.includes(`"${code}"`))).toEqual([]);
  });
});

/** The TypeScript files under `dirs` (tests excluded), path → text. */
async function sourceFiles(dirs: string[]): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const dir of dirs) {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    for (const entry of entries) {
      if (!entry.isFile() || !/\.tsx?$/.test(entry.name) || entry.name.endsWith(".test.ts")) continue;
      const path = join(entry.parentPath, entry.name);
      files.set(path, await readFile(path, "utf8"));
    }
  }
  return files;
}
