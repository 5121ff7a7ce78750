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
// Idempotent. postgres.js is pinned to the exact version these patterns match (package.json);
// when a file no longer has them (another version), the install fails here, loudly: read the new
// release, then re-pin and adapt or drop the patch. db/postgres.ts lendArrayTypes also relies on
// this version's internals (the Workers tests prove it).
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
  const text = await readFile(file, "utf8");
  if (text.includes(MARK)) continue;
  let patched = text;
  for (const [from, to] of patches) patched = patched.replace(from, to);
  const applied = patches.filter(([from]) => text.includes(from)).length;
  if (applied !== patches.length) {
    throw new Error(
      `postgres.js ${flavour}/connection.js: the nextWrite guard does not apply (${applied}/${patches.length} patterns found): is postgres still pinned to the version db/patch-postgres-js.mjs was written for?`,
    );
  }
  await writeFile(file, patched);
}
