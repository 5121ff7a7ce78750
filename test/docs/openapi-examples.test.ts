/**
 * Examples on every request body and every success answer of the document (issue 15), and each
 * one valid against the schema it illustrates: JSON examples are parsed with the route's own zod
 * schema (answers made strict all the way down, as test/authz/responses.test.ts checks real
 * answers), so an example cannot show a field the API does not send or miss one it does. The
 * JSON examples are recorded from the API (test/authz/record-examples.ts): when a schema changes,
 * run it again.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { z } from "zod";
import type { DatabaseHandle } from "../../db/client.js";
import { createTestApp, type TestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import { describeIssues, strictSchema } from "../support/strict-schema.js";

type Media = Record<string, { schema?: unknown; example?: unknown }>;

let database: DatabaseHandle;
let app: TestApp;
beforeAll(async () => {
  database = await openTestDatabase();
  app = createTestApp(database.db);
});
afterAll(() => database.close());

const isZod = (schema: unknown): schema is z.ZodType =>
  typeof schema === "object" && schema !== null && "_zod" in schema;

/** Every documented request body and success answer of every route, with what illustrates it. */
function parts() {
  const found: { where: string; media: string; schema: unknown; example: unknown; answer: boolean }[] = [];
  for (const def of app.openAPIRegistry.definitions) {
    if (def.type !== "route") continue;
    const id = def.route.operationId ?? `${def.route.method} ${def.route.path}`;
    const body = def.route.request?.body as { content?: Media } | undefined;
    for (const [media, part] of Object.entries(body?.content ?? {})) {
      found.push({
        where: `${id} request`,
        media,
        schema: part.schema,
        example: part.example,
        answer: false,
      });
    }
    for (const [status, response] of Object.entries(def.route.responses)) {
      if (!status.startsWith("2")) continue;
      for (const [media, part] of Object.entries((response as { content?: Media }).content ?? {})) {
        found.push({
          where: `${id} ${status}`,
          media,
          schema: part.schema,
          example: part.example,
          answer: true,
        });
      }
    }
  }
  return found;
}

/**
 * The non-JSON parts of the generated document (a CSV, an event stream, metrics text) that show
 * no example in their schema, by "operationId request|status media"; bytes (format binary) need none.
 */
async function bareNonJson(): Promise<Set<string>> {
  type Part = { content?: Record<string, { schema?: { example?: unknown; format?: string } }> };
  const doc = (await (await app.request("/openapi.json")).json()) as {
    paths: Record<
      string,
      Record<string, { operationId: string; requestBody?: Part; responses: Record<string, Part> }>
    >;
  };
  const bare = new Set<string>();
  for (const op of Object.values(doc.paths).flatMap((ops) => Object.values(ops))) {
    const check = (label: string, part: Part | undefined) => {
      for (const [media, { schema }] of Object.entries(part?.content ?? {})) {
        if (media === "application/json" || schema?.format === "binary" || schema?.example !== undefined)
          continue;
        bare.add(`${op.operationId} ${label} ${media}`);
      }
    };
    check("request", op.requestBody);
    for (const [status, response] of Object.entries(op.responses))
      if (status.startsWith("2")) check(status, response);
  }
  return bare;
}

describe("the document's examples", () => {
  it("illustrate every request body and every success answer", async () => {
    const all = parts();
    expect(all.length).toBeGreaterThan(150);
    const bareOthers = await bareNonJson();
    const bare = all.filter((p) =>
      p.media === "application/json"
        ? p.example === undefined
        : p.example === undefined && bareOthers.has(`${p.where} ${p.media}`),
    );
    expect(bare.map((p) => `${p.where} ${p.media}`)).toEqual([]);
  });

  it("are valid against the schemas they illustrate", () => {
    const invalid: string[] = [];
    for (const p of parts()) {
      if (p.media !== "application/json" || p.example === undefined || !isZod(p.schema)) continue;
      const parsed = (p.answer ? strictSchema(p.schema) : p.schema).safeParse(p.example);
      if (!parsed.success) invalid.push(`${p.where}: ${describeIssues(parsed.error.issues).join("; ")}`);
    }
    expect(invalid).toEqual([]);
  });
});
