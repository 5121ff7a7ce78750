/** The audit log's hash chain: each entry commits to its content and to the previous entry. */
import { canonicalJson, sha256Hex } from "./canonical.js";

export interface AuditEntry {
  contractId: string;
  seq: number;
  action: string;
  actorOrgId: string;
  actorKeyId: string | null;
  /** The person who acted through the portal, and their name then; null for a machine's key. */
  actorPersonId: string | null;
  actorName: string | null;
  versionNo: number | null;
  payload: unknown;
  contentHash: string | null;
  /** ISO 8601 timestamp. */
  createdAt: string;
  prevHash: string;
  hash: string;
}

/** prevHash of the first entry of each contract's chain. */
export const GENESIS_HASH = "0".repeat(64);

/**
 * sha256 of the canonical JSON of every field except `hash`. Only the fields of AuditEntry are
 * hashed (extra properties of a database row, e.g. a surrogate id, are ignored). `createdAt` is
 * hashed exactly as given: store and read it back as the same ISO string
 * (Date#toISOString()). The person's id and name are hashed only when set, so the entries made
 * before people signed in (and every key's entry) keep the hash they were written with.
 */
export function auditHash(e: Omit<AuditEntry, "hash">): string {
  return sha256Hex(
    canonicalJson({
      contractId: e.contractId,
      seq: e.seq,
      action: e.action,
      actorOrgId: e.actorOrgId,
      actorKeyId: e.actorKeyId,
      ...(e.actorPersonId === null ? {} : { actorPersonId: e.actorPersonId }),
      ...(e.actorName === null ? {} : { actorName: e.actorName }),
      versionNo: e.versionNo,
      payload: e.payload,
      contentHash: e.contentHash,
      createdAt: e.createdAt,
      prevHash: e.prevHash,
    }),
  );
}

/** Build the next entry of a chain (seq and prevHash follow `previous`, or start the chain). */
export function nextAuditEntry(
  previous: Pick<AuditEntry, "seq" | "hash"> | null,
  e: Omit<AuditEntry, "seq" | "prevHash" | "hash">,
): AuditEntry {
  const body = {
    ...e,
    seq: previous ? previous.seq + 1 : 1,
    prevHash: previous ? previous.hash : GENESIS_HASH,
  };
  return { ...body, hash: auditHash(body) };
}

export type ChainVerdict =
  | { intact: true; length: number }
  | { intact: false; length: number; brokenAtSeq: number; reason: string };

/**
 * Verify one contract's chain. Expects the entries sorted by seq, starting at 1; checks seq
 * continuity, one contractId throughout, prevHash linkage (the first links to GENESIS_HASH) and
 * each entry's hash. `brokenAtSeq` is the seq expected at the first bad position.
 * A chain cut off at its end cannot be detected from the rows alone: compare `length` (and the
 * last hash) with an independently kept head when that matters.
 */
export function verifyChain(entries: AuditEntry[]): ChainVerdict {
  const length = entries.length;
  let prevHash = GENESIS_HASH;
  const contractId = entries[0]?.contractId;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    const expectedSeq = i + 1;
    if (!e) return { intact: false, length, brokenAtSeq: expectedSeq, reason: "missing entry" };
    if (e.seq !== expectedSeq) {
      return {
        intact: false,
        length,
        brokenAtSeq: expectedSeq,
        reason: `expected seq ${expectedSeq}, found ${e.seq}`,
      };
    }
    if (e.contractId !== contractId) {
      return { intact: false, length, brokenAtSeq: expectedSeq, reason: "entry belongs to another contract" };
    }
    if (e.prevHash !== prevHash) {
      return {
        intact: false,
        length,
        brokenAtSeq: expectedSeq,
        reason: "prevHash does not match the previous entry's hash",
      };
    }
    let computed: string;
    try {
      computed = auditHash(e);
    } catch {
      return { intact: false, length, brokenAtSeq: expectedSeq, reason: "entry content cannot be hashed" };
    }
    if (computed !== e.hash) {
      return {
        intact: false,
        length,
        brokenAtSeq: expectedSeq,
        reason: "hash does not match the entry's content",
      };
    }
    prevHash = e.hash;
  }
  return { intact: true, length };
}
