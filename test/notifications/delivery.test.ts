/**
 * From a cause in the outbox to a real receiver on 127.0.0.1: the fan-out's scope, the signed
 * webhook, retries with one delivery id, WeCom's errcode, time-outs and redirects, and an endpoint
 * disabled after repeated failure. Time is the injected clock's: no test sleeps through a back-off.
 */
import { and, eq, sql } from "drizzle-orm";
import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DISABLE_AFTER_FAILED_NOTIFICATIONS } from "../../contracts/notification-delivery.js";
import type { Database } from "../../db/database.js";
import { queryRows } from "../../db/database.js";
import {
  notificationAttempts,
  notificationEndpoints,
  notificationEvents,
  notifications,
} from "../../db/schema.js";
import { deliverDueNotifications } from "../../src/services/notifications/delivery.js";
import { listDeliveries, updateEndpoint } from "../../src/services/notifications/endpoints.js";
import { type NotificationCause, recordNotificationEvents } from "../../src/services/notifications/events.js";
import { fanOutNotificationEvents } from "../../src/services/notifications/fanout.js";
import { runNotifications } from "../../src/services/notifications/jobs.js";
import { verifyWebhook } from "../../src/services/notifications/signing.js";
import { waitFor } from "../iot/support.js";
import { createTestApp, type TestApp } from "../support/app.js";
import { createOperatingContract, createWorld, type World } from "../support/factories.js";
import { createEndpoint, manualClock, ownDatabase, type Receiver, startReceiver } from "./support.js";

const HOUR = 3_600_000;
let db: Database;
let close: () => Promise<void>;
let receiver: Receiver;
let app: TestApp;

beforeAll(async () => {
  ({ db, close } = await ownDatabase("delivery"));
  app = createTestApp(db);
  receiver = await startReceiver();
});
// The fan-out and the deliverer take every waiting row of the database: each test starts with
// none left by another.
afterEach(async () => {
  await db.delete(notificationEndpoints);
  await db.delete(notificationEvents);
});
afterAll(async () => {
  await receiver?.close();
  await close?.();
});

function haltCause(world: World, at: Date, extra: Partial<NotificationCause> = {}): NotificationCause {
  return {
    type: "ebike_halt_opened",
    subjectId: crypto.randomUUID(),
    streetId: world.street.id,
    communityId: world.community.id,
    facilityId: world.elevator.id,
    enterpriseOrgId: world.enterprise.org.id,
    payload: {
      incidentId: crypto.randomUUID(),
      facilityId: world.elevator.id,
      facilityName: world.elevator.name,
      communityName: world.community.name,
      openedAt: at.toISOString(),
    },
    occurredAt: at,
    ...extra,
  };
}

const record = (causes: NotificationCause[]) => db.transaction((tx) => recordNotificationEvents(tx, causes));

async function notificationsOf(endpointId: string) {
  return db.select().from(notifications).where(eq(notifications.endpointId, endpointId));
}

/** The delivery counters as /metrics shows them (this process's; each test file has its own). */
async function deliveryMetrics() {
  const text = await (await app.request("/metrics")).text();
  const of = (name: string) => {
    const found = new RegExp(`^bot_notification_${name}_total (\\d+)$`, "m").exec(text)?.[1];
    if (found === undefined) throw new Error(`/metrics has no bot_notification_${name}_total`);
    return Number(found);
  };
  return {
    deliveries: of("deliveries"),
    retries: of("retries"),
    failures: of("failures"),
    endpointsDisabled: of("endpoints_disabled"),
  };
}

/** Each test's receiver requests: only those to its own path. */
const to = (path: string) => receiver.received.filter((r) => r.path === path);

describe("a webhook delivery", () => {
  it("a receiver answering 500 twice then 200 gets it under ONE delivery id, signed; the log shows three attempts", async () => {
    const world = await createWorld(db);
    const clock = manualClock();
    const ep = await createEndpoint(db, {
      organizationId: world.propertyCompany.org.id,
      url: `${receiver.url}/retry`,
    });
    const sys = { db, clock: clock.now };
    await record([haltCause(world, clock.now())]);
    expect(await fanOutNotificationEvents(sys)).toMatchObject({ notifications: 1 });

    receiver.answer({ status: 500, body: "busy" }, { status: 500 }, { status: 200 });
    const counted = await deliveryMetrics();
    const times: Date[] = [];
    times.push(clock.now());
    expect(await deliverDueNotifications(sys)).toMatchObject({ attempted: 1, retried: 1 });
    // Not due yet: the back-off holds it.
    expect(await deliverDueNotifications(sys)).toMatchObject({ attempted: 0 });
    clock.advance(HOUR);
    times.push(clock.now());
    expect(await deliverDueNotifications(sys)).toMatchObject({ attempted: 1, retried: 1 });
    clock.advance(HOUR);
    times.push(clock.now());
    expect(await deliverDueNotifications(sys)).toMatchObject({ attempted: 1, delivered: 1 });
    expect(await deliverDueNotifications(sys)).toMatchObject({ attempted: 0 });
    expect(await deliveryMetrics()).toEqual({
      ...counted,
      deliveries: counted.deliveries + 1,
      retries: counted.retries + 2,
    });

    const [n] = await notificationsOf(ep.id);
    expect(n).toMatchObject({ state: "delivered", attempts: 3, lastError: null, leaseUntil: null });
    const got = to("/retry");
    expect(got).toHaveLength(3);
    expect(new Set(got.map((r) => r.headers["webhook-id"]))).toEqual(new Set([n?.id]));
    for (const [i, r] of got.entries()) {
      const verified = await verifyWebhook(ep.secret ?? "", r.headers as Record<string, string>, r.body, {
        now: times[i],
      });
      expect(verified).toMatchObject({ ok: true, id: n?.id });
      expect(JSON.parse(r.body)).toMatchObject({ id: n?.id, type: "ebike_halt_opened" });
    }
    // A tampered body does not verify.
    const first = got[0];
    if (!first) throw new Error("no request");
    expect(
      await verifyWebhook(
        ep.secret ?? "",
        first.headers as Record<string, string>,
        first.body.replace("国伟", "国卫"),
        {
          now: times[0],
        },
      ),
    ).toMatchObject({ ok: false, reason: "bad_signature" });

    const principal = {
      role: "property_company" as const,
      orgId: world.propertyCompany.org.id,
      keyId: null,
      keyRole: "member" as const,
      streetId: world.street.id,
      communityIds: [world.community.id],
      person: null,
    };
    const log = await listDeliveries({ db, clock: clock.now, principal }, ep.id, { limit: 10, offset: 0 });
    expect(log.total).toBe(1);
    expect(log.items[0]?.log.map((a) => [a.attempt, a.httpStatus, a.ok])).toEqual([
      [3, 200, true],
      [2, 500, false],
      [1, 500, false],
    ]);
    expect(log.items[0]?.log[2]?.error).toBe("HTTP 500: busy");
  });

  it("WeCom: a 200 with a non-zero errcode is retried; errcode 0 delivers", async () => {
    const world = await createWorld(db);
    const clock = manualClock();
    const ep = await createEndpoint(db, {
      organizationId: world.propertyCompany.org.id,
      channel: "wecom",
      url: `${receiver.url}/wecom?key=abc`,
    });
    const sys = { db, clock: clock.now };
    await record([haltCause(world, clock.now())]);
    receiver.answer(
      { status: 200, body: '{"errcode":45009,"errmsg":"api freq out of limit"}' },
      { status: 200, body: '{"errcode":0,"errmsg":"ok"}' },
    );
    await runNotifications({ ...sys, logger: pino({ level: "silent" }) });
    clock.advance(HOUR);
    await runNotifications({ ...sys, logger: pino({ level: "silent" }) });
    const [n] = await notificationsOf(ep.id);
    expect(n).toMatchObject({ state: "delivered", attempts: 2 });
    const got = to("/wecom?key=abc");
    expect(got).toHaveLength(2);
    const body = JSON.parse(got[0]?.body ?? "{}");
    expect(body).toEqual({ msgtype: "markdown", markdown: { content: expect.stringContaining("电动车") } });
    const attempts = await db
      .select()
      .from(notificationAttempts)
      .where(eq(notificationAttempts.notificationId, n?.id ?? ""));
    expect(attempts.find((a) => !a.ok)?.error).toMatch(/^errcode 45009/);
  });

  it("no redirect is followed, a silent receiver times out, a long answer is read only in part", async () => {
    const world = await createWorld(db);
    const clock = manualClock();
    const ep = await createEndpoint(db, {
      organizationId: world.propertyCompany.org.id,
      url: `${receiver.url}/odd`,
    });
    const sys = { db, clock: clock.now };
    await record([haltCause(world, clock.now())]);
    await fanOutNotificationEvents(sys);
    receiver.answer({ status: 302, headers: { location: `${receiver.url}/elsewhere` } }, "hang", {
      status: 500,
      body: "x".repeat(100_000),
    });
    for (let i = 0; i < 3; i++) {
      await deliverDueNotifications(sys, { timeoutMs: 300 });
      clock.advance(HOUR);
    }
    expect(to("/elsewhere")).toHaveLength(0);
    const attempts = await db
      .select()
      .from(notificationAttempts)
      .where(eq(notificationAttempts.endpointId, ep.id))
      .orderBy(notificationAttempts.id);
    expect(attempts.map((a) => a.httpStatus)).toEqual([302, null, 500]);
    expect(attempts[0]?.error).toMatch(/redirects are not followed/);
    expect(attempts[1]?.error).toBe("no answer within 0.3 s");
    expect(attempts[2]?.error?.length).toBeLessThan(250);
    expect((await notificationsOf(ep.id))[0]?.state).toBe("pending");
  });
});

describe("an endpoint removed while its notification is in flight", () => {
  it("the attempt's end finds nothing to record and the run goes on", async () => {
    const world = await createWorld(db);
    const clock = manualClock();
    const sys = { db, clock: clock.now };
    const ep = await createEndpoint(db, {
      organizationId: world.propertyCompany.org.id,
      url: `${receiver.url}/gone`,
    });
    await record([haltCause(world, clock.now())]);
    await fanOutNotificationEvents(sys);
    receiver.answer("hang");
    const run = deliverDueNotifications(sys, { timeoutMs: 2_000 });
    await waitFor(async () => to("/gone").length === 1, 10_000, "the attempt");
    await db.delete(notificationEndpoints).where(eq(notificationEndpoints.id, ep.id));
    expect(await run).toMatchObject({ attempted: 1 });
    expect(
      await db.select().from(notificationAttempts).where(eq(notificationAttempts.endpointId, ep.id)),
    ).toEqual([]);
  });
});

describe("an endpoint that keeps failing", () => {
  it(`is disabled once ${DISABLE_AFTER_FAILED_NOTIFICATIONS} notifications in a row failed after 24 h; its pending ones fail; PATCH re-enables it`, async () => {
    const world = await createWorld(db);
    const clock = manualClock();
    const sys = { db, clock: clock.now };
    const ep = await createEndpoint(db, {
      organizationId: world.propertyCompany.org.id,
      url: `${receiver.url}/down`,
    });
    const counted = await deliveryMetrics();
    for (let i = 0; i < DISABLE_AFTER_FAILED_NOTIFICATIONS; i++) receiver.answer({ status: 503 });
    await record(
      Array.from({ length: DISABLE_AFTER_FAILED_NOTIFICATIONS }, () => haltCause(world, clock.now())),
    );
    await fanOutNotificationEvents(sys);
    await deliverDueNotifications(sys);
    // A day later: one last attempt each, and the retry window is over.
    clock.advance(23 * HOUR);
    await record([haltCause(world, clock.now())]);
    await fanOutNotificationEvents(sys);
    clock.advance(2 * HOUR);
    for (let i = 0; i < DISABLE_AFTER_FAILED_NOTIFICATIONS; i++) receiver.answer({ status: 503 });
    // The late one is attempted in the same run (and fails) or is failed by the disabling.
    receiver.answer({ status: 503 });
    await deliverDueNotifications(sys);

    const [endpoint] = await db
      .select()
      .from(notificationEndpoints)
      .where(eq(notificationEndpoints.id, ep.id));
    expect(endpoint?.disabledAt?.getTime()).toBe(clock.now().getTime());
    expect(endpoint?.disabledReason).toMatch(
      /3 notifications in a row failed after 24 h of retries; last error: HTTP 503/,
    );
    const rows = await notificationsOf(ep.id);
    expect(rows.map((r) => r.state)).toEqual(rows.map(() => "failed"));
    expect(rows).toHaveLength(DISABLE_AFTER_FAILED_NOTIFICATIONS + 1);
    // Each notification that ran out of its 24 h counts as a failure; the late one, still inside
    // its window, is either retried (attempted before the disabling) or failed with the endpoint.
    const after = await deliveryMetrics();
    expect(after.failures - counted.failures).toBe(DISABLE_AFTER_FAILED_NOTIFICATIONS);
    expect(after.endpointsDisabled - counted.endpointsDisabled).toBe(1);
    expect(after.retries - counted.retries).toBeGreaterThanOrEqual(DISABLE_AFTER_FAILED_NOTIFICATIONS);
    expect(after.retries - counted.retries).toBeLessThanOrEqual(DISABLE_AFTER_FAILED_NOTIFICATIONS + 1);
    expect(after.deliveries).toBe(counted.deliveries);

    // Disabled: new causes are not fanned out to it, nothing is sent.
    const before = to("/down").length;
    await record([haltCause(world, clock.now())]);
    await fanOutNotificationEvents(sys);
    await deliverDueNotifications(sys);
    expect(await notificationsOf(ep.id)).toHaveLength(DISABLE_AFTER_FAILED_NOTIFICATIONS + 1);
    expect(to("/down").length).toBe(before);

    const principal = {
      role: "property_company" as const,
      orgId: world.propertyCompany.org.id,
      keyId: null,
      keyRole: "admin" as const,
      streetId: world.street.id,
      communityIds: [world.community.id],
      person: null,
    };
    const enabled = await updateEndpoint({ db, clock: clock.now, principal }, ep.id, { enabled: true });
    expect(enabled).toMatchObject({ disabledAt: null, disabledReason: null, consecutiveFailures: 0 });
  });
});

describe("the fan-out", () => {
  it("tells only the organizations whose scope holds the cause, once each, and not another street's", async () => {
    const here = await createWorld(db);
    const there = await createWorld(db);
    const clock = manualClock();
    const sys = { db, clock: clock.now };
    const url = `${receiver.url}/scope`;
    const types = [
      { type: "ebike_halt_opened" as const },
      { type: "halt_unacknowledged" as const, afterMinutes: 15 },
      { type: "daily_digest" as const },
      { type: "report_filed" as const },
    ];
    const kinds = ["streetOffice", "enterprise", "ownersCommittee", "propertyCompany"] as const;
    const eps = new Map<string, string>();
    for (const [label, world] of [
      ["here", here],
      ["there", there],
    ] as const) {
      for (const kind of kinds) {
        const ep = await createEndpoint(db, { organizationId: world[kind].org.id, url, rules: types });
        eps.set(ep.id, `${label}.${kind}`);
      }
    }
    // A disabled endpoint of this street's property company: told nothing.
    const off = await createEndpoint(db, { organizationId: here.propertyCompany.org.id, url, rules: types });
    await db
      .update(notificationEndpoints)
      .set({ disabledAt: clock.now() })
      .where(eq(notificationEndpoints.id, off.id));
    // An escalation rule at another step: not told at 15 minutes.
    const five = await createEndpoint(db, {
      organizationId: here.propertyCompany.org.id,
      url,
      rules: [{ type: "halt_unacknowledged", afterMinutes: 5 }],
    });
    const { contract } = await createOperatingContract(db, here, {
      operationStart: "2024-12-01",
      termMonths: 24,
    });

    const halt = haltCause(here, clock.now());
    await record([
      halt,
      {
        ...haltCause(here, clock.now()),
        type: "halt_unacknowledged",
        dedupeKey: `halt_unacknowledged:${halt.subjectId}:15`,
        payload: { ...halt.payload, afterMinutes: 15 },
      },
      {
        type: "daily_digest",
        subjectId: "2025-02-28",
        organizationId: here.ownersCommittee.org.id,
        dedupeKey: `daily_digest:${here.ownersCommittee.org.id}:2025-02-28`,
        payload: {
          date: "2025-02-28",
          elevatorsWithEntries: 1,
          halts: 1,
          falseAlarms: 0,
          sensorsOffline: [],
        },
        occurredAt: clock.now(),
      },
      {
        type: "report_filed",
        subjectId: crypto.randomUUID(),
        contractId: contract.id,
        streetId: here.street.id,
        communityId: here.community.id,
        payload: {
          reportId: crypto.randomUUID(),
          contractId: contract.id,
          title: contract.title,
          period: "2025-02",
          enterpriseName: "x",
        },
        occurredAt: clock.now(),
      },
    ]);
    await fanOutNotificationEvents(sys);

    const told = async () => {
      const rows = await queryRows<{ endpoint_id: string; type: string }>(
        db,
        sql`select endpoint_id, type::text from notifications
            where endpoint_id in (select id from notification_endpoints where url = ${url})`,
      );
      return rows
        .map(
          (r) =>
            `${eps.get(r.endpoint_id) ?? (r.endpoint_id === five.id ? "five" : r.endpoint_id === off.id ? "off" : "?")} ${r.type}`,
        )
        .sort();
    };
    expect(await told()).toEqual(
      [
        // The halt: the street office (its street), the committee and the property company (their
        // community), the enterprise (its sensor).
        "here.streetOffice ebike_halt_opened",
        "here.enterprise ebike_halt_opened",
        "here.ownersCommittee ebike_halt_opened",
        "here.propertyCompany ebike_halt_opened",
        // The escalation step at 15 minutes: every rule at 15 in scope, not the rule at 5.
        "here.streetOffice halt_unacknowledged",
        "here.enterprise halt_unacknowledged",
        "here.ownersCommittee halt_unacknowledged",
        "here.propertyCompany halt_unacknowledged",
        // The digest: only its organization.
        "here.ownersCommittee daily_digest",
        // The contract's cause: its parties (the factory's contract has no street office).
        "here.enterprise report_filed",
        "here.ownersCommittee report_filed",
        "here.propertyCompany report_filed",
      ].sort(),
    );

    // Fanned out twice (a cause set waiting again): no second notification.
    await db
      .update(notificationEvents)
      .set({ fannedOutAt: null })
      .where(eq(notificationEvents.subjectId, halt.subjectId));
    const again = await fanOutNotificationEvents(sys);
    expect(again.events).toBeGreaterThanOrEqual(1);
    expect((await told()).filter((t) => t.endsWith("ebike_halt_opened"))).toHaveLength(4);
    const [waiting] = await queryRows<{ n: number }>(
      db,
      sql`select count(*)::int as n from notification_events where fanned_out_at is null`,
    );
    expect(waiting?.n).toBe(0);
    expect(
      await db
        .select()
        .from(notifications)
        .where(and(eq(notifications.endpointId, off.id))),
    ).toHaveLength(0);
  });
});
