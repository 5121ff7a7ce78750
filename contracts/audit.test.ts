import { describe, expect, it } from "vitest";
import { type AuditEntry, auditHash, GENESIS_HASH, nextAuditEntry, verifyChain } from "./audit.js";
import { canonicalJson, contentHash, sha256Hex } from "./canonical.js";

function chain(): AuditEntry[] {
  const rows: Omit<AuditEntry, "seq" | "prevHash" | "hash">[] = [
    { action: "submit", payload: { note: "first draft" }, versionNo: 1 },
    { action: "vote", payload: { passed: true, yesOwners: 45 }, versionNo: 1 },
    { action: "approve", payload: {}, versionNo: 1 },
    { action: "sign", payload: { party: "enterprise" }, versionNo: 1 },
  ].map((r, i) => ({
    contractId: "c-1",
    actorOrgId: i === 0 ? "org-enterprise" : "org-committee",
    actorKeyId: i === 2 ? null : `key-${i}`,
    // The approval was made by a committee member signed in to the portal.
    actorPersonId: i === 2 ? "person-1" : null,
    actorName: i === 2 ? "王秀英" : null,
    contentHash: contentHash({ terms: "v1" }),
    createdAt: `2026-02-0${i + 1}T08:00:00.000Z`,
    ...r,
  }));
  const out: AuditEntry[] = [];
  for (const r of rows) out.push(nextAuditEntry(out.at(-1) ?? null, r));
  return out;
}

describe("the audit hash chain", () => {
  it("an untouched chain is intact", () => {
    const entries = chain();
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(entries[0]?.prevHash).toBe(GENESIS_HASH);
    expect(entries[1]?.prevHash).toBe(entries[0]?.hash);
    expect(verifyChain(entries)).toEqual({ intact: true, length: 4 });
    expect(verifyChain([])).toEqual({ intact: true, length: 0 });
  });

  it("the hash covers every field but itself, regardless of payload key order", () => {
    const [first] = chain();
    if (!first) throw new Error("no entry");
    const { hash, ...rest } = first;
    expect(auditHash(rest)).toBe(hash);
    expect(auditHash({ ...rest, payload: { note: "first draft" } })).toBe(hash);
    for (const change of [
      { action: "approve" },
      { actorOrgId: "org-x" },
      { actorKeyId: null },
      { versionNo: 2 },
      { contentHash: null },
      { createdAt: "2026-02-01T08:00:00.001Z" },
      { prevHash: "1".repeat(64) },
      { seq: 2 },
      { contractId: "c-2" },
      { actorPersonId: "person-2" },
      { actorName: "王秀英" },
    ]) {
      expect(auditHash({ ...rest, ...change }), JSON.stringify(change)).not.toBe(hash);
    }
  });

  it("a person's name and id are covered by the hash: renaming who approved breaks the chain", () => {
    const entries = chain();
    const approval = entries[2];
    if (!approval) throw new Error("no approval");
    expect(approval.actorName).toBe("王秀英");
    entries[2] = { ...approval, actorName: "李建国" };
    expect(verifyChain(entries)).toMatchObject({ intact: false, brokenAtSeq: 3 });
  });

  it("an entry made with a key hashes as entries did before people signed in (no person fields)", () => {
    const [first] = chain();
    if (!first) throw new Error("no entry");
    const { hash, actorPersonId, actorName, ...before } = first;
    expect([actorPersonId, actorName]).toEqual([null, null]);
    expect(sha256Hex(canonicalJson(before))).toBe(hash);
  });

  it("a database row with extra columns still verifies", () => {
    const rows = chain().map((e, i) => ({ ...e, id: 100 + i }));
    expect(verifyChain(rows)).toEqual({ intact: true, length: 4 });
  });

  it("detects a changed payload", () => {
    const entries = chain();
    entries[1] = { ...(entries[1] as AuditEntry), payload: { passed: true, yesOwners: 46 } };
    expect(verifyChain(entries)).toMatchObject({
      intact: false,
      brokenAtSeq: 2,
      reason: expect.stringMatching(/hash/),
    });
  });

  it("detects a changed payload even when its hash was recomputed", () => {
    const entries = chain();
    const forged = { ...(entries[1] as AuditEntry), payload: { passed: true, yesOwners: 46 } };
    forged.hash = auditHash(forged);
    entries[1] = forged;
    expect(verifyChain(entries)).toMatchObject({
      intact: false,
      brokenAtSeq: 3,
      reason: expect.stringMatching(/prevHash/),
    });
  });

  it("detects a removed row", () => {
    const entries = chain();
    entries.splice(2, 1);
    expect(verifyChain(entries)).toMatchObject({ intact: false, length: 3, brokenAtSeq: 3 });
  });

  it("detects a removed row even when the later rows were renumbered", () => {
    const entries = chain();
    entries.splice(1, 1);
    const renumbered = entries.map((e, i) => ({ ...e, seq: i + 1 }));
    expect(verifyChain(renumbered)).toMatchObject({ intact: false, brokenAtSeq: 2 });
  });

  it("detects a reordered row", () => {
    const entries = chain();
    const [a, b, c, d] = entries as [AuditEntry, AuditEntry, AuditEntry, AuditEntry];
    expect(verifyChain([a, c, b, d])).toMatchObject({ intact: false, brokenAtSeq: 2 });
  });

  it("detects a chain that does not start at the genesis hash or at seq 1", () => {
    const entries = chain();
    expect(verifyChain(entries.slice(1))).toMatchObject({ intact: false, brokenAtSeq: 1 });
    const first = { ...(entries[0] as AuditEntry), prevHash: "f".repeat(64) };
    first.hash = auditHash(first);
    expect(verifyChain([first])).toMatchObject({
      intact: false,
      brokenAtSeq: 1,
      reason: expect.stringMatching(/prevHash/),
    });
  });

  it("detects an entry of another contract spliced in", () => {
    const entries = chain();
    const alien = { ...(entries[1] as AuditEntry), contractId: "c-2" };
    alien.hash = auditHash(alien);
    entries[1] = alien;
    expect(verifyChain(entries)).toMatchObject({
      intact: false,
      brokenAtSeq: 2,
      reason: expect.stringMatching(/contract/),
    });
  });
});
