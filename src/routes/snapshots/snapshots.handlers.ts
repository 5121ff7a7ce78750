import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../../context.js";
import { serviceContext } from "../../context.js";
import { ApiError } from "../../errors.js";
import { type AppRouteHandler, pageJson } from "../../openapi.js";
import {
  countRefusal,
  listIncidentSnapshots,
  readIncidentSnapshot,
  SNAPSHOT_MAX_BYTES,
  uploadSnapshot as upload,
} from "../../services/snapshots/snapshots.js";
import type * as routes from "./snapshots.routes.js";

const tooLarge = () =>
  new ApiError(
    413,
    "payload_too_large",
    "Payload too large",
    `The snapshot is over the ${SNAPSHOT_MAX_BYTES / 1024} KiB limit.`,
  );

/**
 * The media type, then the size, before the body is read: a declared Content-Length over the
 * limit is refused unread; without one (chunked) the body is counted as it arrives and refused as
 * soon as it passes the limit, so no more than the limit is ever held. The rest of a refused body
 * is drained by the Node server (@hono/node-server), which keeps the connection usable.
 */
export const snapshotBody = createMiddleware<AppEnv>(async (c, next) => {
  const snapshots = c.var.deps.snapshots;
  const type = (c.req.header("content-type") ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  if (type !== "image/jpeg") {
    countRefusal(snapshots, "wrong_type");
    throw new ApiError(
      415,
      "unsupported_media_type",
      "Unsupported media type",
      `Send the snapshot as image/jpeg${type ? `, not ${type}` : " (no Content-Type was given)"}.`,
    );
  }
  const declared = c.req.header("content-length");
  if (declared !== undefined && !c.req.header("transfer-encoding") && Number(declared) > SNAPSHOT_MAX_BYTES) {
    countRefusal(snapshots, "too_large");
    throw tooLarge();
  }
  await next();
});

/** How much of a refused body is read and thrown away so the connection can take the next request. */
const DISCARD_MAX_BYTES = 8 * 1024 * 1024;

/**
 * Reads what is left of a refused body and drops it, while the 413 is answered: cancelling the
 * stream would destroy the request and the keep-alive connection with it (a device would then
 * reconnect for its next upload). A body that goes on past DISCARD_MAX_BYTES is cancelled.
 */
function discardRest(reader: ReadableStreamDefaultReader<Uint8Array>): void {
  void (async () => {
    let dropped = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      dropped += value.length;
      if (dropped > DISCARD_MAX_BYTES) return reader.cancel();
    }
  })().catch(() => {});
}

/** The body, counted while it is read; refused (unread beyond the limit) once it passes it. */
async function readBody(body: ReadableStream<Uint8Array> | null): Promise<Uint8Array | null> {
  if (!body) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > SNAPSHOT_MAX_BYTES) {
      discardRest(reader);
      return null;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return bytes;
}

export const uploadSnapshot: AppRouteHandler<typeof routes.uploadSnapshot> = async (c) => {
  const { id: sensorId, eventId } = c.req.valid("param");
  const snapshots = c.var.deps.snapshots;
  const bytes = await readBody(c.req.raw.body);
  if (!bytes) {
    countRefusal(snapshots, "too_large");
    throw tooLarge();
  }
  const result = await upload({ db: c.var.db, clock: c.var.deps.clock, sensorId, snapshots }, eventId, bytes);
  const body = {
    sensorId,
    eventId,
    byteSize: result.byteSize,
    sha256: result.sha256,
    receivedAt: result.receivedAt.toISOString(),
  };
  if (result.created) {
    c.var.logger.info({ sensorId, eventId, byteSize: result.byteSize }, "snapshot stored");
    return c.json(body, 201);
  }
  return c.json(body, 200);
};

const snapshotUrl = (incidentId: string, eventId: string) =>
  `/v1/incidents/${incidentId}/snapshots/${encodeURIComponent(eventId)}`;

export const listSnapshots: AppRouteHandler<typeof routes.listSnapshots> = async (c) => {
  const { id } = c.req.valid("param");
  const page = c.req.valid("query");
  const { items, total } = await listIncidentSnapshots(serviceContext(c), id, page);
  const snapshots = items.map((r) => ({
    sensorId: r.sensorId,
    eventId: r.eventId,
    occurredAt: r.occurredAt.toISOString(),
    byteSize: r.byteSize,
    url: snapshotUrl(id, r.eventId),
  }));
  return c.json(pageJson(c.req.url, snapshots, total, page), 200);
};

export const getSnapshot: AppRouteHandler<typeof routes.getSnapshot> = async (c) => {
  const { id, eventId } = c.req.valid("param");
  const bytes = await readIncidentSnapshot(serviceContext(c), id, eventId, c.var.deps.snapshots.store);
  // Evidence of people in a lift: kept by no shared cache, never sniffed into another type.
  return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
    "Content-Type": "image/jpeg",
    "Cache-Control": "private, max-age=300",
    "X-Content-Type-Options": "nosniff",
  });
};
