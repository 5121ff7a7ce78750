/**
 * Every setting of `src/config.ts` is in one of the README's tables (Configuration or Limits),
 * with its real default: a newcomer reading the README knows every variable the process reads.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ConfigSchema, loadConfig } from "../../src/config.js";

const README = readFileSync(fileURLToPath(new URL("../../README.md", import.meta.url)), "utf8");

/** The README's table rows that name `setting` in a cell of their own, as lists of cells. */
function rowsNaming(setting: string): string[][] {
  return README.split("\n")
    .filter((line) => line.startsWith("|"))
    .map((line) => line.split("|").map((cell) => cell.trim()))
    .filter((cells) =>
      cells.some((cell) => cell === `\`${setting}\`` || cell.split(" / ").includes(`\`${setting}\``)),
    );
}

describe("the README's settings tables", () => {
  const defaults = loadConfig({}) as Record<string, unknown>;
  for (const setting of Object.keys(ConfigSchema.shape)) {
    it(`name ${setting}, with its default`, () => {
      const rows = rowsNaming(setting);
      expect(rows.length, `${setting} is in no table of README.md`).toBeGreaterThan(0);
      const value = defaults[setting];
      if (typeof value === "number" || typeof value === "string" || typeof value === "boolean") {
        expect(
          rows.some((cells) => cells.includes(`\`${String(value)}\``)),
          `${setting}'s default ${String(value)} is not in its row`,
        ).toBe(true);
      }
    });
  }
});
