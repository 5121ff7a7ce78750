/**
 * `npm run bench`: the six benchmarks in sequence (start-up, ingest, API, billing, portal pages, Workers), each in its
 * own process with its output as it comes. A benchmark that fails (an error, or a count check
 * such as lost events) does not stop the others; the exit code is 1 if any failed.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "./lib.js";

const SCRIPTS = ["startup", "ingest", "api", "billing", "pages", "worker"];
const started = performance.now();
const failed: string[] = [];
for (const name of SCRIPTS) {
  console.log(`\n## bench:${name}\n`);
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "bench", `${name}.ts`)], {
      cwd: ROOT,
      stdio: "inherit",
    });
    child.once("exit", (c) => resolve(c));
  });
  if (code !== 0) failed.push(name);
}
const minutes = (performance.now() - started) / 60_000;
console.log(
  `\nall benchmarks: ${minutes.toFixed(1)} min${failed.length ? `; failed: ${failed.join(", ")}` : ""}`,
);
if (failed.length) process.exitCode = 1;
