import { pbkdf2Sync, randomBytes } from "node:crypto";

/**
 * A password in Mosquitto's password-file format (`$7$`: PBKDF2-HMAC-SHA512, 101 iterations,
 * 12-byte salt), as `mosquitto_passwd` writes it. The sensor key is hashed this way once, when it
 * is issued, so the broker's logins can be generated from the sensors table at any time (the
 * dynamic-security plugin uses the same PBKDF2-SHA512 salt and iterations: iot/dynsec.ts) without
 * the key itself ever being stored.
 */
export function mosquittoPasswordHash(password: string, salt: Buffer = randomBytes(12)): string {
  const hash = pbkdf2Sync(password, salt, 101, 64, "sha512");
  return `$7$101$${salt.toString("base64")}$${hash.toString("base64")}`;
}
