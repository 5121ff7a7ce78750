/**
 * The generated document says exactly what the API sends and takes: every timestamp is
 * `format: date-time` (a client generator then types it as a date), a billing period filter has
 * its pattern, and the sensor ingest's body is the protocol's own event union (iot/protocol.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { client, createTestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";

type Schema = Record<string, unknown>;

let database: DatabaseHandle;
// biome-ignore lint/suspicious/noExplicitAny: the document is walked as plain JSON
let doc: any;

beforeAll(async () => {
  database = await openTestDatabase();
  doc = (await client(createTestApp(database.db)).get("/openapi.json")).body;
});
afterAll(() => database.close());

/** Names that say "an instant": `createdAt`, `at`, `since`, `until`, `from`, `to`, `expires`… */
const INSTANT_NAME = /(^|[a-z])At$|^(at|since|until|from|to|expires|asOf)$/;
/** Descriptions that say it: "RFC 3339", "timestamp", "instant". */
const INSTANT_WORDS = /RFC 3339|timestamp|\binstant\b/i;

const isString = (s: Schema) => ([] as unknown[]).concat(s.type ?? []).includes("string");

/**
 * Every string field or parameter that looks like an instant by its name or description and is
 * not `format: date-time`. A calendar date (`format: date`) or a field with a `pattern` (a month
 * `YYYY-MM`) declares another shape and passes.
 */
function looseInstants(node: unknown, path: string, name: string | undefined, found: string[]) {
  if (!node || typeof node !== "object") return;
  if (Array.isArray(node)) {
    for (const [i, item] of node.entries()) looseInstants(item, `${path}/${i}`, name, found);
    return;
  }
  const schema = node as Schema;
  if (name !== undefined && isString(schema) && schema.enum === undefined) {
    const looksLikeInstant = INSTANT_NAME.test(name) || INSTANT_WORDS.test(String(schema.description ?? ""));
    const declared =
      schema.format === "date-time" || schema.format === "date" || schema.pattern !== undefined;
    if (looksLikeInstant && !declared) found.push(`${path} (${name})`);
  }
  for (const [key, value] of Object.entries(schema)) {
    if (key === "properties" && value && typeof value === "object") {
      for (const [prop, sub] of Object.entries(value))
        looseInstants(sub, `${path}/properties/${prop}`, prop, found);
    } else if (key === "parameters" && Array.isArray(value)) {
      for (const p of value as Schema[])
        looseInstants(p.schema, `${path}/parameters/${p.name}`, String(p.name), found);
    } else if (["items", "anyOf", "oneOf", "allOf", "additionalProperties"].includes(key)) {
      looseInstants(value, `${path}/${key}`, name, found);
    } else if (key !== "example" && key !== "examples") {
      looseInstants(value, `${path}/${key}`, undefined, found);
    }
  }
}

describe("the generated document", () => {
  it("gives every timestamp format: date-time", () => {
    const found: string[] = [];
    looseInstants(doc, "", undefined, found);
    expect(found).toEqual([]);
  });

  it("the walk finds a timestamp without its format (so the check above can fail)", () => {
    const found: string[] = [];
    looseInstants(
      {
        properties: {
          paidAt: { type: "string" },
          when: { type: ["string", "null"], description: "RFC 3339" },
        },
      },
      "",
      undefined,
      found,
    );
    expect(found).toEqual(["/properties/paidAt (paidAt)", "/properties/when (when)"]);
  });

  it("gives the invoices' period filter the pattern of a billing period", () => {
    const period = doc.paths["/v1/contracts/{id}/invoices"].get.parameters.find(
      (p: Schema) => p.name === "period",
    );
    const pattern = new RegExp(period.schema.pattern);
    expect(["2026-01", "2026-12"].every((p) => pattern.test(p))).toBe(true);
    expect(["2026-13", "2026-00", "2026-1", "26-01", "2026-01-01"].some((p) => pattern.test(p))).toBe(false);
  });

  it("documents the sensor ingest's body as the protocol's events, every type with its fields", () => {
    const body = doc.paths["/v1/sensors/{id}/events"].post.requestBody.content["application/json"].schema;
    const ref = { $ref: "#/components/schemas/SensorEventInput" };
    expect(body.oneOf).toEqual([ref, expect.objectContaining({ type: "array", items: ref, minItems: 1 })]);
    const union = doc.components.schemas.SensorEventInput;
    expect(union.discriminator.propertyName).toBe("type");
    const fields = Object.fromEntries(
      Object.entries(union.discriminator.mapping as Record<string, string>).map(([type, target]) => {
        const event = doc.components.schemas[target.replace("#/components/schemas/", "")];
        expect(event.additionalProperties, type).toBe(false);
        expect(event.properties.occurredAt.format, type).toBe("date-time");
        return [type, Object.keys(event.properties).sort()];
      }),
    );
    const base = ["eventId", "occurredAt", "type"];
    expect(fields).toEqual({
      ebike_detected: [...base, "carHalted", "confidence", "floor"].sort(),
      ebike_cleared: [...base, "floor"].sort(),
      heartbeat: [...base, "firmware", "uptimeS"].sort(),
      fault: [...base, "code", "message"].sort(),
    });
  });
});
