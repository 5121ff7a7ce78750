/**
 * `Idempotency-Key` on the API's POSTs (docs/api.md, "Idempotent creates"). A POST that carries
 * the header runs in ONE transaction that first claims the key (src/services/idempotency.ts), then
 * runs the route with that transaction as the request's database, then stores the answer:
 * - the same key and body again (within 24 h) get the first answer replayed, byte for byte, with
 *   `Idempotent-Replayed: true`; another body or path with the key: 422 `idempotency_key_reused`;
 * - a concurrent request with the key waits on the key's unique index until the first commits,
 *   then replays its answer, so one record is created, whichever instance each request reached;
 * - an answer that is not a success rolls everything back, the key included, so a corrected retry
 *   with the same key runs afresh; and no record can commit without its stored answer.
 *
 * Mounted on the organization-authenticated /v1 router only: sensors' routes (events, command
 * results) are exactly-once by their own eventId and commandId.
 */
import { createHash, createHmac } from "node:crypto";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { canonicalJson } from "../contracts/canonical.js";
import type { Ingest } from "../iot/ingest.js";
import { bearerKey } from "./auth/authenticate.js";
import type { AppDeps, AppEnv } from "./context.js";
import { JSON_TYPE } from "./empty-json-body.js";
import { ApiError } from "./errors.js";
import { IDEMPOTENCY_KEY, IDEMPOTENCY_KEY_MESSAGE, REPLAYED_HEADER } from "./openapi.js";
import {
  claimIdempotencyKey,
  type IdempotentRequest,
  type StoredAnswerRow,
  storeIdempotentAnswer,
} from "./services/idempotency.js";

/** The answer's headers that are stored and replayed; the others are the replay's own (X-Request-Id). */
const STORED_HEADERS = ["content-type", "location", "etag"] as const;

/** Thrown inside the transaction to roll it back when the route did not succeed. */
class NotSucceeded extends Error {}

export const idempotentPosts = createMiddleware<AppEnv>(async (c, next) => {
  const key = c.req.method === "POST" ? c.req.header("idempotency-key") : undefined;
  if (key === undefined) return next();
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw ApiError.validation([{ field: "header.idempotency-key", message: IDEMPOTENCY_KEY_MESSAGE }]);
  }
  const secret = callerSecret(c);
  const request: IdempotentRequest = {
    scope: `${c.var.credential.kind}:${sha256Hex(secret)}`,
    key,
    method: c.req.method,
    path: c.req.path,
    fingerprint: await fingerprintOf(c),
  };
  const { db: outer, deps } = c.var;
  const afterCommit: (() => void)[] = [];
  let replay: Response | undefined;
  try {
    await outer.transaction(async (tx) => {
      const claim = await claimIdempotencyKey(tx, request, deps.clock());
      if (claim.kind === "stored") {
        replay = await replayOf(c, claim.row, request, secret);
        return;
      }
      // Every query of the route (its services' own transactions become savepoints) runs in this
      // transaction; signals that other connections act on wait for its commit.
      c.set("db", tx);
      c.set("deps", untilCommit(deps, afterCommit));
      try {
        await next();
      } finally {
        c.set("db", outer);
        c.set("deps", deps);
      }
      if (c.error || c.res.status < 200 || c.res.status > 299) throw new NotSucceeded();
      const headers: Record<string, string> = {};
      for (const name of STORED_HEADERS) {
        const value = c.res.headers.get(name);
        if (value !== null) headers[name] = value;
      }
      const body = new Uint8Array(await c.res.clone().arrayBuffer());
      await storeIdempotentAnswer(tx, claim.id, {
        status: c.res.status,
        headers,
        body: await seal(secret, key, body),
      });
    });
  } catch (err) {
    if (!(err instanceof NotSucceeded)) throw err;
    return; // c.res is the route's own error answer
  }
  for (const signal of afterCommit) signal();
  return replay;
});

/**
 * What the caller holds and the database does not: the bearer key (or the session's token). Its
 * hash names the caller's scope; the key itself seals the stored answers.
 */
function callerSecret(c: Context<AppEnv>): string {
  const credential = c.var.credential;
  if (credential.kind === "session") return credential.token;
  const key = bearerKey(c.req.header("authorization"));
  if (!key) throw new Error("a key credential without a bearer key");
  return key;
}

/** SHA-256 of the body: its canonical JSON (key order and spacing do not matter), else its bytes. */
async function fingerprintOf(c: Context<AppEnv>): Promise<string> {
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  if (JSON_TYPE.test(c.req.header("content-type") ?? "")) {
    try {
      return sha256Hex(canonicalJson(JSON.parse(new TextDecoder().decode(bytes))));
    } catch {
      // Not JSON after all: the route answers 400, which is never stored; hashed as bytes.
    }
  }
  return createHash("sha256").update(bytes).digest("hex");
}

const sha256Hex = (text: string) => createHash("sha256").update(text).digest("hex");

async function replayOf(
  c: Context<AppEnv>,
  row: StoredAnswerRow,
  request: IdempotentRequest,
  secret: string,
): Promise<Response> {
  if (row.method !== request.method || row.path !== request.path || row.fingerprint !== request.fingerprint) {
    throw new ApiError(
      422,
      "idempotency_key_reused",
      "Idempotency-Key reused",
      `This Idempotency-Key was first sent with ${row.path === request.path ? "another body" : `POST ${row.path}`} within the last 24 h; use a new key for a new request.`,
    );
  }
  if (row.status === null || row.body === null) throw new Error("a committed Idempotency-Key has no answer");
  const body = await unseal(secret, request.key, row.body);
  return c.newResponse(body, row.status as 200, { ...row.headers, [REPLAYED_HEADER]: "true" });
}

/**
 * The app's dependencies as a route sees them inside the transaction: the command dispatcher is
 * kicked, and the ingest's sensor cache forgotten again, only once the transaction has committed
 * (before, the dispatcher's connection would not see the command, and the ingest could cache the
 * sensor's old key again).
 */
function untilCommit(deps: AppDeps, afterCommit: (() => void)[]): AppDeps {
  const { commandDispatcher, ingest } = deps;
  const deferredIngest: Ingest = Object.create(ingest);
  deferredIngest.invalidateSensor = (id) => {
    ingest.invalidateSensor(id);
    afterCommit.push(() => ingest.invalidateSensor(id));
  };
  return {
    ...deps,
    ingest: deferredIngest,
    ...(commandDispatcher
      ? { commandDispatcher: { kick: () => afterCommit.push(() => commandDispatcher.kick()) } }
      : {}),
  };
}

// ---- sealed answers -------------------------------------------------------------------------
// An answer may show a secret once (a new API key, a sensor's key, a webhook's signing secret), so
// it is stored AES-256-GCM-encrypted under a key derived from the caller's bearer key and the
// Idempotency-Key: only the caller who sent the request can read it back.

async function answerKey(secret: string, idempotencyKey: string) {
  const derived = createHmac("sha256", secret).update(`idempotent answer\n${idempotencyKey}`).digest();
  return crypto.subtle.importKey("raw", derived, "AES-GCM", false, ["encrypt", "decrypt"]);
}

const IV_BYTES = 12;

async function seal(secret: string, idempotencyKey: string, body: Uint8Array): Promise<Uint8Array> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv },
    await answerKey(secret, idempotencyKey),
    body,
  );
  const out = new Uint8Array(IV_BYTES + sealed.byteLength);
  out.set(iv);
  out.set(new Uint8Array(sealed), IV_BYTES);
  return out;
}

async function unseal(secret: string, idempotencyKey: string, stored: Uint8Array): Promise<ArrayBuffer> {
  return crypto.subtle.decrypt(
    { name: "AES-GCM", iv: stored.subarray(0, IV_BYTES) },
    await answerKey(secret, idempotencyKey),
    stored.subarray(IV_BYTES),
  );
}
