/**
 * Where a snapshot's bytes live, behind one small interface: in its row (PostgreSQL's bytea, the
 * default) or in a bucket (S3-compatible over SigV4, or an R2 binding on Workers), the row naming
 * the object. Driver-free (fetch and Web Crypto only), so the Workers bundle can import it.
 */
import { AwsClient } from "aws4fetch";
import { ApiError } from "../../errors.js";

/** The columns of event_snapshots a store fills: exactly one of the two (the table's check). */
export type StoredAt = { bytes: Uint8Array; objectKey: null } | { bytes: null; objectKey: string };

/** What a store is told about the snapshot it keeps: enough to name the object. */
export interface SnapshotRef {
  sensorId: string;
  eventId: string;
  sha256: string;
  receivedAt: Date;
}

export interface SnapshotStore {
  readonly kind: "database" | "bucket";
  /** Keeps the bytes (a bucket: the object, before the row is written) and says what the row holds. */
  save(ref: SnapshotRef, bytes: Uint8Array): Promise<StoredAt>;
  /** The bytes of a row; null when its object is gone. */
  load(row: { bytes: Uint8Array | null; objectKey: string | null }): Promise<Uint8Array | null>;
  /** Deletes objects (rows already deleted); a key that is gone is no error. */
  remove(objectKeys: readonly string[]): Promise<void>;
  /**
   * Deletes the objects saved on a day (UTC) before `before`'s: those whose row was deleted with
   * its object left behind, or never written. Returns how many.
   */
  sweepBefore(before: Date): Promise<number>;
}

/** The database store: the bytes are the row's; nothing to save apart, nothing left behind. */
export const databaseSnapshotStore: SnapshotStore = {
  kind: "database",
  save: async (_ref, bytes) => ({ bytes, objectKey: null }),
  load: async (row) => row.bytes,
  remove: async () => {},
  sweepBefore: async () => 0,
};

/**
 * What a bucket does, whichever kind: the S3 API (through fetch, signed) or an R2 binding.
 * `list` answers keys in lexicographic order (both do).
 */
export interface Bucket {
  put(key: string, bytes: Uint8Array): Promise<void>;
  get(key: string): Promise<Uint8Array | null>;
  delete(key: string): Promise<void>;
  list(prefix: string, startAfter?: string): Promise<{ keys: string[]; truncated: boolean }>;
}

const PREFIX = "snapshots/";
/** Objects deleted by one sweep at most (the next sweep goes on). */
const SWEEP_MAX = 10_000;

const utcDay = (d: Date) => d.toISOString().slice(0, 10);

/**
 * `snapshots/<received day, UTC>/<sensor>/<event id, encoded>.<first 16 hex of the SHA-256>.jpg`:
 * the day first, so the orphan sweep reads old objects in order and stops at the first young one;
 * the hash last, so a racing upload of other bytes never overwrites the one a row names.
 */
export function objectKeyOf(ref: SnapshotRef): string {
  return `${PREFIX}${utcDay(ref.receivedAt)}/${ref.sensorId}/${encodeURIComponent(ref.eventId)}.${ref.sha256.slice(0, 16)}.jpg`;
}

/** A store over a bucket: the object first, the row (written by the caller) second. */
export function bucketSnapshotStore(bucket: Bucket): SnapshotStore {
  return {
    kind: "bucket",
    async save(ref, bytes) {
      const objectKey = objectKeyOf(ref);
      await bucket.put(objectKey, bytes);
      return { bytes: null, objectKey };
    },
    async load(row) {
      return row.objectKey ? bucket.get(row.objectKey) : row.bytes;
    },
    async remove(keys) {
      for (const key of keys) await bucket.delete(key);
    },
    async sweepBefore(before) {
      const cutoff = `${PREFIX}${utcDay(before)}/`;
      let deleted = 0;
      let after: string | undefined;
      for (;;) {
        const page = await bucket.list(PREFIX, after);
        for (const key of page.keys) {
          if (key >= cutoff || deleted >= SWEEP_MAX) return deleted;
          await bucket.delete(key);
          deleted++;
        }
        const last = page.keys.at(-1);
        if (!page.truncated || last === undefined) return deleted;
        after = last;
      }
    },
  };
}

/** The settings of an S3-compatible bucket (SNAPSHOT_STORE=s3). */
export interface S3Settings {
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** The bucket did not answer as it should: a passing fault, never a verdict on the snapshot. */
export class BucketUnavailableError extends Error {}

/** A bucket fault as the API answers it: 503 with Retry-After, nothing stored. */
export function storageUnavailable(): ApiError {
  return ApiError.unavailable(
    "storage_unavailable",
    "Snapshot store unavailable",
    "The snapshot bucket is not answering right now; send the request again in a few seconds.",
  );
}

const XML_KEY = /<Key>([^<]*)<\/Key>/g;
const XML_ENTITIES: Record<string, string> = {
  "&amp;": "&",
  "&lt;": "<",
  "&gt;": ">",
  "&quot;": '"',
  "&apos;": "'",
};
const unescapeXml = (s: string) => s.replace(/&(amp|lt|gt|quot|apos);/g, (m) => XML_ENTITIES[m] ?? m);

/**
 * An S3-compatible bucket (AWS, MinIO, R2's S3 API, …), path-style, every request signed with
 * SigV4 by aws4fetch. The keys are never logged or put in an error's message.
 */
export function s3Bucket(settings: S3Settings, fetcher: typeof fetch = fetch): Bucket {
  const aws = new AwsClient({
    accessKeyId: settings.accessKeyId,
    secretAccessKey: settings.secretAccessKey,
    service: "s3",
    region: settings.region,
  });
  const base = `${settings.endpoint.replace(/\/+$/, "")}/${encodeURIComponent(settings.bucket)}`;
  const objectUrl = (key: string) => `${base}/${key.split("/").map(encodeURIComponent).join("/")}`;
  const send = async (url: string, init: RequestInit, what: string): Promise<Response> => {
    let res: Response;
    try {
      res = await fetcher(await aws.sign(url, init));
    } catch (err) {
      throw new BucketUnavailableError(`${what}: the bucket could not be reached`, { cause: err });
    }
    return res;
  };
  const refused = async (res: Response, what: string) => {
    await res.body?.cancel();
    return new BucketUnavailableError(`${what}: the bucket answered ${res.status}`);
  };
  return {
    async put(key, bytes) {
      const res = await send(
        objectUrl(key),
        { method: "PUT", body: bytes, headers: { "content-type": "image/jpeg" } },
        "storing a snapshot",
      );
      if (!res.ok) throw await refused(res, "storing a snapshot");
      await res.body?.cancel();
    },
    async get(key) {
      const res = await send(objectUrl(key), { method: "GET" }, "reading a snapshot");
      if (res.status === 404) {
        await res.body?.cancel();
        return null;
      }
      if (!res.ok) throw await refused(res, "reading a snapshot");
      return new Uint8Array(await res.arrayBuffer());
    },
    async delete(key) {
      const res = await send(objectUrl(key), { method: "DELETE" }, "deleting a snapshot");
      if (!res.ok && res.status !== 404) throw await refused(res, "deleting a snapshot");
      await res.body?.cancel();
    },
    async list(prefix, startAfter) {
      const query = new URLSearchParams({
        "list-type": "2",
        prefix,
        ...(startAfter ? { "start-after": startAfter } : {}),
      });
      const res = await send(`${base}?${query}`, { method: "GET" }, "listing snapshots");
      if (!res.ok) throw await refused(res, "listing snapshots");
      const xml = await res.text();
      return {
        keys: [...xml.matchAll(XML_KEY)].map((m) => unescapeXml(m[1] ?? "")),
        truncated: /<IsTruncated>true<\/IsTruncated>/.test(xml),
      };
    },
  };
}

/** The part of Cloudflare's R2Bucket binding the store uses. */
export interface R2BucketBinding {
  put(
    key: string,
    value: Uint8Array,
    options?: { httpMetadata?: { contentType?: string } },
  ): Promise<unknown>;
  get(key: string): Promise<{ arrayBuffer(): Promise<ArrayBuffer> } | null>;
  delete(keys: string | string[]): Promise<void>;
  list(options: { prefix?: string; startAfter?: string; limit?: number }): Promise<{
    objects: { key: string }[];
    truncated: boolean;
  }>;
}

/** A Workers R2 binding as a bucket. */
export function r2Bucket(binding: R2BucketBinding): Bucket {
  const guard = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      throw new BucketUnavailableError(`${what}: R2 failed`, { cause: err });
    }
  };
  return {
    put: (key, bytes) =>
      guard("storing a snapshot", async () => {
        await binding.put(key, bytes, { httpMetadata: { contentType: "image/jpeg" } });
      }),
    get: (key) =>
      guard("reading a snapshot", async () => {
        const object = await binding.get(key);
        return object ? new Uint8Array(await object.arrayBuffer()) : null;
      }),
    delete: (key) => guard("deleting a snapshot", () => binding.delete(key)),
    list: (prefix, startAfter) =>
      guard("listing snapshots", async () => {
        const page = await binding.list({ prefix, ...(startAfter ? { startAfter } : {}), limit: 1000 });
        return { keys: page.objects.map((o) => o.key), truncated: page.truncated };
      }),
  };
}

/** The settings that choose the store (src/config.ts). */
export interface SnapshotStoreSettings {
  SNAPSHOT_STORE: "database" | "s3";
  S3_ENDPOINT?: string | undefined;
  S3_BUCKET?: string | undefined;
  S3_REGION: string;
  S3_ACCESS_KEY_ID?: string | undefined;
  S3_SECRET_ACCESS_KEY?: string | undefined;
}

/**
 * The store the settings name: an R2 binding when one is given (Workers), else the S3 bucket of
 * SNAPSHOT_STORE=s3, else PostgreSQL. The config's check makes sure every S3_* is set for s3.
 */
export function snapshotStoreOf(settings: SnapshotStoreSettings, r2?: R2BucketBinding): SnapshotStore {
  if (r2) return bucketSnapshotStore(r2Bucket(r2));
  if (settings.SNAPSHOT_STORE === "database") return databaseSnapshotStore;
  const { S3_ENDPOINT, S3_BUCKET, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY } = settings;
  if (!S3_ENDPOINT || !S3_BUCKET || !S3_ACCESS_KEY_ID || !S3_SECRET_ACCESS_KEY)
    throw new Error(
      "SNAPSHOT_STORE=s3 needs S3_ENDPOINT, S3_BUCKET, S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY",
    );
  return bucketSnapshotStore(
    s3Bucket({
      endpoint: S3_ENDPOINT,
      bucket: S3_BUCKET,
      region: settings.S3_REGION,
      accessKeyId: S3_ACCESS_KEY_ID,
      secretAccessKey: S3_SECRET_ACCESS_KEY,
    }),
  );
}
