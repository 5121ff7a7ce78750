import { describe, expect, it } from "vitest";
import { pageJson } from "../../src/openapi.js";

describe("the page envelope", () => {
  it("links the next page with the same filters, and none after the last", () => {
    const first = pageJson("http://h/v1/contracts?state=draft&limit=2", ["a", "b"], 5, {
      limit: 2,
      offset: 0,
    });
    expect(first).toEqual({
      items: ["a", "b"],
      total: 5,
      limit: 2,
      offset: 0,
      next: "/v1/contracts?state=draft&limit=2&offset=2",
    });
    expect(
      pageJson("http://h/v1/contracts?offset=4&limit=2", ["e"], 5, { limit: 2, offset: 4 }).next,
    ).toBeNull();
    expect(pageJson("http://h/v1/contracts", ["a", "b"], 4, { limit: 2, offset: 2 }).next).toBeNull();
    expect(pageJson("http://h/v1/x?limit=2&offset=2", [], 0, { limit: 2, offset: 2 }).next).toBeNull();
  });
});
