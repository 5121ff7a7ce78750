/**
 * Commands people send to sensors (release a halted car, switch blocking off or on, change the
 * heartbeat): issuing one (stored `pending`, with its audit row, in one transaction), reading them,
 * and expiring those no device answered in time. Who may send which command is the device command
 * table (contracts/device-commands.ts). Publishing a pending command and recording the device's
 * answer are the dispatcher's (./command-delivery.ts), which reads the row written here.
 */
import { and, count, desc, eq, inArray, isNull, lte, sql } from "drizzle-orm";
import { canonicalJson } from "../../../contracts/canonical.js";
import {
  COMMAND_REASON_MAX,
  commandExpiresAt,
  type DeviceCommandRefusal,
  type DeviceCommandRequest,
  type DeviceCommandType,
  decideDeviceCommand,
  deviceCommandParams,
} from "../../../contracts/device-commands.js";
import { TERMINAL_STATES } from "../../../contracts/lifecycle.js";
import type { NotificationPayloads } from "../../../contracts/notifications.js";
import { appendAudit } from "../../../db/audit.js";
import type { Queryable, Tx } from "../../../db/database.js";
import {
  contractFacilities,
  contracts,
  deviceCommands,
  facilities,
  incidents,
  sensors,
} from "../../../db/schema.js";
import type { CommandCounters } from "../../../iot/command-counters.js";
import { isOrgPrincipal, type Principal } from "../../auth/principal.js";
import { ApiError } from "../../errors.js";
import type { ServiceContext, SystemContext } from "../context.js";
import { incidentScope } from "../incidents/scope.js";
import { recordNotificationEvents } from "../notifications/events.js";
import { authorize, permissionError } from "../permissions.js";
import { sensorScope } from "./scope.js";

export type DeviceCommandRow = typeof deviceCommands.$inferSelect;

/** DEVICE_COMMAND_TTL_S and DEVICE_BLOCKING_OFF_MAX_H when the deployment sets none. */
export const DEFAULT_COMMAND_TTL_S = 120;
export const DEFAULT_BLOCKING_OFF_MAX_H = 24;

/** What issuing a command needs besides the database and the clock (from the app's dependencies). */
export interface CommandPorts {
  deviceCommandTtlS?: number | undefined;
  deviceBlockingOffMaxH?: number | undefined;
  /** Told once the command committed, so that it is published at once (unset: the dispatcher polls). */
  commandDispatcher?: { kick(): void } | undefined;
  commandCounters?: CommandCounters | undefined;
}

/** A command as a person sends it (the API's body, the portal's forms). */
export interface IssueCommand {
  /** The client's id for the command: sending it again with the same body is answered, not repeated. */
  commandId?: string | undefined;
  type: DeviceCommandType;
  reason: string;
  enabled?: boolean | undefined;
  /** RFC 3339 instant. */
  until?: string | undefined;
  intervalSeconds?: number | undefined;
}

export interface IssuedCommand {
  command: DeviceCommandRow;
  /** The same commandId and body were sent before: this is the command stored then. */
  replayed: boolean;
}

async function findSensor(db: Queryable, p: Principal, id: string) {
  const [row] = await db
    .select()
    .from(sensors)
    .where(and(eq(sensors.id, id), sensorScope(p)));
  if (!row) throw ApiError.notFound("The sensor");
  return row;
}

/** A refusal of the device command table as the API's error (400 and 422 name the field). */
function refusalError(refusal: DeviceCommandRefusal): ApiError {
  switch (refusal.status) {
    case 403:
    case 400:
      return permissionError({
        status: refusal.status,
        code: refusal.code === "forbidden" ? "forbidden" : "validation_failed",
        reason: refusal.reason,
        ...(refusal.field ? { field: refusal.field } : {}),
      });
    case 409:
      return ApiError.conflict(
        refusal.code === "sensor_revoked" ? "sensor_revoked" : "no_open_halt",
        refusal.reason,
      );
    case 422:
      return new ApiError(
        422,
        "blocking_off_window",
        "Outside the allowed window",
        `until ${refusal.reason}.`,
        {
          errors: [{ field: refusal.field ?? "body.until", message: refusal.reason }],
        },
      );
  }
}

function requestOf(input: IssueCommand): DeviceCommandRequest {
  return {
    type: input.type,
    ...(input.enabled !== undefined ? { enabled: input.enabled } : {}),
    ...(input.until !== undefined ? { until: new Date(input.until) } : {}),
    ...(input.intervalSeconds !== undefined ? { intervalSeconds: input.intervalSeconds } : {}),
  };
}

/** Whether a stored command is what this request asks for (type, device fields and reason). */
function sameCommand(row: DeviceCommandRow, input: IssueCommand): boolean {
  return (
    row.type === input.type &&
    row.reason === input.reason.trim() &&
    // jsonb keeps its own key order: compare the canonical forms.
    canonicalJson(row.params) === canonicalJson(deviceCommandParams(requestOf(input)))
  );
}

/** The answer to a commandId sent before: the command again, or 409 when it was another command. */
function replayOf(row: DeviceCommandRow, sensorId: string, input: IssueCommand): IssuedCommand {
  if (row.sensorId !== sensorId || !sameCommand(row, input)) {
    throw ApiError.conflict(
      "command_id_reused",
      row.sensorId !== sensorId
        ? "This commandId was already used for another sensor's command; send a new id."
        : "This commandId was already used for a different command; send the same body to read it, or a new id.",
    );
  }
  return { command: row, replayed: true };
}

/**
 * The contract whose audit log records a command to the elevator's sensor: the newest open one
 * holding the elevator, else the newest ended one; locked, so the chain never forks. Null when no
 * contract holds it (the command's own row then is its only record).
 */
async function auditContractOf(tx: Tx, facilityId: string): Promise<string | null> {
  const [row] = await tx
    .select({ id: contracts.id })
    .from(contracts)
    .innerJoin(contractFacilities, eq(contractFacilities.contractId, contracts.id))
    .where(eq(contractFacilities.facilityId, facilityId))
    .orderBy(
      sql`${contracts.state} in (${sql.join(
        TERMINAL_STATES.map((s) => sql`${s}`),
        sql`, `,
      )})`,
      desc(contracts.createdAt),
      desc(contracts.id),
    )
    .limit(1)
    .for("update", { of: contracts });
  return row?.id ?? null;
}

/**
 * Sends a command to a sensor in the caller's scope: stored `pending` with its audit row in one
 * transaction, then the dispatcher is told. Idempotent by `commandId`.
 */
export async function issueDeviceCommand(
  ctx: ServiceContext,
  sensorId: string,
  input: IssueCommand,
  ports: CommandPorts = {},
): Promise<IssuedCommand> {
  const p = ctx.principal;
  const sensor = await findSensor(ctx.db, p, sensorId);
  if (input.commandId) {
    const [earlier] = await ctx.db
      .select()
      .from(deviceCommands)
      .where(eq(deviceCommands.id, input.commandId));
    if (earlier) return replayOf(earlier, sensor.id, input);
  }
  const reason = input.reason.trim();
  if (!reason || reason.length > COMMAND_REASON_MAX) {
    throw ApiError.validation([
      { field: "body.reason", message: `must be 1 to ${COMMAND_REASON_MAX} characters` },
    ]);
  }
  const outcome = await ctx.db.transaction(async (tx) => {
    const now = ctx.clock();
    // Read again under a share lock: a revoke committing meanwhile is seen, or waits for this.
    const [current] = await tx
      .select({ revokedAt: sensors.revokedAt })
      .from(sensors)
      .where(eq(sensors.id, sensor.id))
      .for("share");
    const [halt] = await tx
      .select({ id: incidents.id })
      .from(incidents)
      .where(
        and(
          eq(incidents.facilityId, sensor.facilityId),
          eq(incidents.kind, "ebike"),
          isNull(incidents.closedAt),
        ),
      )
      .orderBy(desc(incidents.openedAt))
      .limit(1);
    const decision = decideDeviceCommand({ role: p.role, orgId: p.orgId }, requestOf(input), {
      sensor: { revoked: (current ?? sensor).revokedAt !== null, enterpriseOrgId: sensor.enterpriseOrgId },
      openHaltIncidentId: halt?.id ?? null,
      now,
      blockingOffMaxH: ports.deviceBlockingOffMaxH ?? DEFAULT_BLOCKING_OFF_MAX_H,
    });
    if (!decision.ok) throw refusalError(decision.refusal);
    if (!isOrgPrincipal(p))
      throw new Error("the device command table let a command through without an organization");
    const [row] = await tx
      .insert(deviceCommands)
      .values({
        ...(input.commandId ? { id: input.commandId } : {}),
        sensorId: sensor.id,
        facilityId: sensor.facilityId,
        communityId: sensor.communityId,
        streetId: sensor.streetId,
        type: input.type,
        params: decision.params,
        reason,
        incidentId: decision.incidentId,
        issuedAt: now,
        expiresAt: commandExpiresAt(now, ports.deviceCommandTtlS ?? DEFAULT_COMMAND_TTL_S),
        issuedByOrgId: p.orgId,
        issuedByPersonId: p.person?.id ?? null,
        issuedByName: p.person?.name ?? null,
      })
      .onConflictDoNothing({ target: deviceCommands.id })
      .returning();
    // The same commandId committed by a concurrent request meanwhile: answer as a replay.
    if (!row) return null;
    const contractId = await auditContractOf(tx, sensor.facilityId);
    if (contractId) {
      await appendAudit(tx, {
        contractId,
        action: "device_command.issued",
        actorOrgId: p.orgId,
        actorKeyId: p.keyId,
        actor: p.person,
        versionNo: null,
        payload: {
          commandId: row.id,
          sensorId: sensor.id,
          facilityId: sensor.facilityId,
          type: row.type,
          params: row.params,
          reason,
          incidentId: row.incidentId,
        },
        at: now,
      });
    }
    return row;
  });
  if (!outcome) {
    const [earlier] = await ctx.db
      .select()
      .from(deviceCommands)
      .where(eq(deviceCommands.id, input.commandId ?? ""));
    if (!earlier) throw new Error("a device command's id conflicted with no stored command");
    return replayOf(earlier, sensor.id, input);
  }
  if (ports.commandCounters) ports.commandCounters.issued[outcome.type] += 1;
  ports.commandDispatcher?.kick();
  return { command: outcome, replayed: false };
}

/**
 * Releases the e-bike halt of an incident in the caller's scope: a `release` to the incident's
 * sensor (the portal's board; the API sends it to the sensor).
 */
export async function releaseIncident(
  ctx: ServiceContext,
  incidentId: string,
  reason: string,
  ports: CommandPorts = {},
): Promise<IssuedCommand> {
  const [incident] = await ctx.db
    .select({ sensorId: incidents.sensorId })
    .from(incidents)
    .where(and(eq(incidents.id, incidentId), incidentScope(ctx.principal)));
  if (!incident) throw ApiError.notFound("The incident");
  return issueDeviceCommand(ctx, incident.sensorId, { type: "release", reason }, ports);
}

/** A page of a sensor's commands, newest first, and how many it has in all. */
export async function listDeviceCommands(
  ctx: ServiceContext,
  sensorId: string,
  page: { limit: number; offset: number },
): Promise<{ items: DeviceCommandRow[]; total: number }> {
  const sensor = await findSensor(ctx.db, ctx.principal, sensorId);
  authorize(ctx.principal, { type: "read_sensors" });
  const where = eq(deviceCommands.sensorId, sensor.id);
  const [items, [total]] = await Promise.all([
    ctx.db
      .select()
      .from(deviceCommands)
      .where(where)
      .orderBy(desc(deviceCommands.issuedAt), desc(deviceCommands.id))
      .limit(page.limit)
      .offset(page.offset),
    ctx.db.select({ n: count() }).from(deviceCommands).where(where),
  ]);
  return { items, total: total?.n ?? 0 };
}

export async function getDeviceCommand(
  ctx: ServiceContext,
  sensorId: string,
  commandId: string,
): Promise<DeviceCommandRow> {
  const sensor = await findSensor(ctx.db, ctx.principal, sensorId);
  authorize(ctx.principal, { type: "read_sensors" });
  const [row] = await ctx.db
    .select()
    .from(deviceCommands)
    .where(and(eq(deviceCommands.id, commandId), eq(deviceCommands.sensorId, sensor.id)));
  if (!row) throw ApiError.notFound("The command");
  return row;
}

/**
 * The release commands of incidents, oldest first, by incident: what the incident shows of who
 * released it and why. Only commands to sensors the caller sees are read.
 */
export async function incidentReleases(
  ctx: ServiceContext,
  incidentIds: readonly string[],
): Promise<Map<string, DeviceCommandRow[]>> {
  const byIncident = new Map<string, DeviceCommandRow[]>();
  if (!incidentIds.length) return byIncident;
  const rows = await ctx.db
    .select()
    .from(deviceCommands)
    .where(
      and(
        inArray(deviceCommands.incidentId, [...incidentIds]),
        eq(deviceCommands.type, "release"),
        inArray(
          deviceCommands.sensorId,
          ctx.db.select({ id: sensors.id }).from(sensors).where(sensorScope(ctx.principal)),
        ),
      ),
    )
    .orderBy(deviceCommands.issuedAt, deviceCommands.id);
  for (const row of rows) {
    if (!row.incidentId) continue;
    const list = byIncident.get(row.incidentId) ?? [];
    list.push(row);
    byIncident.set(row.incidentId, list);
  }
  return byIncident;
}

/** Commands expired in one statement at most: a backlog is worked off over the next runs. */
const EXPIRY_BATCH = 500;

/**
 * Pending or sent commands past their `expiresAt` become `expired`, each with one `command_failed`
 * cause in the same transaction. Rows another instance is expiring are skipped (`skip locked`), and
 * a row whose answer came in first is no longer pending or sent: several instances may run it.
 */
export async function runCommandExpiry(
  sys: SystemContext & { counters?: CommandCounters | undefined },
): Promise<{ expired: number }> {
  const now = sys.clock();
  const expired = await sys.db.transaction(async (tx) => {
    const due = tx
      .select({ id: deviceCommands.id })
      .from(deviceCommands)
      .where(and(inArray(deviceCommands.state, ["pending", "sent"]), lte(deviceCommands.expiresAt, now)))
      .orderBy(deviceCommands.expiresAt)
      .limit(EXPIRY_BATCH)
      .for("update", { skipLocked: true });
    const rows = await tx
      .update(deviceCommands)
      .set({
        state: "expired",
        resultAt: now,
        resultReason: sql`'No answer came from the device within ' || extract(epoch from ${deviceCommands.expiresAt} - ${deviceCommands.issuedAt})::int || ' s of the command being issued.'`,
      })
      .where(inArray(deviceCommands.id, due))
      .returning();
    if (!rows.length) return rows;
    const named = await tx
      .select({
        id: sensors.id,
        name: sensors.name,
        enterpriseOrgId: sensors.enterpriseOrgId,
        facilityName: facilities.name,
      })
      .from(sensors)
      .innerJoin(facilities, eq(facilities.id, sensors.facilityId))
      .where(inArray(sensors.id, [...new Set(rows.map((r) => r.sensorId))]));
    const sensorOf = new Map(named.map((s) => [s.id, s]));
    await recordNotificationEvents(
      tx,
      rows.map((r) => {
        const s = sensorOf.get(r.sensorId);
        const payload: NotificationPayloads["command_failed"] = {
          commandId: r.id,
          commandType: r.type,
          sensorId: r.sensorId,
          sensorName: s?.name ?? "",
          facilityName: s?.facilityName ?? "",
          result: "expired",
          reason: r.resultReason,
        };
        return {
          type: "command_failed" as const,
          subjectId: r.id,
          streetId: r.streetId,
          communityId: r.communityId,
          facilityId: r.facilityId,
          enterpriseOrgId: s?.enterpriseOrgId ?? null,
          dedupeKey: `command_failed:${r.id}`,
          payload: { ...payload },
          occurredAt: now,
        };
      }),
    );
    return rows;
  });
  if (sys.counters) sys.counters.expired += expired.length;
  return { expired: expired.length };
}

/** The ports of issuing a command, from the app's dependencies (the API's and the portal's). */
export function commandPorts(deps: CommandPorts): CommandPorts {
  return {
    deviceCommandTtlS: deps.deviceCommandTtlS,
    deviceBlockingOffMaxH: deps.deviceBlockingOffMaxH,
    commandDispatcher: deps.commandDispatcher,
    commandCounters: deps.commandCounters,
  };
}
