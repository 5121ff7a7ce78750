import type { z } from "@hono/zod-openapi";
import type { IngestResult } from "../../../iot/ingest.js";
import type {
  DeadLetterRow,
  SensorWithKey as IssuedKey,
  SensorDayRow,
  SensorRow,
} from "../../services/sensors/sensors.js";
import type { IngestAnswer } from "./sensor-ingest.routes.js";
import type { DeadLetter, Sensor, SensorDay, SensorDetail, SensorWithKey } from "./sensors.routes.js";

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/**
 * A sensor and its health. An allow-list: the key's hashes (HTTP and the broker's) and any
 * column added later stay in the database until the schema names them.
 */
export function sensorJson(row: SensorRow): z.input<typeof Sensor> {
  return {
    id: row.id,
    facilityId: row.facilityId,
    communityId: row.communityId,
    streetId: row.streetId,
    enterpriseOrgId: row.enterpriseOrgId,
    name: row.name,
    keyPrefix: row.keyPrefix,
    heartbeatIntervalSeconds: row.heartbeatIntervalS,
    online: row.online,
    lastSeenAt: iso(row.lastSeenAt),
    lastHeartbeatAt: iso(row.lastHeartbeatAt),
    revokedAt: iso(row.revokedAt),
    createdAt: row.createdAt.toISOString(),
  };
}

/** A day of the sensor's heartbeat figures (sensor_days). */
export function sensorDayJson(row: SensorDayRow): z.input<typeof SensorDay> {
  return {
    day: row.day,
    heartbeats: row.heartbeats,
    firstAt: row.firstAt.toISOString(),
    lastAt: row.lastAt.toISOString(),
    longestGapSeconds: row.longestGapS,
    uptimeSeconds: row.onlineS,
    heartbeatIntervalSeconds: row.intervalS,
  };
}

/** The sensor's own read: the sensor and its recent days. */
export function sensorDetailJson({
  sensor,
  days,
}: {
  sensor: SensorRow;
  days: SensorDayRow[];
}): z.input<typeof SensorDetail> {
  return { ...sensorJson(sensor), days: days.map(sensorDayJson) };
}

/** The sensor with its key, which is shown this once (when issued or rotated). */
export function sensorWithKeyJson({ sensor, key }: IssuedKey): z.input<typeof SensorWithKey> {
  return { ...sensorJson(sensor), key };
}

export function deadLetterJson(row: DeadLetterRow): z.input<typeof DeadLetter> {
  return {
    id: row.id,
    topic: row.topic,
    sensorId: row.sensorId,
    payload: row.payload,
    payloadBase64: row.payloadBase64,
    payloadBytes: row.payloadBytes,
    messageCount: row.messageCount,
    reason: row.reason,
    receivedAt: row.receivedAt.toISOString(),
  };
}

/** What became of each event of an HTTP ingest request. */
export function ingestAnswerJson(result: IngestResult): z.input<typeof IngestAnswer> {
  const stored: string[] = [];
  const duplicates: string[] = [];
  for (const o of result.outcomes) {
    if (o.status === "stored") stored.push(o.eventId);
    else if (o.status === "duplicate") duplicates.push(o.eventId);
  }
  return {
    stored,
    duplicates,
    rejected: result.rejected.map((r) => ({
      index: r.index,
      reason: r.reason,
      ...(r.eventId !== undefined ? { eventId: r.eventId } : {}),
    })),
  };
}
