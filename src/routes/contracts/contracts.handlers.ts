import { and, asc, eq, inArray, isNotNull, notInArray, sql } from "drizzle-orm";
import {
  CONTRACT_STATES,
  compareDates,
  daysBetween,
  diffTerms,
  isTerminal,
  shanghaiDate,
  verifyChain,
} from "../../../contracts/index.js";
import { appendAudit, readAudit } from "../../../db/audit.js";
import { outer } from "../../../db/database.js";
import {
  communities,
  contractFacilities,
  contracts,
  contractVersions,
  facilities,
  handbackChecks,
  organizationCommunities,
  organizations,
} from "../../../db/schema.js";
import { contractScope, requireOrg } from "../../auth/scope.js";
import { serviceContext } from "../../context.js";
import { ApiError, type FieldError } from "../../errors.js";
import type { AppRouteHandler } from "../../openapi.js";
import { runContractCommand } from "../../services/contracts/command.js";
import {
  contractDetail,
  etagOf,
  facilityKindsOf,
  findContract,
  findVersion,
  insertVersion,
  listContractsPage,
  replaceTerms,
  setContract,
  staleRevision,
  termsErrors,
  termsOf,
  versionParts,
  versionsParts,
} from "../../services/contracts/store.js";
import {
  auditEntryJson,
  auditVerdictJson,
  contractDetailJson,
  contractSummaryJson,
  upcomingTransferJson,
  versionPartsJson,
} from "./contracts.presenters.js";
import type * as routes from "./contracts.routes.js";

/** States in which a contract still holds its facilities. */
const OPEN_STATES = CONTRACT_STATES.filter((state) => !isTerminal(state));

export const createContract: AppRouteHandler<typeof routes.createContract> = async (c) => {
  const p = requireOrg(c.var.principal, ["enterprise"], "draft contracts");
  const body = c.req.valid("json");
  const now = c.var.deps.clock();
  const created = await c.var.db.transaction(async (tx) => {
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
  return c.json(contractDetailJson(await contractDetail(c.var.db, p, created.id, c.var.deps.clock)), 201);
};

export const listContracts: AppRouteHandler<typeof routes.listContracts> = async (c) => {
  const { items, total } = await listContractsPage(c.var.db, c.var.principal, c.req.valid("query"));
  return c.json({ items: items.map(contractSummaryJson), total }, 200);
};

export const getContract: AppRouteHandler<typeof routes.getContract> = async (c) => {
  const detail = await contractDetail(c.var.db, c.var.principal, c.req.valid("param").id, c.var.deps.clock);
  return c.json(contractDetailJson(detail), 200);
};

export const listVersions: AppRouteHandler<typeof routes.listVersions> = async (c) => {
  const { db } = c.var;
  const contract = await findContract(db, c.var.principal, c.req.valid("param").id);
  const versions = await db
    .select()
    .from(contractVersions)
    .where(eq(contractVersions.contractId, contract.id))
    .orderBy(asc(contractVersions.versionNo));
  return c.json({ items: (await versionsParts(db, contract, versions)).map(versionPartsJson) }, 200);
};

export const getVersion: AppRouteHandler<typeof routes.getVersion> = async (c) => {
  const { db } = c.var;
  const { id, versionNo } = c.req.valid("param");
  const contract = await findContract(db, c.var.principal, id);
  const version = await findVersion(db, contract.id, versionNo);
  c.header("ETag", etagOf(version));
  return c.json(versionPartsJson(await versionParts(db, contract, version)), 200);
};

export const editDraft: AppRouteHandler<typeof routes.editDraft> = async (c) => {
  const { id, versionNo } = c.req.valid("param");
  const body = c.req.valid("json");
  const ifMatch = c.req.valid("header")["if-match"];
  const saved = await runContractCommand(
    serviceContext(c),
    id,
    { type: "edit_draft", versionNo },
    async (s) => {
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
    },
  );
  const contract = await findContract(c.var.db, c.var.principal, id);
  c.header("ETag", etagOf(saved));
  return c.json(versionPartsJson(await versionParts(c.var.db, contract, saved)), 200);
};

export const diffVersions: AppRouteHandler<typeof routes.diffVersions> = async (c) => {
  const { db } = c.var;
  const { id } = c.req.valid("param");
  const { from, to } = c.req.valid("query");
  const contract = await findContract(db, c.var.principal, id);
  const [a, b] = await Promise.all([findVersion(db, contract.id, from), findVersion(db, contract.id, to)]);
  const changes = diffTerms(await termsOf(db, a), await termsOf(db, b));
  return c.json({ from, to, changes }, 200);
};

export const getAudit: AppRouteHandler<typeof routes.getAudit> = async (c) => {
  const { db } = c.var;
  const contract = await findContract(db, c.var.principal, c.req.valid("param").id);
  return c.json({ items: (await readAudit(db, contract.id)).map(auditEntryJson) }, 200);
};

export const verifyAudit: AppRouteHandler<typeof routes.verifyAudit> = async (c) => {
  const { db } = c.var;
  const contract = await findContract(db, c.var.principal, c.req.valid("param").id);
  return c.json(auditVerdictJson(verifyChain(await readAudit(db, contract.id))), 200);
};

export const listTransfers: AppRouteHandler<typeof routes.listTransfers> = async (c) => {
  const { within } = c.req.valid("query");
  const today = shanghaiDate(c.var.deps.clock());
  const { db } = c.var;
  const rows = await db
    .select({
      contract: contracts,
      handbackOpen: sql<number>`(select count(*)::int from ${handbackChecks} h
        where h.contract_id = ${outer(contracts.id)} and h.checked_on is null)`,
    })
    .from(contracts)
    .where(
      and(
        contractScope(c.var.principal),
        isNotNull(contracts.transferDate),
        notInArray(contracts.state, ["transferred", "terminated"]),
        sql`${contracts.transferDate} <= (${today}::date + ${within}::int)`,
      ),
    )
    .orderBy(asc(contracts.transferDate), asc(contracts.id));
  const items = rows.map(({ contract, handbackOpen }) => {
    const date = contract.transferDate ?? today;
    return upcomingTransferJson(contract, {
      daysUntilTransfer: daysBetween(today, date),
      overdue: compareDates(date, today) < 0,
      handbackOpen,
    });
  });
  return c.json({ today, items }, 200);
};
