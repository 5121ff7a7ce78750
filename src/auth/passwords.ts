/**
 * Portal passwords: scrypt (memory-hard), one random salt per password, the parameters stored with
 * the hash so they can be raised later without invalidating old passwords. node:crypto's scrypt
 * runs on Node and on Workers (nodejs_compat).
 */
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";

/** 32 MiB of memory per hash (128 · N · r bytes): OWASP's scrypt floor, within a Worker's memory. */
const N = 2 ** 15;
const R = 8;
const P = 1;
const KEY_BYTES = 32;
const MAX_MEM = 64 * 1024 * 1024;

/** Shortest and longest password accepted (a passphrase is welcome; scrypt reads all of it). */
export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 200;

function derive(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize("NFC"), salt, KEY_BYTES, { N: n, r, p, maxmem: MAX_MEM }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/** `scrypt$N$r$p$<salt b64url>$<key b64url>` */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, N, R, P);
  return ["scrypt", N, R, P, salt.toString("base64url"), key.toString("base64url")].join("$");
}

/** A hash of nothing anyone knows: checked against when the login is unknown, so both take as long. */
let decoy: Promise<string> | undefined;

/** Whether `password` matches `stored`; with no stored hash (unknown login) it still spends the time. */
export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  decoy ??= hashPassword(randomBytes(16).toString("hex"));
  const [scheme, n, r, p, salt, key] = (stored ?? (await decoy)).split("$");
  if (scheme !== "scrypt" || !n || !r || !p || !salt || !key) return false;
  const expected = Buffer.from(key, "base64url");
  const actual = await derive(password, Buffer.from(salt, "base64url"), Number(n), Number(r), Number(p));
  return stored !== null && actual.length === expected.length && timingSafeEqual(actual, expected);
}
