/**
 * The stored first answers of `Idempotency-Key` requests (table `idempotency_keys`): claiming a key
 * for a request, storing its answer, and the hourly retention. The HTTP side, which runs the request
 * in the claiming transaction, is src/idempotency.ts.
 */
import { and, eq, lt } from "drizzle-orm";
import type { Queryable } from "../../db/database.js";
import { idempotencyKeys } from "../../db/schema.js";
import type { SystemContext } from "./context.js";

/** How long a key's first answer is kept: after that the same key is a new request. */
export const IDEMPOTENCY_KEY_TTL_MS = 24 * 60 * 60 * 1000;

/** A request as its key is claimed for it. */
export interface IdempotentRequest {
  scope: string;
  key: string;
  method: string;
  path: string;
  fingerprint: string;
}

export type StoredAnswerRow = typeof idempotencyKeys.$inferSelect;

/**
 * - `claimed`: the key is this request's (new, or its earlier use is over 24 h old): run it, then
 *   store its answer under `id` in the same transaction.
 * - `stored`: a committed earlier use of the key, to replay or to refuse (another body or path).
 */
export type Claim = { kind: "claimed"; id: number } | { kind: "stored"; row: StoredAnswerRow };

/**
 * Claims the key inside the caller's transaction. A concurrent request holding the same key (not
 * committed yet) makes this wait on the unique index until it ends: if it committed, its answer is
 * found here; if it rolled back (it failed), the key is claimed for this one.
 */
export async function claimIdempotencyKey(
  tx: Queryable,
  request: IdempotentRequest,
  now: Date,
): Promise<Claim> {
  const expired = new Date(now.getTime() - IDEMPOTENCY_KEY_TTL_MS);
  const [claimed] = await tx
    .insert(idempotencyKeys)
    .values({ ...request, createdAt: now })
    .onConflictDoUpdate({
      target: [idempotencyKeys.scope, idempotencyKeys.key],
      // An expired use not purged yet: the key starts afresh.
      set: {
        method: request.method,
        path: request.path,
        fingerprint: request.fingerprint,
        status: null,
        headers: null,
        body: null,
        createdAt: now,
      },
      setWhere: lt(idempotencyKeys.createdAt, expired),
    })
    .returning({ id: idempotencyKeys.id });
  if (claimed) return { kind: "claimed", id: claimed.id };
  const [row] = await tx
    .select()
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.scope, request.scope), eq(idempotencyKeys.key, request.key)));
  if (!row) throw new Error("an Idempotency-Key conflicted with no stored row");
  return { kind: "stored", row };
}

/** Stores the answer of the request that claimed row `id` (in the claiming transaction). */
export async function storeIdempotentAnswer(
  tx: Queryable,
  id: number,
  answer: { status: number; headers: Record<string, string>; body: Uint8Array },
): Promise<void> {
  await tx.update(idempotencyKeys).set(answer).where(eq(idempotencyKeys.id, id));
}

/**
 * Forgets keys older than IDEMPOTENCY_KEY_TTL_MS (hourly, with the other retentions). One
 * idempotent DELETE: safe on several instances and the Workers cron at once. A key past its 24 h
 * that is not purged yet is already treated as new by claimIdempotencyKey.
 */
export async function runIdempotencyRetention(sys: SystemContext): Promise<{ deleted: number }> {
  const expired = new Date(sys.clock().getTime() - IDEMPOTENCY_KEY_TTL_MS);
  const deleted = await sys.db
    .delete(idempotencyKeys)
    .where(lt(idempotencyKeys.createdAt, expired))
    .returning({ id: idempotencyKeys.id });
  return { deleted: deleted.length };
}
