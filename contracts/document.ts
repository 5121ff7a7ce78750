import { contentHash } from "./canonical.js";
import { formatMoney, money } from "./money.js";
import type { ContractTerms } from "./terms.js";

/** What the parties sign: the parties, the facilities, and one version's terms. */
export interface ContractDocument {
  contractId: string;
  title: string;
  versionNo: number;
  isAmendment: boolean;
  effectiveDate: string | null;
  communityId: string;
  parties: {
    enterprise: string;
    ownersCommittee: string;
    propertyCompany: string;
    streetOffice: string | null;
  };
  facilityIds: string[];
  voteMatter: "special" | "ordinary";
  terms: ContractTerms;
}

/** An amount already in normal form, as numeric(14,2) reads back: kept as is (no Decimal round trip). */
const NORMAL_MONEY = /^(0|[1-9]\d*)\.\d\d$/;

/**
 * The document in normal form: amounts with exactly two decimals, facilities sorted, fee items
 * and floor prices in a fixed order. "100" and "100.00" are the same price, so they must hash
 * the same; a reordering of the fee table is not a change of terms.
 */
export function normalizeDocument(d: ContractDocument): ContractDocument {
  const m = (s: string) => (NORMAL_MONEY.test(s) ? s : formatMoney(money(s)));
  return {
    ...d,
    facilityIds: [...d.facilityIds].sort(),
    terms: {
      ...d.terms,
      totalInvestment: m(d.terms.totalInvestment),
      enterpriseCapital: m(d.terms.enterpriseCapital),
      guidanceFunds: m(d.terms.guidanceFunds),
      handbackConditions: [...d.terms.handbackConditions].sort((a, b) => a.code.localeCompare(b.code)),
      feeSchedule: [...d.terms.feeSchedule]
        .sort((a, b) => a.code.localeCompare(b.code))
        .map((item) => ({
          ...item,
          price: m(item.price),
          ...(item.floorPrices?.length
            ? {
                floorPrices: [...item.floorPrices]
                  .sort((a, b) => a.floor - b.floor)
                  .map((fp) => ({ floor: fp.floor, price: m(fp.price) })),
              }
            : { floorPrices: undefined }),
        })),
    },
  };
}

/** SHA-256 of the document's canonical JSON: fixed at signing, reproducible on every read. */
export function documentHash(d: ContractDocument): string {
  return contentHash(normalizeDocument(d));
}
