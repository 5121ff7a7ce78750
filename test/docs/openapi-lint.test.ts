/**
 * The generated document passes both linters an integrator is likely to run (issue 15): Redocly's
 * `recommended` and Spectral's `spectral:oas`, with the repository's own configurations
 * (redocly.yaml, .spectral.yaml), and no error and no warning from either.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { createTestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const bin = (name: string) => join(ROOT, "node_modules", ".bin", name);

let database: DatabaseHandle;
let dir: string;
let documentPath: string;

beforeAll(async () => {
  database = await openTestDatabase();
  const res = await createTestApp(database.db).request("/openapi.json");
  expect(res.status).toBe(200);
  dir = await mkdtemp(join(tmpdir(), "bot-openapi-"));
  documentPath = join(dir, "openapi.json");
  await writeFile(documentPath, await res.text());
});
afterAll(async () => {
  await database.close();
  await rm(dir, { recursive: true, force: true });
});

/** A linter's run: its output is kept whatever its exit code, which the assertions read. */
async function lint(file: string, args: string[]) {
  try {
    return (await run(file, args, { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 })).stdout;
  } catch (err) {
    return (err as { stdout?: string }).stdout ?? String(err);
  }
}

describe("the OpenAPI document", () => {
  it("has a unique operationId on every operation", async () => {
    const doc = (await import("node:fs")).readFileSync(documentPath, "utf8");
    const paths = (JSON.parse(doc) as { paths: Record<string, Record<string, { operationId?: string }>> })
      .paths;
    const ids = Object.values(paths).flatMap((ops) => Object.values(ops).map((op) => op.operationId));
    expect(ids.length).toBeGreaterThan(100);
    expect(ids.filter((id) => !id)).toEqual([]);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
  });

  it("passes Redocly's recommended rules with no error and no warning", async () => {
    const out = await lint(bin("redocly"), [
      "lint",
      documentPath,
      "--config",
      join(ROOT, "redocly.yaml"),
      "--format",
      "json",
    ]);
    const report = JSON.parse(out.slice(out.indexOf("{"))) as {
      totals: { errors: number; warnings: number };
      problems: { ruleId: string; message: string }[];
    };
    expect(report.problems.map((p) => `${p.ruleId}: ${p.message}`)).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  }, 120_000);

  it("passes Spectral's spectral:oas rules with no error and no warning", async () => {
    const out = await lint(bin("spectral"), [
      "lint",
      documentPath,
      "--ruleset",
      join(ROOT, ".spectral.yaml"),
      "--format",
      "json",
      "--quiet",
    ]);
    const results = JSON.parse(out.trim() === "" ? "[]" : out.slice(out.indexOf("["))) as {
      code: string;
      message: string;
      path: string[];
    }[];
    expect(results.map((r) => `${r.code} at ${r.path.join(".")}: ${r.message}`)).toEqual([]);
  }, 120_000);
});
