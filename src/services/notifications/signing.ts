/**
 * Signatures of outbound notifications: Standard Webhooks (https://www.standardwebhooks.com) for
 * webhooks, and DingTalk's signed robot URLs. Web Crypto only, so the same code runs in the Node
 * process and on Workers.
 */

const encoder = new TextEncoder();

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array | null {
  try {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch {
    return null;
  }
}

async function hmacSha256(key: Uint8Array, message: string): Promise<Uint8Array> {
  const cryptoKey = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(message)));
}

/** A new webhook signing secret: `whsec_` and 32 random bytes in base64 (the spec's form). */
export function generateWebhookSecret(): string {
  return `whsec_${toBase64(crypto.getRandomValues(new Uint8Array(32)))}`;
}

/** The key bytes of a `whsec_<base64>` secret; null when it is not one. */
function secretBytes(secret: string): Uint8Array | null {
  if (!secret.startsWith("whsec_")) return null;
  return fromBase64(secret.slice("whsec_".length));
}

/** `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`. */
async function signatureOf(key: Uint8Array, id: string, timestampS: number, body: string) {
  return `v1,${toBase64(await hmacSha256(key, `${id}.${timestampS}.${body}`))}`;
}

/** The three Standard Webhooks headers of one delivery attempt. */
export async function signWebhook(
  secret: string,
  id: string,
  timestampS: number,
  body: string,
): Promise<Record<string, string>> {
  const key = secretBytes(secret);
  if (!key) throw new Error("the webhook secret is not a whsec_ secret");
  return {
    "webhook-id": id,
    "webhook-timestamp": String(timestampS),
    "webhook-signature": await signatureOf(key, id, timestampS, body),
  };
}

export type WebhookVerification =
  | { ok: true; id: string; timestampS: number }
  | { ok: false; reason: "missing_headers" | "bad_secret" | "timestamp_out_of_window" | "bad_signature" };

/** Compares without returning early on the first difference (the signature is a secret's image). */
function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/**
 * What a receiver runs on each request: the signature must be one of the `v1,` signatures of the
 * header (space-separated, as the spec allows several during a secret rotation) and the timestamp
 * within `toleranceS` of `now`, so that a captured request cannot be replayed later. `body` is the
 * raw body as received (not re-serialised JSON).
 */
export async function verifyWebhook(
  secret: string,
  headers: Headers | Record<string, string | string[] | undefined>,
  body: string,
  opts: { toleranceS?: number; now?: Date } = {},
): Promise<WebhookVerification> {
  const header = (name: string): string | undefined => {
    if (headers instanceof Headers) return headers.get(name) ?? undefined;
    const v = headers[name] ?? headers[name.toLowerCase()];
    return Array.isArray(v) ? v[0] : v;
  };
  const id = header("webhook-id");
  const timestamp = header("webhook-timestamp");
  const signatures = header("webhook-signature");
  if (!id || !timestamp || !signatures) return { ok: false, reason: "missing_headers" };
  const key = secretBytes(secret);
  if (!key) return { ok: false, reason: "bad_secret" };
  const timestampS = Number(timestamp);
  const nowS = Math.floor((opts.now ?? new Date()).getTime() / 1000);
  if (!/^\d{1,12}$/.test(timestamp) || Math.abs(nowS - timestampS) > (opts.toleranceS ?? 300)) {
    return { ok: false, reason: "timestamp_out_of_window" };
  }
  const expected = await signatureOf(key, id, timestampS, body);
  const matches = signatures.split(" ").some((s) => sameText(s, expected));
  return matches ? { ok: true, id, timestampS } : { ok: false, reason: "bad_signature" };
}

/**
 * DingTalk's signed robot URL (its "加签" security setting): `&timestamp=<ms>&sign=<urlencoded
 * base64 HMAC-SHA256 of "timestamp\nsecret", keyed by the secret>`.
 */
export async function dingtalkSignedUrl(url: string, secret: string, timestampMs: number): Promise<string> {
  const sign = toBase64(await hmacSha256(encoder.encode(secret), `${timestampMs}\n${secret}`));
  const separator = url.includes("?") ? "&" : "?";
  return `${url}${separator}timestamp=${timestampMs}&sign=${encodeURIComponent(sign)}`;
}
