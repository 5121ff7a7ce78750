import type { z } from "@hono/zod-openapi";
import type { incidents } from "../../../db/schema.js";
import type { Incident } from "./incidents.routes.js";

type IncidentRow = typeof incidents.$inferSelect;

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** An incident as GET /v1/incidents/{id} returns it, and as the live feed's events carry it. */
export function incidentJson(row: IncidentRow): z.input<typeof Incident> {
  return {
    id: row.id,
    kind: row.kind,
    state: row.closedAt ? "closed" : "open",
    sensorId: row.sensorId,
    facilityId: row.facilityId,
    communityId: row.communityId,
    streetId: row.streetId,
    openedAt: row.openedAt.toISOString(),
    closedAt: iso(row.closedAt),
    detections: row.detections,
    haltSeconds: row.haltSeconds,
    acknowledgedAt: iso(row.acknowledgedAt),
    acknowledgedByOrgId: row.acknowledgedByOrgId,
    classification: row.classification,
    falseAlarmReason: row.falseAlarmReason,
    note: row.note,
    updatedAt: row.updatedAt.toISOString(),
  };
}
