/**
 * Events a sensor posts over HTTP. The caller is a sensor, not an organization: it is named by its
 * id and proves it with its own key; then the batch goes through the same ingest as the MQTT path
 * (one transaction; exactly once per (sensor, eventId); invalid events dead-lettered, the rest
 * stored).
 */
import { and, eq, isNull } from "drizzle-orm";
import type { Database } from "../../../db/database.js";
import { hashKey, sameHash } from "../../../db/keys.js";
import { sensors } from "../../../db/schema.js";
import type { Ingest, IngestResult } from "../../../iot/ingest.js";
import { eventsTopic, isSensorId, MAX_PAYLOAD_BYTES } from "../../../iot/protocol.js";
import { ApiError } from "../../errors.js";

/** The sensor a request claims to come from, and the key it sent to prove it. */
export interface SensorIdentity {
  sensorId: string;
  key: string;
}

/**
 * What the sensor ingest is given: where other services have a principal, the id of a sensor whose
 * key `authenticateSensor` accepted.
 */
export interface SensorIngestContext {
  db: Database;
  clock: () => Date;
  sensorId: string;
}

/**
 * 401 unless the key is the sensor's own and the sensor is not revoked. The route calls it before
 * it reads any of the body.
 */
export async function authenticateSensor(db: Database, { sensorId, key }: SensorIdentity): Promise<void> {
  if (!isSensorId(sensorId))
    throw ApiError.unauthorized("The sensor key is wrong, or the sensor is unknown or revoked.");
  const [sensor] = await db
    .select({ keyHash: sensors.keyHash })
    .from(sensors)
    .where(and(eq(sensors.id, sensorId), isNull(sensors.revokedAt)));
  if (!sensor || !sameHash(hashKey(key), sensor.keyHash)) {
    throw ApiError.unauthorized("The sensor key is wrong, or the sensor is unknown or revoked.");
  }
}

/**
 * Stores `events` (each a sensor protocol event, validated on its own by the ingest) as if they had
 * arrived on the sensor's MQTT topic now.
 */
export async function ingestSensorEvents(
  ctx: SensorIngestContext,
  events: readonly unknown[],
  ingest: Pick<Ingest, "ingestBatch">,
): Promise<IngestResult> {
  const receivedAt = ctx.clock();
  const topic = eventsTopic(ctx.sensorId);
  return ingest.ingestBatch(
    events.map((event) => ({ topic, payload: payloadOf(event), receivedAt })),
    ctx.db,
  );
}

/**
 * An item as the bytes a sensor would have published on MQTT. An item nested too deep for
 * JSON.stringify (its stack overflows: thousands of levels, far over the protocol's payload limit)
 * stands for what it is, a payload over MAX_PAYLOAD_BYTES, so the ingest rejects it as
 * `payload_too_large` like any oversized message instead of the request failing with a 500. A
 * value parsed from JSON cannot fail to serialise otherwise.
 */
function payloadOf(event: unknown): Buffer {
  try {
    return Buffer.from(JSON.stringify(event));
  } catch {
    return Buffer.alloc(MAX_PAYLOAD_BYTES + 1, " ");
  }
}
