import type { z } from "@hono/zod-openapi";
import type { IncidentRow } from "../../services/incidents/incidents.js";
import type { IncidentStats as Stats } from "../../services/incidents/stats.js";
import type { DeviceCommandRow } from "../../services/sensors/commands.js";
import type { Incident, IncidentRelease, IncidentStats, StatsGroup } from "./incidents.routes.js";

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** An incident as GET /v1/incidents/{id} returns it, and as the live feed's events carry it. */
export function incidentJson(
  row: IncidentRow,
  releases: readonly DeviceCommandRow[],
): z.input<typeof Incident> {
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
    carHalted: row.halted,
    acknowledgedAt: iso(row.acknowledgedAt),
    acknowledgedByOrgId: row.acknowledgedByOrgId,
    acknowledgedByName: row.acknowledgedByName,
    classification: row.classification,
    falseAlarmReason: row.falseAlarmReason,
    note: row.note,
    updatedAt: row.updatedAt.toISOString(),
    releases: releases.map(releaseJson),
  };
}

/** A release of the incident: the command's id, state, who (organization, person's name) and why (no params, no person id). */
function releaseJson(r: DeviceCommandRow): z.input<typeof IncidentRelease> {
  return {
    commandId: r.id,
    state: r.state,
    issuedAt: r.issuedAt.toISOString(),
    issuedByOrgId: r.issuedByOrgId,
    issuedByName: r.issuedByName,
    reason: r.reason,
    resultAt: iso(r.resultAt),
  };
}

/** The statistics of GET /v1/incidents/stats: each group's figures, named one by one. */
export function incidentStatsJson(stats: Stats): z.input<typeof IncidentStats> {
  return {
    groupBy: stats.groupBy,
    from: stats.from,
    to: stats.to,
    timeZone: stats.timeZone,
    items: stats.items.map(
      (g): z.input<typeof StatsGroup> => ({
        key: g.key,
        facilityId: g.facilityId,
        communityId: g.communityId,
        day: g.day,
        elevators: g.elevators,
        incidents: g.incidents,
        halts: g.halts,
        totalHaltSeconds: g.totalHaltSeconds,
        p95HaltSeconds: g.p95HaltSeconds,
        falseAlarms: g.falseAlarms,
        classified: g.classified,
        falseAlarmRate: g.falseAlarmRate,
        sensorUptime: g.sensorUptime,
      }),
    ),
  };
}
