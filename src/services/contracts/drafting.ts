/**
 * Drafting a contract and editing its draft: the enterprise's commands before there is anything
 * to review. The draft is checked against the community's register of parties and facilities.
 */
import { and, eq, inArray, sql } from "drizzle-orm";
import {
  CONTRACT_STATES,
  type ContractTerms,
  DRAFTING_PARTIES,
  isTerminal,
} from "../../../contracts/index.js";
import { appendAudit } from "../../../db/audit.js";
import { outer } from "../../../db/database.js";
import {
  communities,
  contractFacilities,
  contracts,
  facilities,
  organizationCommunities,
  organizations,
} from "../../../db/schema.js";
import { requireOrg } from "../../auth/scope.js";
import { ApiError, type FieldError } from "../../errors.js";
import type { ServiceContext } from "../context.js";
import { runContractCommand } from "./command.js";
import {
  contractDetail,
  etagOf,
  facilityKindsOf,
  findContract,
  insertVersion,
  replaceTerms,
  setContract,
  staleRevision,
  termsErrors,
  versionParts,
} from "./store.js";

/** States in which a contract still holds its facilities. */
const OPEN_STATES = CONTRACT_STATES.filter((state) => !isTerminal(state));

export interface NewContractInput {
  title: string;
  communityId: string;
  ownersCommitteeOrgId: string;
  propertyCompanyOrgId: string;
  streetOfficeOrgId?: string | undefined;
  facilityIds: string[];
  voteMatter: "special" | "ordinary";
  summary: string;
  terms: ContractTerms;
  invoiceDueDays: number;
  paymentGraceDays: number;
}

/** The enterprise drafts a contract: version 1, a draft, with the parties and facilities it names. */
export async function createContract(ctx: ServiceContext, body: NewContractInput) {
  const p = requireOrg(ctx.principal, DRAFTING_PARTIES, "draft contracts");
  const now = ctx.clock();
  const created = await ctx.db.transaction(async (tx) => {
    const errors: FieldError[] = [];
    const [community] = await tx
      .select()
      .from(communities)
      .where(and(eq(communities.id, body.communityId), eq(communities.streetId, p.streetId)));
    if (!community) errors.push({ field: "body.communityId", message: "is not a community of your street" });

    // Each party must be of its kind and serve this community.
    const parties = await tx
      .select({
        id: organizations.id,
        kind: organizations.kind,
        streetId: organizations.streetId,
        serves: sql<boolean>`exists (select 1 from ${organizationCommunities} oc
          where oc.organization_id = ${outer(organizations.id)} and oc.community_id = ${body.communityId})`,
      })
      .from(organizations)
      .where(
        inArray(
          organizations.id,
          [body.ownersCommitteeOrgId, body.propertyCompanyOrgId, body.streetOfficeOrgId].filter(
            (x): x is string => !!x,
          ),
        ),
      );
    const party = (id: string | undefined) => parties.find((o) => o.id === id);
    const oc = party(body.ownersCommitteeOrgId);
    if (oc?.kind !== "owners_committee" || !oc.serves) {
      errors.push({
        field: "body.ownersCommitteeOrgId",
        message: "is not the owners committee of this community",
      });
    }
    const pc = party(body.propertyCompanyOrgId);
    if (pc?.kind !== "property_company" || !pc.serves) {
      errors.push({
        field: "body.propertyCompanyOrgId",
        message: "is not a property company serving this community",
      });
    }
    if (body.streetOfficeOrgId) {
      const so = party(body.streetOfficeOrgId);
      if (so?.kind !== "street_office" || so.streetId !== p.streetId) {
        errors.push({ field: "body.streetOfficeOrgId", message: "is not the office of this street" });
      }
    } else if (!/^0+(\.0+)?$/.test(body.terms.guidanceFunds)) {
      errors.push({
        field: "body.streetOfficeOrgId",
        message: "is required when the street office contributes guidance funds",
      });
    }

    // Facilities: of this community, planned, free (or already this enterprise's), not in another open contract.
    const facilityIds = [...new Set(body.facilityIds)];
    const found = await tx
      .select({
        id: facilities.id,
        kind: facilities.kind,
        communityId: facilities.communityId,
        status: facilities.status,
        operatorOrgId: facilities.operatorOrgId,
        inOpenContract: sql<boolean>`exists (select 1 from ${contractFacilities} cf join ${contracts} k on k.id = cf.contract_id
          where cf.facility_id = ${outer(facilities.id)} and k.state in ${OPEN_STATES})`,
      })
      .from(facilities)
      .where(inArray(facilities.id, facilityIds));
    facilityIds.forEach((id, i) => {
      const f = found.find((x) => x.id === id);
      const field = `body.facilityIds.${i}`;
      if (!f || f.communityId !== body.communityId)
        errors.push({ field, message: "is not a facility of this community" });
      else if (f.operatorOrgId && f.operatorOrgId !== p.orgId)
        errors.push({ field, message: "is operated by another enterprise" });
      else if (f.status !== "planned") errors.push({ field, message: `is ${f.status}, not planned` });
      else if (f.inOpenContract) errors.push({ field, message: "is already in another open contract" });
    });
    errors.push(...termsErrors(body.terms, [...new Set(found.map((f) => f.kind))]));
    if (errors.length || !community) throw ApiError.validation(errors);

    const [contract] = await tx
      .insert(contracts)
      .values({
        title: body.title,
        streetId: community.streetId,
        communityId: community.id,
        enterpriseOrgId: p.orgId,
        ownersCommitteeOrgId: body.ownersCommitteeOrgId,
        propertyCompanyOrgId: body.propertyCompanyOrgId,
        streetOfficeOrgId: body.streetOfficeOrgId ?? null,
        voteMatter: body.voteMatter,
        invoiceDueDays: body.invoiceDueDays,
        paymentGraceDays: body.paymentGraceDays,
        createdAt: now,
        updatedAt: now,
      })
      .returning();
    if (!contract) throw new Error("insert returned nothing");
    await tx
      .insert(contractFacilities)
      .values(facilityIds.map((facilityId) => ({ contractId: contract.id, facilityId })));
    await insertVersion(
      tx,
      {
        contractId: contract.id,
        versionNo: 1,
        isAmendment: false,
        effectiveDate: null,
        summary: body.summary,
      },
      body.terms,
    );
    await appendAudit(tx, {
      contractId: contract.id,
      action: "contract.drafted",
      actorOrgId: p.orgId,
      actorKeyId: p.keyId,
      actor: p.person,
      versionNo: 1,
      payload: {
        title: body.title,
        facilityIds,
        invoiceDueDays: body.invoiceDueDays,
        paymentGraceDays: body.paymentGraceDays,
      },
      at: now,
    });
    return contract;
  });
  return contractDetail(ctx.db, p, created.id, ctx.clock);
}

export interface DraftEdit {
  summary?: string | undefined;
  /** Null: not set, as GET reads an original contract's draft (an amendment's cannot be null). */
  effectiveDate?: string | null | undefined;
  terms: ContractTerms;
  invoiceDueDays?: number | undefined;
  paymentGraceDays?: number | undefined;
}

/** The enterprise edits the current draft, at the revision it read (If-Match). */
export async function editDraft(
  ctx: ServiceContext,
  id: string,
  versionNo: number,
  body: DraftEdit,
  ifMatch: string | undefined,
) {
  const saved = await runContractCommand(ctx, id, { type: "edit_draft", versionNo }, async (s) => {
    // The command table admits only the current version, and only as a draft.
    const version = s.version;
    if (!ifMatch) {
      throw new ApiError(
        428,
        "if_match_required",
        "Precondition required",
        `Send If-Match: ${etagOf(version)} from GET.`,
      );
    }
    if (ifMatch.replace(/^W\//, "") !== etagOf(version)) throw staleRevision();
    if (body.effectiveDate && !version.isAmendment) {
      throw ApiError.validation([{ field: "body.effectiveDate", message: "applies to amendments only" }]);
    }
    if (body.effectiveDate === null && version.isAmendment) {
      throw ApiError.validation([
        { field: "body.effectiveDate", message: "is the date the amendment takes effect: it cannot be null" },
      ]);
    }
    // Payment days are the contract's, not a version's, and not part of what is signed: they
    // are settled while the original contract is drafted, and no amendment can change them.
    const paymentDays = {
      ...(body.invoiceDueDays !== undefined ? { invoiceDueDays: body.invoiceDueDays } : {}),
      ...(body.paymentGraceDays !== undefined ? { paymentGraceDays: body.paymentGraceDays } : {}),
    };
    if (version.isAmendment) {
      const errors = Object.keys(paymentDays).map((field) => ({
        field: `body.${field}`,
        message: "is set while the original contract is drafted; an amendment cannot change it",
      }));
      if (errors.length) throw ApiError.validation(errors);
    }
    const errors = termsErrors(body.terms, await facilityKindsOf(s.tx, s.contract.id));
    if (errors.length) throw ApiError.validation(errors);
    const row = await replaceTerms(s.tx, version, body, s.now);
    if (Object.keys(paymentDays).length) await setContract(s.tx, s.contract.id, paymentDays, s.now);
    await s.audit("draft.edited", { versionNo, payload: { revision: row.revision, ...paymentDays } });
    return row;
  });
  const contract = await findContract(ctx.db, ctx.principal, id);
  return { etag: etagOf(saved), version: await versionParts(ctx.db, contract, saved) };
}
