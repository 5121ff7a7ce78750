import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** A new API key: 32 random bytes, shown once. Only its SHA-256 is stored. */
export function generateKey(kind: "org" | "sensor" = "org"): { key: string; hash: string; prefix: string } {
  const key = `bot_${kind === "org" ? "k" : "s"}_${randomBytes(32).toString("base64url")}`;
  return { key, hash: hashKey(key), prefix: key.slice(0, 12) };
}

/** Keys are long random strings, so a plain SHA-256 (no salt, no stretching) is enough to store them. */
export function hashKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, "hex");
  const y = Buffer.from(b, "hex");
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A secret for a link or a cookie (an invitation, a session, a household link): 32 random bytes. */
export function generateToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString("base64url");
  return { token, hash: hashKey(token) };
}
