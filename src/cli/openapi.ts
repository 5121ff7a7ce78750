/**
 * `npm run openapi [-- <file>]`: writes the OpenAPI document `/openapi.json` serves to a file
 * (default clients/typescript/openapi.json, the typed client's input), without a server or a
 * database: the app is built in-process, as the Workers entry builds it, with no database (the
 * document needs none). Other tools (the typed client, Redocly, Spectral) read that file.
 */
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { createApp } from "../app.js";
import { openApiDocument } from "../docs.js";

/** Where the document is written by default: beside the client types generated from it. */
export const DOCUMENT_FILE = fileURLToPath(new URL("../../clients/typescript/openapi.json", import.meta.url));

/** The document as `/openapi.json` serves it (the same function builds both). */
export function generateOpenApiDocument() {
  const app = createApp({
    logger: pino({ level: "silent" }),
    clock: () => new Date(),
    // The docs routes are where the document's security schemes are registered; their assets are
    // never read here.
    readDocsAsset: async () => null,
  });
  return openApiDocument(app);
}

/** The file's text: indented, so a route change reads as a small diff and linters' line numbers help. */
export function openApiDocumentText(): string {
  return `${JSON.stringify(generateOpenApiDocument(), null, 2)}\n`;
}

function main() {
  const file = resolve(process.argv[2] ?? DOCUMENT_FILE);
  const text = openApiDocumentText();
  writeFileSync(file, text);
  const operations = Object.values(JSON.parse(text).paths as Record<string, object>).reduce<number>(
    (n, path) => n + Object.keys(path).length,
    0,
  );
  console.log(`OpenAPI document: ${operations} operations, ${(text.length / 1024).toFixed(0)} KiB → ${file}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
