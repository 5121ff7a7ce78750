/**
 * Problem `type`s resolve (RFC 9457 §3.1.1): every problem's `type` is `/problems/{code}`, a
 * reference relative to the request's URL, and the API itself serves that page, so a person who
 * follows the link from an error reads what the code means.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { ERROR_CODES, type ErrorCode } from "../../src/errors.js";
import { client, createTestApp, type TestApp } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";

let database: DatabaseHandle;
let app: TestApp;

beforeAll(async () => {
  database = await openTestDatabase();
  app = createTestApp(database.db);
});
afterAll(() => database.close());

const CODES = Object.keys(ERROR_CODES) as ErrorCode[];

/** Follows a problem's `type` as a client would: resolved against the URL of the request that failed. */
async function follow(type: string, requestUrl: string) {
  const url = new URL(type, requestUrl);
  expect(url.origin, "a type stays on the host that answered").toBe(new URL(requestUrl).origin);
  return app.request(`${url.pathname}${url.search}`);
}

describe("problem types", () => {
  it("a real problem's type resolves, from the request's URL, to the page of its code", async () => {
    const requestUrl = "http://api.example.test/v1/contracts";
    const res = await app.request(requestUrl);
    expect(res.status).toBe(401);
    const problem = (await res.json()) as { type: string; code: string };
    expect(problem.type).toBe("/problems/unauthorized");
    const page = await follow(problem.type, requestUrl);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(await page.text()).toContain(ERROR_CODES.unauthorized);
  });

  it.each(CODES)("%s: its type is a page that says what it means", async (code) => {
    const res = await follow(`/problems/${code}`, "http://api.example.test/v1/anything");
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain(`<h1><code>${code}</code></h1>`);
    // The meaning of ERROR_CODES, escaped, with its `spans` as <code>.
    const words = ERROR_CODES[code].replace(/`([^`]+)`/g, "$1").split(/[`<>&'"]/)[0] ?? "";
    expect(text.replace(/<\/?code>/g, "")).toContain(words.slice(0, 30));
  });

  it("GET /problems lists every code, each linked to its page", async () => {
    const res = await app.request("/problems");
    expect(res.status).toBe(200);
    const text = await res.text();
    for (const code of CODES) expect(text).toContain(`<a href="/problems/${code}"><code>${code}</code></a>`);
  });

  it("an unknown code is a 404 problem, and no key is needed to read the pages", async () => {
    const res = await client(app).get("/problems/no_such_code");
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ code: "not_found", type: "/problems/not_found" });
    expect((await client(app, "not-a-key").get("/problems/not_found")).status).toBe(200);
  });

  it("documents type as a uri-reference whose example is a page that exists", async () => {
    const { body } = await client(app).get("/openapi.json");
    const type = body.components.schemas.Problem.properties.type;
    expect(type.format).toBe("uri-reference");
    expect((await app.request(type.example)).status).toBe(200);
    expect(body.paths["/problems/{code}"].get.security).toEqual([]);
  });
});
