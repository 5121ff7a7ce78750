/**
 * A new embedded database starts from a template: the PGlite data directory as it is right after
 * initdb and the committed migrations, kept as a tar under node_modules/.cache. Unpacking it takes
 * ~1.3 s where initdb in WASM and the migrations take ~3–4 s on this machine (npm start on an
 * empty DATA_DIR, and every test file on PGlite, pay that). `npm install` makes it (postinstall:
 * `src/cli/pglite-template.ts`), as does the test suite's global setup when it is missing.
 *
 * The file name carries a hash of the PGlite version and the migration files, so a new migration
 * or a PGlite upgrade simply finds no template and builds from scratch; `migrate()` still runs
 * after loading one (and finds nothing to apply). Node.js only: never imported by the Workers entry.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const CACHE_DIR = fileURLToPath(new URL("../node_modules/.cache/bot-platform/", import.meta.url));

/** Where the template of the current PGlite version and migrations lives (it may not exist). */
export async function pgliteTemplatePath(migrationsFolder: string): Promise<string> {
  const hash = createHash("sha256");
  // The package exports no package.json: find it above its entry point (…/pglite/dist/index.cjs).
  const entry = createRequire(import.meta.url).resolve("@electric-sql/pglite");
  hash.update(await readFile(join(dirname(dirname(entry)), "package.json")));
  for (const dir of [migrationsFolder, join(migrationsFolder, "meta")]) {
    const files = (await readdir(dir, { withFileTypes: true })).filter((f) => f.isFile()).map((f) => f.name);
    for (const name of files.sort()) hash.update(`${name}\n`).update(await readFile(join(dir, name)));
  }
  return join(CACHE_DIR, `pglite-${hash.digest("hex").slice(0, 16)}.tar`);
}

/** The template as PGlite's `loadDataDir` takes it, or null when it has not been made. */
export async function readPgliteTemplate(migrationsFolder: string): Promise<Blob | null> {
  const path = await pgliteTemplatePath(migrationsFolder);
  return existsSync(path) ? new Blob([await readFile(path)]) : null;
}

/**
 * Makes the template unless it exists; returns its path. Written atomically: concurrent makers
 * each rename a whole file into place.
 */
export async function makePgliteTemplate(migrationsFolder: string): Promise<string> {
  const path = await pgliteTemplatePath(migrationsFolder);
  if (existsSync(path)) return path;
  const [{ PGlite }, { drizzle }, { migrate }] = await Promise.all([
    import("@electric-sql/pglite"),
    import("drizzle-orm/pglite"),
    import("drizzle-orm/pglite/migrator"),
  ]);
  const client = await PGlite.create("memory://");
  try {
    await migrate(drizzle(client), { migrationsFolder });
    const tar = await client.dumpDataDir("none");
    await mkdir(CACHE_DIR, { recursive: true });
    const partial = `${path}.${process.pid}.partial`;
    await writeFile(partial, Buffer.from(await tar.arrayBuffer()));
    await rename(partial, path);
    // Templates of earlier migration sets are of no use any more (30 MB each).
    for (const name of await readdir(CACHE_DIR)) {
      if (name.startsWith("pglite-") && join(CACHE_DIR, name) !== path && !name.endsWith(".partial")) {
        await rm(join(CACHE_DIR, name), { force: true });
      }
    }
  } finally {
    await client.close();
  }
  return path;
}
