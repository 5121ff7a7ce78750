/**
 * Device commands, the device's side: handing stored commands to the broker (or to a device that
 * fetches them over HTTP) and recording the device's answers. The people's side (issuing a
 * command, the command table, the expiry job) stores `pending` rows; everything here starts from
 * those rows.
 *
 * - Several app instances publish from one table: a batch is claimed with `FOR UPDATE SKIP LOCKED`
 *   inside a transaction that stays open while the broker confirms the publish, and the rows become
 *   `sent` in that transaction. Another instance skips locked rows, so each command is published by
 *   one instance; a process that dies before its commit leaves them `pending` (the locks go with its
 *   connection), and they are published again: the device dedupes by commandId.
 * - A `sent` command still unanswered after `resendAfterMs` is published again (a device that was
 *   offline with a clean session never got it), until it is answered or expires.
 * - An answer changes only an open command (pending or sent) of the sensor that answers; the first
 *   final answer stays.
 */
import { and, asc, eq, inArray, lt, or, sql } from "drizzle-orm";
import type { DeviceCommandState } from "../../../contracts/device-commands.js";
import type { NotificationPayloads } from "../../../contracts/notifications.js";
import type { Database, Queryable } from "../../../db/database.js";
import { deviceCommands, facilities, sensors } from "../../../db/schema.js";
import type { CommandCounters } from "../../../iot/command-counters.js";
import { type CommandMessage, type CommandResult, commandMessage } from "../../../iot/protocol.js";
import { ApiError } from "../../errors.js";
import type { SystemContext } from "../context.js";
import { recordNotificationEvents } from "../notifications/events.js";

/** A command claimed for publishing: where it goes and what it says. */
export interface OutgoingCommand {
  id: string;
  sensorId: string;
  message: CommandMessage;
}

/** How long a `sent` command waits for an answer before it is published again. */
export const RESEND_AFTER_MS = 60_000;
/** Most commands one claim takes. */
export const CLAIM_BATCH = 100;

const open = inArray(deviceCommands.state, ["pending", "sent"]);

/** Open commands that are due for publishing at `now`, unexpired. */
const dueAt = (now: Date, resendAfterMs: number) =>
  and(
    or(
      eq(deviceCommands.state, "pending"),
      and(
        eq(deviceCommands.state, "sent"),
        lt(deviceCommands.sentAt, new Date(now.getTime() - resendAfterMs)),
      ),
    ),
    sql`${deviceCommands.expiresAt} > ${now.toISOString()}`,
  );

const outgoingColumns = {
  id: deviceCommands.id,
  sensorId: deviceCommands.sensorId,
  type: deviceCommands.type,
  params: deviceCommands.params,
  issuedAt: deviceCommands.issuedAt,
  expiresAt: deviceCommands.expiresAt,
};

const toOutgoing = (row: {
  id: string;
  sensorId: string;
  type: string;
  params: unknown;
  issuedAt: Date;
  expiresAt: Date;
}): OutgoingCommand => ({ id: row.id, sensorId: row.sensorId, message: commandMessage(row) });

/**
 * Claims the commands due for publishing and hands them to `publish`, which resolves with the ids
 * the broker confirmed; those become `sent` (sentAt now) in the same transaction. The rows stay
 * locked meanwhile, so `publish` must be bounded in time (the dispatcher's publish time-out).
 * Returns how many were confirmed.
 */
export async function deliverDueCommands(
  sys: SystemContext,
  publish: (commands: readonly OutgoingCommand[]) => Promise<readonly string[]>,
  opts: { limit?: number; resendAfterMs?: number } = {},
): Promise<number> {
  const { limit = CLAIM_BATCH, resendAfterMs = RESEND_AFTER_MS } = opts;
  return sys.db.transaction(async (tx) => {
    const now = sys.clock();
    const rows = await tx
      .select(outgoingColumns)
      .from(deviceCommands)
      .where(dueAt(now, resendAfterMs))
      .orderBy(asc(deviceCommands.issuedAt))
      .limit(limit)
      .for("update", { skipLocked: true });
    if (!rows.length) return 0;
    const confirmed = await publish(rows.map(toOutgoing));
    if (!confirmed.length) return 0;
    await tx
      .update(deviceCommands)
      .set({ state: "sent", sentAt: sys.clock() })
      .where(and(inArray(deviceCommands.id, [...confirmed]), open));
    return confirmed.length;
  });
}

/**
 * A device fetching its commands over HTTP: its open, unexpired commands, oldest first; the
 * pending ones become `sent` (it has them now). Sent ones are answered again until the device
 * answers them: it dedupes by commandId.
 */
export async function fetchPendingCommands(
  sys: SystemContext,
  sensorId: string,
  limit = CLAIM_BATCH,
): Promise<CommandMessage[]> {
  return sys.db.transaction(async (tx) => {
    const now = sys.clock();
    const rows = await tx
      .select(outgoingColumns)
      .from(deviceCommands)
      .where(
        and(
          eq(deviceCommands.sensorId, sensorId),
          open,
          sql`${deviceCommands.expiresAt} > ${now.toISOString()}`,
        ),
      )
      .orderBy(asc(deviceCommands.issuedAt))
      .limit(limit);
    if (!rows.length) return [];
    await tx
      .update(deviceCommands)
      .set({ state: "sent", sentAt: now })
      .where(
        and(
          inArray(
            deviceCommands.id,
            rows.map((r) => r.id),
          ),
          eq(deviceCommands.state, "pending"),
        ),
      );
    return rows.map((r) => toOutgoing(r).message);
  });
}

/**
 * What became of an answer:
 * - `recorded`: it closed the command (its state is now the answer's);
 * - `duplicate`: the command already had this answer (a device's retry);
 * - `conflict`: the command was closed otherwise before (another answer, or expired): it stays so;
 * - `not_found`: no such command of this sensor (unknown, or another sensor's).
 */
export type ResultOutcome =
  | {
      outcome: "recorded" | "duplicate" | "conflict";
      commandId: string;
      state: DeviceCommandState;
      resultAt: Date | null;
    }
  | { outcome: "not_found"; commandId: string };

/**
 * Records a device's answer to one of its own commands, in one transaction: the state, resultAt
 * and resultReason; for `refused` and `expired` a `command_failed` cause for the notifications;
 * for an applied `set_heartbeat` the sensor's new heartbeat interval (so the offline sweeper
 * expects heartbeats at the new pace). Idempotent: the first final answer stays.
 */
export async function recordCommandResult(
  sys: SystemContext,
  sensorId: string,
  result: CommandResult,
): Promise<ResultOutcome> {
  return sys.db.transaction(async (tx) => {
    const [row] = await tx
      .select({
        id: deviceCommands.id,
        type: deviceCommands.type,
        params: deviceCommands.params,
        state: deviceCommands.state,
        resultAt: deviceCommands.resultAt,
        streetId: sensors.streetId,
        communityId: sensors.communityId,
        facilityId: sensors.facilityId,
        enterpriseOrgId: sensors.enterpriseOrgId,
        sensorName: sensors.name,
        facilityName: facilities.name,
      })
      .from(deviceCommands)
      .innerJoin(sensors, eq(sensors.id, deviceCommands.sensorId))
      .innerJoin(facilities, eq(facilities.id, sensors.facilityId))
      // The sensor is part of the key: another sensor's commandId is as unknown as a made-up one.
      .where(and(eq(deviceCommands.id, result.commandId), eq(deviceCommands.sensorId, sensorId)))
      .for("update", { of: deviceCommands });
    if (!row) return { outcome: "not_found", commandId: result.commandId };
    if (row.state !== "pending" && row.state !== "sent") {
      return {
        outcome: row.state === result.result ? "duplicate" : "conflict",
        commandId: row.id,
        state: row.state,
        resultAt: row.resultAt,
      };
    }
    const now = sys.clock();
    const reason = result.reason ?? (result.result === "expired" ? "expired on the device" : null);
    await tx
      .update(deviceCommands)
      .set({ state: result.result, resultAt: now, resultReason: reason })
      .where(eq(deviceCommands.id, row.id));
    if (result.result === "applied" && row.type === "set_heartbeat") {
      await applyHeartbeat(tx, sensorId, row.params);
    }
    if (result.result !== "applied") {
      const payload: NotificationPayloads["command_failed"] = {
        commandId: row.id,
        commandType: row.type,
        sensorId,
        sensorName: row.sensorName,
        facilityName: row.facilityName,
        result: result.result,
        reason,
      };
      await recordNotificationEvents(tx, [
        {
          type: "command_failed",
          subjectId: row.id,
          streetId: row.streetId,
          communityId: row.communityId,
          facilityId: row.facilityId,
          enterpriseOrgId: row.enterpriseOrgId,
          payload,
          occurredAt: now,
        },
      ]);
    }
    return { outcome: "recorded", commandId: row.id, state: result.result, resultAt: now };
  });
}

/** The interval a set_heartbeat carried, within what the sensors table admits (5–3600 s). */
async function applyHeartbeat(tx: Queryable, sensorId: string, params: unknown) {
  const intervalS = (params as { intervalS?: unknown } | null)?.intervalS;
  if (typeof intervalS !== "number" || !Number.isInteger(intervalS) || intervalS < 5 || intervalS > 3600)
    return;
  await tx.update(sensors).set({ heartbeatIntervalS: intervalS }).where(eq(sensors.id, sensorId));
}

/** For the dispatcher (iot/command-dispatcher.ts): the store it is given, over one database. */
export function commandStore(db: Database, clock: () => Date) {
  const sys = { db, clock };
  return {
    deliver: (publish: (commands: readonly OutgoingCommand[]) => Promise<readonly string[]>) =>
      deliverDueCommands(sys, publish),
    recordResult: (sensorId: string, result: CommandResult) => recordCommandResult(sys, sensorId, result),
  };
}

/**
 * The HTTP form of an answer (POST /v1/sensors/{id}/command-results): 404 for no command of this
 * sensor, 409 `command_closed` when it was closed otherwise before; else what it is now.
 */
export async function answerCommandResult(
  sys: SystemContext,
  sensorId: string,
  result: CommandResult,
  counters?: CommandCounters,
): Promise<{
  commandId: string;
  state: DeviceCommandState;
  outcome: "recorded" | "duplicate";
  resultAt: Date | null;
}> {
  const answer = await recordCommandResult(sys, sensorId, result);
  if (answer.outcome === "not_found") {
    if (counters) counters.unknown += 1;
    throw ApiError.notFound("The command (of this sensor)");
  }
  if (answer.outcome === "conflict") {
    throw ApiError.conflict(
      "command_closed",
      `The command is already ${answer.state}; the answer ${result.result} was not recorded.`,
      { currentState: answer.state },
    );
  }
  if (answer.outcome === "recorded" && counters) {
    counters.results[result.result] = (counters.results[result.result] ?? 0) + 1;
  }
  return {
    commandId: answer.commandId,
    state: answer.state,
    outcome: answer.outcome,
    resultAt: answer.resultAt,
  };
}
