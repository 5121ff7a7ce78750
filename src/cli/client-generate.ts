/**
 * `npm run client:generate`: after `npm run openapi` has written clients/typescript/openapi.json,
 * generates the typed client's types from it (openapi-typescript) into
 * clients/typescript/schema.d.ts. test/clients/drift.test.ts fails when either committed file
 * differs from what the routes generate now.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import openapiTS, { astToString, COMMENT_HEADER } from "openapi-typescript";
import { DOCUMENT_FILE } from "./openapi.js";

export const TYPES_FILE = fileURLToPath(new URL("../../clients/typescript/schema.d.ts", import.meta.url));

/**
 * The types of a document's text, as `openapi-typescript --default-non-nullable false` writes them.
 * That option off: a body field with a default (`voteMatter`, `garageTarget`) stays optional, as
 * the document says (left on, openapi-typescript would make the caller send every defaulted field).
 */
export async function clientTypes(documentText: string): Promise<string> {
  return (
    COMMENT_HEADER + astToString(await openapiTS(documentText, { silent: true, defaultNonNullable: false }))
  );
}

async function main() {
  writeFileSync(TYPES_FILE, await clientTypes(readFileSync(DOCUMENT_FILE, "utf8")));
  console.log(`client types → ${TYPES_FILE}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
