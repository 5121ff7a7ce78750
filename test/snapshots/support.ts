/** What the snapshot tests share: a real JPEG, its variants, and the upload as a device sends it. */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Fetcher, TestApp } from "../support/app.js";

/** A real 320×240 JPEG (made once with sharp; Chromium decodes it in the browser test). */
export const CAR_JPEG = new Uint8Array(readFileSync(fileURLToPath(new URL("./car.jpg", import.meta.url))));

/** Another JPEG by its bytes (SOI … EOI), not the same picture: one byte of the scan data changed. */
export function otherJpeg(): Uint8Array {
  const bytes = CAR_JPEG.slice();
  const at = bytes.length - 10;
  bytes[at] = (bytes[at] ?? 0) ^ 0x01;
  return bytes;
}

/** A "JPEG" of exactly `size` bytes: SOI, filler, EOI (what the byte check looks at). */
export function jpegOfSize(size: number): Uint8Array {
  const bytes = new Uint8Array(size).fill(0x20);
  bytes.set([0xff, 0xd8, 0xff, 0xe0], 0);
  bytes.set([0xff, 0xd9], size - 2);
  return bytes;
}

/** PNG's signature and a little more: an image, not a JPEG. */
export const PNG_BYTES = new Uint8Array([
  0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48,
]);

export const snapshotPath = (sensorId: string, eventId: string) =>
  `/v1/sensors/${sensorId}/events/${encodeURIComponent(eventId)}/snapshot`;

/** PUTs the bytes as a device does; the answer's status and parsed body. */
export async function putSnapshot(
  app: TestApp | Fetcher,
  sensor: { id: string; key: string },
  eventId: string,
  bytes: Uint8Array,
  headers: Record<string, string> = {},
) {
  const send: Fetcher = typeof app === "function" ? app : async (path, init) => app.request(path, init);
  const res = await send(snapshotPath(sensor.id, eventId), {
    method: "PUT",
    headers: { authorization: `Bearer ${sensor.key}`, "content-type": "image/jpeg", ...headers },
    body: bytes as Uint8Array<ArrayBuffer>,
  });
  const text = await res.text();
  // biome-ignore lint/suspicious/noExplicitAny: answers are inspected field by field
  const body: any = res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text;
  return { status: res.status, body, headers: res.headers };
}

/** GETs a snapshot's bytes with an organization's key. */
export async function getJpeg(app: TestApp | Fetcher, path: string, key: string) {
  const send: Fetcher = typeof app === "function" ? app : async (p, init) => app.request(p, init);
  const res = await send(path, { headers: { authorization: `Bearer ${key}` } });
  return { status: res.status, bytes: new Uint8Array(await res.arrayBuffer()), headers: res.headers };
}
