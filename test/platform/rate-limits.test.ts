/**
 * Request rate limits (src/rate-limit.ts, docs/api.md "Rate limits") on a real Node server, where
 * the client's address is the socket's: the RateLimit fields count down on every answer, one more
 * is a 429 problem with Retry-After, keys and addresses have buckets of their own, and the app
 * without limits sends none. The buckets' own arithmetic and eviction are tested on a clock the
 * test moves.
 */
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../db/client.js";
import { hashKey } from "../../db/keys.js";
import { createApp } from "../../src/app.js";
import { ConfigError, loadConfig } from "../../src/config.js";
import { startHttpServer } from "../../src/http-server.js";
import {
  addressBucket,
  createRateLimitTable,
  type RateLimitSettings,
  type RateLimits,
  rateLimitsOf,
} from "../../src/rate-limit.js";
import { createIotWorld, createSensor } from "../iot/support.js";
import { client, createTestApp, type Fetcher, TEST_ADMIN_TOKEN } from "../support/app.js";
import { openTestDatabase } from "../support/db.js";
import { createPerson, type World } from "../support/factories.js";
import { portalClient } from "../support/portal.js";

const LIMITS: RateLimitSettings = {
  RATE_LIMITS: true,
  RATE_LIMIT_KEY_PER_MIN: 5,
  RATE_LIMIT_ADDRESS_PER_MIN: 3,
  RATE_LIMIT_FORM_PER_MIN: 2,
};

let database: DatabaseHandle;
let world: World;
/** The buckets' clock (ms): it stands still unless a test moves it, so no bucket refills by itself. */
let now = 0;

beforeAll(async () => {
  database = await openTestDatabase();
  world = await createIotWorld(database.db);
});

afterAll(async () => {
  await database?.close();
});

/** The app with `limits` on a real server of 127.0.0.1, over fresh buckets. */
async function serveWith(limits: RateLimits | undefined, opts: { trustedProxies?: number } = {}) {
  const app = createApp({
    db: database.db,
    logger: pino({ level: "silent" }),
    clock: () => new Date(),
    adminTokenHash: hashKey(TEST_ADMIN_TOKEN),
    readDocsAsset: async () => null,
    ...(limits ? { rateLimits: limits } : {}),
    ...(opts.trustedProxies ? { trustedProxies: opts.trustedProxies } : {}),
  });
  const started = await startHttpServer({
    fetch: app.fetch,
    port: 0,
    hostname: "127.0.0.1",
    limits: { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, maxConnections: 100 },
  });
  const base = `http://127.0.0.1:${started.port}`;
  const fetcher: Fetcher = (path, init) => fetch(`${base}${path}`, { ...init, redirect: "manual" });
  return {
    fetcher,
    api: (key?: string) => client(fetcher, key),
    close: () =>
      new Promise<void>((resolve) => {
        started.server.closeAllConnections();
        started.server.close(() => resolve());
      }),
  };
}

const freshLimits = () => rateLimitsOf(LIMITS, { now: () => now });

describe("the key's limit over HTTP", () => {
  it("counts down in RateLimit on every answer, then answers 429 problem+json with Retry-After", async () => {
    const server = await serveWith(freshLimits());
    try {
      const api = server.api(world.propertyCompany.key);
      const remaining: string[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await api.get("/v1/organizations");
        expect(res.status).toBe(200);
        expect(res.headers.get("ratelimit-policy")).toBe('"key";q=5;w=60');
        remaining.push(res.headers.get("ratelimit") ?? "");
      }
      // One request back every 12 s: the whole quota is back 12 s after the first request taken.
      expect(remaining).toEqual([
        '"key";r=4;t=12',
        '"key";r=3;t=24',
        '"key";r=2;t=36',
        '"key";r=1;t=48',
        '"key";r=0;t=60',
      ]);

      const refused = await api.get("/v1/organizations");
      expect(refused.status).toBe(429);
      expect(refused.headers.get("content-type")).toBe("application/problem+json");
      expect(refused.headers.get("retry-after")).toBe("12");
      expect(refused.headers.get("ratelimit")).toBe('"key";r=0;t=12');
      expect(refused.headers.get("ratelimit-policy")).toBe('"key";q=5;w=60');
      expect(refused.body).toMatchObject({
        status: 429,
        code: "rate_limited",
        type: "/problems/rate_limited",
        "violated-policies": ["key"],
        instance: "/v1/organizations",
      });
      expect(refused.body.detail).toContain("5 requests in 60 s");

      // A refused request takes nothing: once a request's worth has come back, one is let in.
      now += 12_000;
      const again = await api.get("/v1/organizations");
      expect(again.status).toBe(200);
      expect(again.headers.get("ratelimit")).toBe('"key";r=0;t=60');
    } finally {
      await server.close();
    }
  });

  it("counts every answer, an error too, and keeps each key's count apart (the platform admin's too)", async () => {
    const server = await serveWith(freshLimits());
    try {
      const committee = server.api(world.ownersCommittee.key);
      const missing = await committee.get(`/v1/contracts/${crypto.randomUUID()}`);
      expect(missing.status).toBe(404);
      expect(missing.headers.get("ratelimit")).toBe('"key";r=4;t=12');
      const forbidden = await committee.post("/v1/districts", { name: "不让建" });
      expect(forbidden.status).toBe(403);
      expect(forbidden.headers.get("ratelimit")).toBe('"key";r=3;t=24');
      for (let i = 0; i < 3; i++) await committee.get("/v1/organizations");
      expect((await committee.get("/v1/organizations")).status).toBe(429);

      // Another key of the same address, and ADMIN_TOKEN, start full.
      const enterprise = await server.api(world.enterprise.key).get("/v1/organizations");
      expect(enterprise.status).toBe(200);
      expect(enterprise.headers.get("ratelimit")).toBe('"key";r=4;t=12');
      const admin = server.api(TEST_ADMIN_TOKEN);
      for (let i = 0; i < 5; i++) expect((await admin.get("/v1/districts")).status).toBe(200);
      const adminRefused = await admin.get("/v1/districts");
      expect(adminRefused.status).toBe(429);
      expect(adminRefused.body.code).toBe("rate_limited");
    } finally {
      await server.close();
    }
  });

  it("does not count a refused key (401): that one is slowed by the failed-login throttle instead", async () => {
    const server = await serveWith(freshLimits());
    try {
      const refused = await server.api("bot_k_not-a-key-0123456789abcdef").get("/v1/organizations");
      expect(refused.status).toBe(401);
      expect(refused.headers.get("ratelimit")).toBeNull();
    } finally {
      await server.close();
    }
  });

  it("limits a sensor's key by its sensor", async () => {
    const server = await serveWith(freshLimits());
    try {
      const sensor = await createSensor(database.db, world);
      const neighbour = await createSensor(database.db, world);
      const poll = (s: { id: string; key: string }) =>
        server.api(s.key).get(`/v1/sensors/${s.id}/commands/pending`);
      for (let i = 0; i < 5; i++) expect((await poll(sensor)).status).toBe(200);
      const refused = await poll(sensor);
      expect(refused.status).toBe(429);
      expect(refused.headers.get("retry-after")).toBe("12");
      expect((await poll(neighbour)).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it("sends no RateLimit field and refuses nothing when the app has no limits (RATE_LIMITS=false)", async () => {
    expect(rateLimitsOf({ ...LIMITS, RATE_LIMITS: false })).toBeUndefined();
    expect(loadConfig({ RATE_LIMITS: "false" }).RATE_LIMITS).toBe(false);
    const server = await serveWith(undefined);
    try {
      const api = server.api(world.enterprise.key);
      for (let i = 0; i < 8; i++) {
        const res = await api.get("/v1/organizations");
        expect(res.status).toBe(200);
        expect(res.headers.get("ratelimit")).toBeNull();
        expect(res.headers.get("ratelimit-policy")).toBeNull();
      }
      const page = await server.fetcher("/h/no-such-link", { headers: { accept: "text/html" } });
      expect(page.headers.get("ratelimit")).toBeNull();
    } finally {
      await server.close();
    }
  });
});

describe("the address's limit over HTTP (routes without a key)", () => {
  it("counts household links and /openapi.json together per address; the 429 of a page is a page", async () => {
    const server = await serveWith(freshLimits());
    try {
      const link = () => server.fetcher("/h/no-such-link", { headers: { accept: "text/html" } });
      const first = await link();
      expect(first.status).toBe(404);
      expect(first.headers.get("ratelimit-policy")).toBe('"address";q=3;w=60');
      expect(first.headers.get("ratelimit")).toBe('"address";r=2;t=20');
      expect((await server.fetcher("/openapi.json", {})).status).toBe(200);
      expect((await link()).status).toBe(404);

      const refusedPage = await link();
      expect(refusedPage.status).toBe(429);
      expect(refusedPage.headers.get("retry-after")).toBe("20");
      expect(refusedPage.headers.get("content-type")).toContain("text/html");
      // A resident reads why, in the page's language, and the page is still never cached.
      expect(await refusedPage.text()).toContain("请求太频繁");
      expect(refusedPage.headers.get("cache-control")).toBe("no-store");

      const refusedDocument = await server.fetcher("/openapi.json", {});
      expect(refusedDocument.status).toBe(429);
      expect(refusedDocument.headers.get("content-type")).toBe("application/problem+json");
      expect(((await refusedDocument.json()) as { code: string }).code).toBe("rate_limited");

      // Health is never limited (probes come often, from one address), nor the API's keys.
      for (let i = 0; i < 5; i++) {
        const health = await server.fetcher("/healthz", {});
        expect(health.status).toBe(200);
        expect(health.headers.get("ratelimit")).toBeNull();
      }
      expect((await server.api(world.enterprise.key).get("/v1/organizations")).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it("limits the forms without a session (signing in) tighter, per address", async () => {
    const server = await serveWith(freshLimits());
    try {
      const person = await createPerson(database.db, world.propertyCompany.org.id);
      const browser = portalClient(server.fetcher);
      // The sign-in page itself is not limited: only its form posts.
      for (let i = 0; i < 4; i++) expect((await browser.get("/sign-in")).status).toBe(200);
      const wrong = await browser.post("/sign-in", { login: person.login, password: "not the password" });
      expect(wrong.status).toBe(401);
      expect(wrong.headers.get("ratelimit")).toBe('"form";r=1;t=30');
      expect((await browser.post("/sign-in", { login: person.login, password: "nor this" })).status).toBe(
        401,
      );
      // Even the right password waits now: the address spent its form posts.
      const refused = await browser.post("/sign-in", { login: person.login, password: person.password });
      expect(refused.status).toBe(429);
      expect(refused.headers.get("retry-after")).toBe("30");
      now += 30_000;
      expect(
        (await browser.post("/sign-in", { login: person.login, password: person.password })).status,
      ).toBe(303);
    } finally {
      await server.close();
    }
  });

  it("takes the address from X-Forwarded-For only behind HTTP_TRUSTED_PROXIES proxies", async () => {
    const asIf = (fetcher: Fetcher, forwardedFor: string) =>
      fetcher("/openapi.json", { headers: { "x-forwarded-for": forwardedFor } });
    const direct = await serveWith(freshLimits());
    try {
      // Not trusted: every request is the socket's, whatever the header says.
      for (let i = 0; i < 3; i++) expect((await asIf(direct.fetcher, `198.51.100.${i}`)).status).toBe(200);
      expect((await asIf(direct.fetcher, "198.51.100.9")).status).toBe(429);
    } finally {
      await direct.close();
    }
    const proxied = await serveWith(freshLimits(), { trustedProxies: 1 });
    try {
      // Behind one proxy: the last entry is what it saw; what the client wrote before it is not believed.
      for (let i = 0; i < 3; i++)
        expect((await asIf(proxied.fetcher, `10.6.6.${i}, 203.0.113.5`)).status).toBe(200);
      expect((await asIf(proxied.fetcher, "10.9.9.9, 203.0.113.5")).status).toBe(429);
      expect((await asIf(proxied.fetcher, "203.0.113.6")).status).toBe(200);
    } finally {
      await proxied.close();
    }
  });
});

describe("the buckets", () => {
  it("refill at the quota per window and never above the quota", () => {
    let t = 0;
    const table = createRateLimitTable({ quota: 60, windowS: 60 }, { now: () => t });
    for (let i = 0; i < 60; i++) expect(table.take("a").allowed).toBe(true);
    expect(table.take("a")).toEqual({ allowed: false, remaining: 0, windowS: 1 });
    t += 2_500;
    expect(table.take("a")).toMatchObject({ allowed: true, remaining: 1 });
    expect(table.take("a")).toMatchObject({ allowed: true, remaining: 0 });
    expect(table.take("a").allowed).toBe(false);
    t += 3_600_000;
    expect(table.take("a")).toEqual({ allowed: true, remaining: 59, windowS: 1 });
  });

  it("forget callers idle long enough to be full again, and hold at most maxEntries", () => {
    let t = 0;
    const table = createRateLimitTable({ quota: 10, windowS: 60 }, { now: () => t, maxEntries: 100 });
    for (let i = 0; i < 50; i++) table.take(`idle-${i}`);
    expect(table.size).toBe(50);
    // A minute later the idle callers' buckets are full: each request drops up to two of them.
    t += 60_000;
    for (let i = 0; i < 30; i++) table.take("busy");
    expect(table.size).toBe(1);
    // A flood of new callers: the least recently seen are forgotten beyond the bound.
    for (let i = 0; i < 1_000; i++) table.take(`new-${i}`);
    expect(table.size).toBeLessThanOrEqual(101);
    expect(table.take("new-999")).toMatchObject({ allowed: true, remaining: 8 });
  });

  it("count an IPv6 client by its /64, an IPv4-mapped one as IPv4", () => {
    expect(addressBucket("203.0.113.7")).toBe("203.0.113.7");
    expect(addressBucket("::ffff:203.0.113.7")).toBe("203.0.113.7");
    expect(addressBucket("2001:db8:aa:bb:1:2:3:4")).toBe("2001:db8:aa:bb::/64");
    expect(addressBucket("2001:0db8:00aa:00bb::9")).toBe("2001:db8:aa:bb::/64");
    expect(addressBucket("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(addressBucket("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
    expect(addressBucket("::1")).toBe("0:0:0:0::/64");
  });
});

describe("CORS", () => {
  const ORIGIN = "https://integrator.example";
  const corsApp = () =>
    createApp({
      db: database.db,
      logger: pino({ level: "silent" }),
      clock: () => new Date(),
      corsOrigins: [ORIGIN, "http://localhost:5173"],
    });

  it("is off by default: no CORS header for any origin", async () => {
    const app = createTestApp(database.db);
    const preflight = await app.request("/v1/organizations", {
      method: "OPTIONS",
      headers: { origin: ORIGIN, "access-control-request-method": "GET" },
    });
    expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
    const get = await app.request("/v1/organizations", {
      headers: { origin: ORIGIN, authorization: `Bearer ${world.enterprise.key}` },
    });
    expect(get.status).toBe(200);
    expect([...get.headers.keys()].filter((h) => h.startsWith("access-control-"))).toEqual([]);
  });

  it("answers a preflight from a listed origin, cached, without credentials", async () => {
    const preflight = await corsApp().request("/v1/contracts", {
      method: "OPTIONS",
      headers: {
        origin: ORIGIN,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type, idempotency-key",
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect(preflight.headers.get("access-control-allow-methods")).toBe("GET,HEAD,POST,PUT,PATCH,DELETE");
    expect(preflight.headers.get("access-control-allow-headers")).toBe(
      "Authorization,Content-Type,Idempotency-Key,If-Match,If-None-Match",
    );
    expect(preflight.headers.get("access-control-max-age")).toBe("7200");
    expect(preflight.headers.get("access-control-allow-credentials")).toBeNull();
    expect(preflight.headers.get("vary")).toContain("Origin");
  });

  it("lets a listed origin read the answer and its headers", async () => {
    const res = await corsApp().request("/v1/organizations", {
      headers: { origin: ORIGIN, authorization: `Bearer ${world.enterprise.key}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect(res.headers.get("access-control-expose-headers")).toBe(
      "ETag,Location,Retry-After,RateLimit,RateLimit-Policy,X-Request-Id,Idempotent-Replayed",
    );
    expect(res.headers.get("vary")).toContain("Origin");
  });

  it("gives an origin not listed no CORS header at all (and a refused preflight)", async () => {
    const app = corsApp();
    const preflight = await app.request("/v1/organizations", {
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "GET" },
    });
    expect(preflight.status).not.toBe(204);
    expect([...preflight.headers.keys()].filter((h) => h.startsWith("access-control-"))).toEqual([]);
    const get = await app.request("/v1/organizations", {
      headers: { origin: "https://evil.example", authorization: `Bearer ${world.enterprise.key}` },
    });
    expect(get.status).toBe(200);
    expect([...get.headers.keys()].filter((h) => h.startsWith("access-control-"))).toEqual([]);
    expect(get.headers.get("vary")).toContain("Origin");
  });

  it("never answers CORS on the portal's pages, which a cookie opens", async () => {
    const page = await corsApp().request("/sign-in", { headers: { origin: ORIGIN, accept: "text/html" } });
    expect(page.status).toBe(200);
    expect(page.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("is set by CORS_ORIGINS: exact origins, comma-separated; a wildcard or a path is refused", () => {
    expect(loadConfig({}).CORS_ORIGINS).toBeUndefined();
    expect(loadConfig({ CORS_ORIGINS: " https://a.example, http://localhost:5173 " }).CORS_ORIGINS).toEqual([
      "https://a.example",
      "http://localhost:5173",
    ]);
    expect(() => loadConfig({ CORS_ORIGINS: "*" })).toThrow(ConfigError);
    expect(() => loadConfig({ CORS_ORIGINS: "https://a.example/app" })).toThrow(/exact origins/);
    expect(() => loadConfig({ CORS_ORIGINS: "https://*.example" })).toThrow(/CORS_ORIGINS/);
  });
});
