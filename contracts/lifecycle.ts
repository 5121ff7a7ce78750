/**
 * The contract's states, its parties and its signatures. Who may do what in which state is the
 * command table's (commands.ts).
 */

export const CONTRACT_STATES = [
  "draft",
  "submitted",
  "changes_requested",
  "approved",
  "signed",
  "under_construction",
  "operating",
  "transferred",
  "terminated",
] as const;
export type ContractState = (typeof CONTRACT_STATES)[number];
/** The parties to a contract: also the kinds of organization. */
export const PARTIES = ["enterprise", "owners_committee", "property_company", "street_office"] as const;
export type Party = (typeof PARTIES)[number];
export const TERMINAL_STATES: readonly ContractState[] = ["transferred", "terminated"];

export function isTerminal(state: ContractState): boolean {
  return TERMINAL_STATES.includes(state);
}

/** A version's review status: a contract's first version moves with the contract; an amendment on its own. */
export const VERSION_STATUSES = [
  "draft",
  "submitted",
  "changes_requested",
  "approved",
  "signed",
  "superseded",
] as const;
export type VersionStatus = (typeof VERSION_STATUSES)[number];

// ---------------------------------------------------------------------------------------------
// Signatures

/** Whether every required party has signed; `missing` keeps the order of `required`. */
export function signatureStatus(required: Party[], signed: Party[]): { complete: boolean; missing: Party[] } {
  const have = new Set(signed);
  const missing = [...new Set(required)].filter((p) => !have.has(p));
  return { complete: missing.length === 0, missing };
}

/**
 * The parties that must sign: enterprise, owners committee, property company, and the street
 * office when it is a party and contributes guidance funds (> 0).
 */
export function requiredSigners(opts: { guidanceFunds: string; hasStreetOffice: boolean }): Party[] {
  const parties: Party[] = ["enterprise", "owners_committee", "property_company"];
  if (opts.hasStreetOffice && hasPositiveAmount(opts.guidanceFunds)) parties.push("street_office");
  return parties;
}

function hasPositiveAmount(s: string): boolean {
  // Positive when some digit is non-zero; no Decimal needed for a sign test on "123.45"-style input.
  return typeof s === "string" && /^\d+(\.\d+)?$/.test(s) && /[1-9]/.test(s);
}
