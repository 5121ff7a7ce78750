/**
 * `/openapi.json` is generated once per app (process, Workers isolate) and served as the same
 * bytes every time, with a strong ETag a client revalidates with If-None-Match (304).
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { openApiDocument } from "../../src/docs.js";
import { createTestApp, type TestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";

let database: DatabaseHandle;
let app: TestApp;

beforeAll(async () => {
  database = await openTestDatabase();
  app = createTestApp(database.db);
});
afterAll(() => database.close());

describe("/openapi.json", () => {
  it("is generated once and served as the same bytes, with a strong ETag of those bytes", async () => {
    const generate = vi.spyOn(app, "getOpenAPI31Document");
    const answers = [];
    for (let i = 0; i < 3; i++) {
      const res = await app.request("/openapi.json");
      answers.push({ res, bytes: Buffer.from(await res.arrayBuffer()) });
    }
    expect(generate).toHaveBeenCalledTimes(1);
    generate.mockRestore();

    const [first, ...others] = answers;
    if (!first) throw new Error("no answer");
    expect(first.res.status).toBe(200);
    expect(first.res.headers.get("content-type")).toBe("application/json");
    expect(first.res.headers.get("cache-control")).toBe("no-cache");
    const etag = first.res.headers.get("etag");
    expect(etag).toBe(`"${createHash("sha256").update(first.bytes).digest("hex")}"`);
    for (const other of others) {
      expect(other.bytes.equals(first.bytes)).toBe(true);
      expect(other.res.headers.get("etag")).toBe(etag);
    }
    // One source: what is served is what the app's own route definitions generate.
    expect(JSON.parse(first.bytes.toString("utf8"))).toEqual(openApiDocument(app));
  });

  it("answers a matching If-None-Match with 304 and no body, and anything else with the document", async () => {
    const etag = (await app.request("/openapi.json")).headers.get("etag") ?? "";
    for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, "*"]) {
      const res = await app.request("/openapi.json", { headers: { "if-none-match": ifNoneMatch } });
      expect(res.status, ifNoneMatch).toBe(304);
      expect(await res.text()).toBe("");
      expect(res.headers.get("etag")).toBe(etag);
      expect(res.headers.get("cache-control")).toBe("no-cache");
    }
    for (const ifNoneMatch of ['"other"', etag.slice(0, -2)]) {
      const res = await app.request("/openapi.json", { headers: { "if-none-match": ifNoneMatch } });
      expect(res.status, ifNoneMatch).toBe(200);
      expect(((await res.json()) as { openapi: string }).openapi).toBe("3.1.0");
    }
  });
});
