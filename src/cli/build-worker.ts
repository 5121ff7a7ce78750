/**
 * `npm run build:worker [-- <outdir>]`: the Workers bundle as `wrangler deploy` would upload it
 * (`wrangler deploy --dry-run`, default outdir dist/worker), its size raw and gzipped, and a check
 * that nothing Node-only came into it: the build fails when a module of the Node process (PGlite,
 * the embedded broker, MQTT, the file system, sockets) is in the bundle.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

/** Packages of the Node process only (the database, the broker and the MQTT consumer). */
const NODE_ONLY_PACKAGES = [
  "@electric-sql/pglite",
  "@electric-sql/pglite-socket",
  "aedes",
  "mqtt",
  "mqtt-packet",
];
/** What the bundle may import from the runtime: the rest of node:* does not belong on Workers. */
const RUNTIME_IMPORTS = new Set([
  "<runtime>",
  "cloudflare:sockets",
  "node:buffer",
  "node:crypto",
  "node:events",
  "node:stream",
  "node:timers",
]);

interface Metafile {
  inputs: Record<string, { bytes: number; imports: { path: string; external?: boolean }[] }>;
}

export function checkBundle(meta: Metafile): string[] {
  const problems: string[] = [];
  for (const [path, input] of Object.entries(meta.inputs)) {
    const pkg = NODE_ONLY_PACKAGES.find((p) => path.includes(`node_modules/${p}/`));
    if (pkg) problems.push(`${path} (${pkg}) is in the bundle`);
    for (const imported of input.imports) {
      if (imported.external && !RUNTIME_IMPORTS.has(imported.path)) {
        problems.push(`${path} imports ${imported.path}`);
      }
    }
  }
  return problems;
}

export interface WorkerBuild {
  /** The script wrangler would upload. */
  script: string;
  bytes: number;
  gzipBytes: number;
  /** Node-only code found in it (none, or the build is refused). */
  problems: string[];
}

/** Bundles the Worker into `outdir` as `wrangler deploy` would, and checks what is in it. */
export function buildWorker(outdir: string): WorkerBuild {
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const metafile = join(outdir, "meta.json");
  execFileSync("npx", ["wrangler", "deploy", "--dry-run", "--outdir", outdir, "--metafile", metafile], {
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", WRANGLER_LOG: "warn" },
  });
  const script = join(outdir, "worker.js");
  const code = readFileSync(script);
  return {
    script,
    bytes: code.length,
    gzipBytes: gzipSync(code).length,
    problems: checkBundle(JSON.parse(readFileSync(metafile, "utf8")) as Metafile),
  };
}

function main() {
  const build = buildWorker(resolve(process.argv[2] ?? "dist/worker"));
  if (build.problems.length) {
    console.error(`The Workers bundle has Node-only code in it:\n  ${build.problems.join("\n  ")}`);
    process.exit(1);
  }
  const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
  console.log(
    `Workers bundle ${build.script}: ${kib(build.bytes)}, gzip ${kib(build.gzipBytes)}; no Node-only module in it`,
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
