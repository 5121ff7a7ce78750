import { desc, eq } from "drizzle-orm";
import { type AuditEntry, auditHash, GENESIS_HASH } from "../contracts/audit.js";
import type { Tx } from "./database.js";
import { auditLog } from "./schema.js";

export interface AuditInput {
  contractId: string;
  action: string;
  actorOrgId: string;
  actorKeyId: string | null;
  /** The person acting through the portal (Principal.person), or null. */
  actor?: { id: string; name: string } | null;
  versionNo: number | null;
  payload: unknown;
  contentHash?: string | null;
  at: Date;
}

/**
 * Appends one row to a contract's hash-chained audit log. Call inside the transaction that made
 * the decision, after locking the contract row (`for update`), so appends to one contract are
 * serialised and the chain has no forks.
 */
export async function appendAudit(tx: Tx, input: AuditInput): Promise<AuditEntry> {
  const [last] = await tx
    .select({ seq: auditLog.seq, hash: auditLog.hash })
    .from(auditLog)
    .where(eq(auditLog.contractId, input.contractId))
    .orderBy(desc(auditLog.seq))
    .limit(1);
  const unhashed: Omit<AuditEntry, "hash"> = {
    contractId: input.contractId,
    seq: (last?.seq ?? 0) + 1,
    action: input.action,
    actorOrgId: input.actorOrgId,
    actorKeyId: input.actorKeyId,
    actorPersonId: input.actor?.id ?? null,
    actorName: input.actor?.name ?? null,
    versionNo: input.versionNo,
    payload: input.payload ?? {},
    contentHash: input.contentHash ?? null,
    createdAt: input.at.toISOString(),
    prevHash: last?.hash ?? GENESIS_HASH,
  };
  const entry: AuditEntry = { ...unhashed, hash: auditHash(unhashed) };
  await tx.insert(auditLog).values({ ...entry, createdAt: input.at });
  return entry;
}

/** A contract's audit rows in order, shaped as the chain verifier reads them. */
export async function readAudit(db: Pick<Tx, "select">, contractId: string): Promise<AuditEntry[]> {
  const rows = await db
    .select()
    .from(auditLog)
    .where(eq(auditLog.contractId, contractId))
    .orderBy(auditLog.seq);
  return rows.map(auditEntryOf);
}

/** An audit row as the chain verifier (and the API) reads it. */
export function auditEntryOf(r: typeof auditLog.$inferSelect): AuditEntry {
  return {
    contractId: r.contractId,
    seq: r.seq,
    action: r.action,
    actorOrgId: r.actorOrgId,
    actorKeyId: r.actorKeyId,
    actorPersonId: r.actorPersonId,
    actorName: r.actorName,
    versionNo: r.versionNo,
    payload: r.payload,
    contentHash: r.contentHash,
    createdAt: r.createdAt.toISOString(),
    prevHash: r.prevHash,
    hash: r.hash,
  };
}
