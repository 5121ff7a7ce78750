/**
 * `npm install` runs this (postinstall): makes the PGlite template of db/pglite-template.ts when it
 * is missing. Never fails the install: without a template a new embedded database is made from
 * scratch, only slower.
 */
import { MIGRATIONS_FOLDER } from "../../db/client.js";
import { makePgliteTemplate } from "../../db/pglite-template.js";

try {
  await makePgliteTemplate(MIGRATIONS_FOLDER);
} catch (err) {
  console.warn(`PGlite template not made (new embedded databases start slower): ${String(err)}`);
}
