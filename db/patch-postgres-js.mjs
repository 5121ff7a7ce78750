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
//
// Second: a connection closed by an error (a reset) settled only the queries it was running when
// the error came. A query queued on it in the meantime (sql.begin's ROLLBACK, written by the
// rejection handler of the failed query) stayed in `sent`, and `query` kept the failed one; the
// next connection on that slot then took the stale entries for its own answers, and the query it
// was opened for waited for ever (test/platform/outage.test.ts, cut and restored in a loop).
// Upstream: porsager/postgres issue #1130 (PR #1142 clears `query`; the queue is this patch's own).
// A close after an error now settles what is still queued (the running query was settled by the
// error) and every close forgets the query. Settling the running query a second time on such a
// close broke the ingest's recovery from terminated sessions (test/iot/faults.test.ts).
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
  [
    "    !hadError && (query || sent.length) && error(Errors.connection('CONNECTION_CLOSED', options, socket))\n",
    "    if (hadError)\n      while (sent.length) queryError(sent.shift(), Errors.connection('CONNECTION_CLOSED', options, socket))\n    else\n      (query || sent.length) && error(Errors.connection('CONNECTION_CLOSED', options, socket))\n    query = null\n",
  ],
];

for (const flavour of ["src", "cjs/src", "cf/src"]) {
  const file = join(root, flavour, "connection.js");
  const text = await readFile(file, "utf8");
  // Each patch once: a file patched by an earlier version of this script takes the new ones only.
  const missing = patches.filter(([, to]) => !text.includes(to));
  if (missing.length === 0) continue;
  const applicable = missing.filter(([from]) => text.includes(from));
  if (applicable.length !== missing.length) {
    throw new Error(
      `postgres.js ${flavour}/connection.js: ${missing.length - applicable.length} of the patches do not apply: is postgres still pinned to the version db/patch-postgres-js.mjs was written for?`,
    );
  }
  let patched = text;
  for (const [from, to] of applicable) patched = patched.replace(from, to);
  await writeFile(file, patched);
}
