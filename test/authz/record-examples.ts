/**
 * Records the examples of the OpenAPI document from the API itself, for every route of the
 * authorization matrix, on a fresh fixture:
 *
 *   npx tsx test/authz/record-examples.ts
 *
 * Each route is called as the first role the matrix allows (a sensor route with the sensor's own
 * key); its request body and its JSON answer become the route's examples in
 * src/openapi-examples.json, which `createRoute` (src/openapi.ts) puts in the document. Secrets in
 * answers (keys shown once, webhook secrets, invitation tokens) are replaced by placeholders of
 * the same form. test/docs/openapi-examples.test.ts checks every example against its schema, so a
 * schema change that outdates one fails until this is run again.
 */
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { createTestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import { keyOf, send } from "./calls.js";
import { buildFixture } from "./fixtures.js";
import { MATRIX, NOW, ROLES } from "./matrix.js";

const OUT = fileURLToPath(new URL("../../src/openapi-examples.json", import.meta.url));

const SECRET_FORMS: [RegExp, string][] = [
  [/^bot_([a-z]+)_[A-Za-z0-9_-]{20,}$/, "bot_$1_EXAMPLE0EXAMPLE0EXAMPLE0EXAMPLE0EXAMP"],
  [/^whsec_[A-Za-z0-9+/=]{20,}$/, "whsec_RVhBTVBMRUVYQU1QTEVFWEFNUExFRVhBTVBMRUU="],
  [/^\/invitations\/[A-Za-z0-9_-]{20,}$/, "/invitations/EXAMPLE0EXAMPLE0EXAMPLE0EXAMPLE0EXAMP"],
  [/^\/h\/[A-Za-z0-9_-]{20,}$/, "/h/EXAMPLE0EXAMPLE0EXAMPLE0EXAMPLE0EXAMPLE0E"],
];

/** The answer with every secret it shows replaced by a placeholder of the same form. */
function withoutSecrets(value: unknown): unknown {
  if (typeof value === "string") {
    for (const [form, placeholder] of SECRET_FORMS)
      if (form.test(value)) return value.replace(form, placeholder);
    return value;
  }
  if (Array.isArray(value)) return value.map(withoutSecrets);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutSecrets(v)]));
  }
  return value;
}

interface RouteExamples {
  request?: unknown;
  responses: Record<string, unknown>;
}

const database = await openTestDatabase();
const app = createTestApp(database.db, { now: () => NOW });
const operationIds = new Map<string, string>();
for (const def of app.openAPIRegistry.definitions) {
  if (def.type === "route" && def.route.operationId) {
    operationIds.set(`${def.route.method.toUpperCase()} ${def.route.path}`, def.route.operationId);
  }
}

const examples: Record<string, RouteExamples> = {};
const missed: string[] = [];
for (const route of MATRIX) {
  const operationId = operationIds.get(`${route.method} ${route.path}`);
  if (!operationId) throw new Error(`${route.method} ${route.path} is not a route of the app`);
  const fx = await buildFixture(database.db, app, route.needs);
  const role = ROLES.find((r) => route.expect[r] === "allow");
  const key = route.auth === "sensor" ? fx.sensor?.key : role ? keyOf(fx, role) : undefined;
  if (!key) throw new Error(`${operationId}: no caller the matrix allows`);
  const call = route.request(fx);
  const res = await send(app, route, fx, key);
  // A POST without a body of its own sends `{}` (client.post), which is its example too.
  const sent = call.body ?? (route.method === "POST" ? {} : undefined);
  const request = sent !== undefined && !(sent instanceof Uint8Array) ? { request: sent } : {};
  if (res.status < 200 || res.status > 299) {
    // The fixture cannot reach the route's success (a transfer before its date): its answer's
    // example is another route's of the same schema, below.
    examples[operationId] = { ...request, responses: {} };
    missed.push(operationId);
    continue;
  }
  const json = (res.headers.get("content-type") ?? "").startsWith("application/json");
  examples[operationId] = {
    ...request,
    responses: json ? { [String(res.status)]: withoutSecrets(res.body) } : {},
  };
}

// The health routes are not in the matrix (no key, no scope): called as a load balancer does.
for (const [operationId, path] of [
  ["getLiveness", "/healthz"],
  ["getReadiness", "/readyz"],
] as const) {
  const res = await app.request(path);
  examples[operationId] = { responses: { [String(res.status)]: await res.json() } };
}

/** A route's JSON schemas of its success statuses, by status. */
function successSchemas(operationId: string): Record<string, unknown> {
  for (const def of app.openAPIRegistry.definitions) {
    if (def.type !== "route" || def.route.operationId !== operationId) continue;
    const schemas: Record<string, unknown> = {};
    for (const [status, response] of Object.entries(def.route.responses)) {
      const content = (response as { content?: Record<string, { schema?: unknown }> }).content;
      if (status.startsWith("2") && content?.["application/json"])
        schemas[status] = content["application/json"].schema;
    }
    return schemas;
  }
  return {};
}
const successSchema = (operationId: string) => Object.values(successSchemas(operationId))[0];
for (const operationId of missed) {
  const schema = successSchema(operationId);
  const donor = Object.entries(examples).find(
    ([other, ex]) =>
      other !== operationId && successSchema(other) === schema && Object.keys(ex.responses).length > 0,
  );
  if (!donor) throw new Error(`${operationId}: no success recorded, and no other route answers its schema`);
  const [[, body]] = Object.entries(donor[1].responses) as [[string, unknown]];
  examples[operationId] = { ...examples[operationId], responses: { "200": body } };
}
// A second success status of the same schema (200 for a replayed create) shows the same answer.
for (const [operationId, ex] of Object.entries(examples)) {
  const schemas = successSchemas(operationId);
  for (const [status, schema] of Object.entries(schemas)) {
    if (status in ex.responses) continue;
    const same = Object.keys(ex.responses).find((recorded) => schemas[recorded] === schema);
    if (same) ex.responses[status] = ex.responses[same];
  }
}
await database.close();

const sorted = Object.fromEntries(Object.entries(examples).sort(([a], [b]) => a.localeCompare(b)));
await writeFile(OUT, `${JSON.stringify(sorted, null, 2)}\n`);
console.log(`${Object.keys(sorted).length} operations' examples written to src/openapi-examples.json`);
if (missed.length > 0) console.log(`Answers borrowed from a route of the same schema: ${missed.join(", ")}`);
process.exit(0);
