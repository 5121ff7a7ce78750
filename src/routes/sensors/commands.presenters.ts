import type { z } from "@hono/zod-openapi";
import type { DeviceCommandRow } from "../../services/sensors/commands.js";
import type { DeviceCommand } from "./commands.routes.js";

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/**
 * The command's own fields, named one by one (the column is JSON, in the device protocol's names:
 * `intervalS` is `intervalSeconds` in the API).
 */
function paramsJson(params: unknown): z.input<typeof DeviceCommand>["params"] {
  const p = (params ?? {}) as Record<string, unknown>;
  return {
    ...(typeof p.enabled === "boolean" ? { enabled: p.enabled } : {}),
    ...(typeof p.until === "string" ? { until: p.until } : {}),
    ...(typeof p.intervalS === "number" ? { intervalSeconds: p.intervalS } : {}),
  };
}

/** A command to a sensor. An allow-list: who issued it by person id stays in the database. */
export function deviceCommandJson(row: DeviceCommandRow): z.input<typeof DeviceCommand> {
  return {
    id: row.id,
    sensorId: row.sensorId,
    type: row.type,
    params: paramsJson(row.params),
    state: row.state,
    reason: row.reason,
    incidentId: row.incidentId,
    issuedAt: row.issuedAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
    sentAt: iso(row.sentAt),
    resultAt: iso(row.resultAt),
    resultReason: row.resultReason,
    issuedByOrgId: row.issuedByOrgId,
    issuedByName: row.issuedByName,
  };
}
