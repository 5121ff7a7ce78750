// Run by `npm install`/`npm ci` (postinstall): patches a known crash in postgres.js 3.4.x.
//
// postgres.js batches small writes behind setImmediate(nextWrite). When the connection closes
// first, closed() sets `socket = null` and nextWrite then throws `Cannot read properties of null
// (reading 'write')` from the immediate: an uncaught exception that kills the process (the ingest
// outage test hit it). Teardown also cancels the immediate without forgetting it, so a pooled
// connection could never flush again. Upstream: porsager/postgres issues #1066, #1154, #1208
// (open; fix proposed in PRs #1168, #1176, #1209). The guard settles the pending queries with
// CONNECTION_CLOSED, which callers already handle, instead of crashing.
//
// Idempotent; leaves files alone when the pattern is not there (a fixed upstream release).
import { readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const MARK = "/* bot-platform: nextWrite guard */";
// "postgres" resolves to cjs/src/index.js (its package.json is not exported): go up two levels.
const root = dirname(dirname(dirname(createRequire(import.meta.url).resolve("postgres"))));

const patches = [
  [
    "  function nextWrite(fn) {\n    const x = socket.write(chunk, fn)",
    `  function nextWrite(fn) {\n    ${MARK}\n    if (!socket) {\n      nextWriteTimer !== null && clearImmediate(nextWriteTimer)\n      chunk = nextWriteTimer = null\n      error(Errors.connection('CONNECTION_CLOSED', options))\n      return false\n    }\n    const x = socket.write(chunk, fn)`,
  ],
  [
    "    clearImmediate(nextWriteTimer)\n    if (socket) {",
    "    clearImmediate(nextWriteTimer), nextWriteTimer = chunk = null\n    if (socket) {",
  ],
  [
    "    remaining = 0\n    incomings = null\n    clearImmediate(nextWriteTimer)\n",
    "    remaining = 0\n    incomings = null\n    clearImmediate(nextWriteTimer), nextWriteTimer = chunk = null\n",
  ],
];

for (const flavour of ["src", "cjs/src", "cf/src"]) {
  const file = join(root, flavour, "connection.js");
  const text = await readFile(file, "utf8").catch(() => null);
  if (text === null || text.includes(MARK)) continue;
  let patched = text;
  for (const [from, to] of patches) patched = patched.replace(from, to);
  const applied = patches.filter(([from]) => text.includes(from)).length;
  if (applied !== patches.length) {
    console.warn(
      `postgres.js ${flavour}/connection.js: nextWrite guard not applied (${applied}/${patches.length} patterns found)`,
    );
    continue;
  }
  await writeFile(file, patched);
}
