/**
 * The typed client's committed files are what the routes generate now: a route changed without
 * `npm run client:generate` fails here. Once regenerated, `npm run typecheck` fails wherever
 * test/clients/story.test.ts uses what changed.
 */
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { describe, expect, it } from "vitest";
import { clientTypes, TYPES_FILE } from "../../src/cli/client-generate.js";
import { DOCUMENT_FILE, openApiDocumentText } from "../../src/cli/openapi.js";

const stale = (file: string) =>
  `${relative(process.cwd(), file)} is out of date: run \`npm run client:generate\` and commit clients/typescript/`;

describe("the typed client in clients/typescript", () => {
  it("was generated from the document the routes generate now", async () => {
    const document = openApiDocumentText();
    expect(readFileSync(DOCUMENT_FILE, "utf8") === document, stale(DOCUMENT_FILE)).toBe(true);
    const types = await clientTypes(document);
    expect(readFileSync(TYPES_FILE, "utf8") === types, stale(TYPES_FILE)).toBe(true);
  }, 60_000);
});
