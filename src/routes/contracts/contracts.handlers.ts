/**
 * The contract routes other than the lifecycle: each parses, calls one function of the contracts
 * service (src/services/contracts), and presents what it returns.
 */
import { serviceContext } from "../../context.js";
import type { AppRouteHandler } from "../../openapi.js";
import * as drafting from "../../services/contracts/drafting.js";
import * as reads from "../../services/contracts/reads.js";
import {
  auditEntryJson,
  auditVerdictJson,
  contractDetailJson,
  contractSummaryJson,
  upcomingTransferJson,
  versionPartsJson,
} from "./contracts.presenters.js";
import type * as routes from "./contracts.routes.js";

export const createContract: AppRouteHandler<typeof routes.createContract> = async (c) => {
  const detail = await drafting.createContract(serviceContext(c), c.req.valid("json"));
  return c.json(contractDetailJson(detail), 201);
};

export const listContracts: AppRouteHandler<typeof routes.listContracts> = async (c) => {
  const { items, total } = await reads.listContracts(serviceContext(c), c.req.valid("query"));
  return c.json({ items: items.map(contractSummaryJson), total }, 200);
};

export const getContract: AppRouteHandler<typeof routes.getContract> = async (c) => {
  return c.json(contractDetailJson(await reads.getContract(serviceContext(c), c.req.valid("param").id)), 200);
};

export const listVersions: AppRouteHandler<typeof routes.listVersions> = async (c) => {
  const versions = await reads.listVersions(serviceContext(c), c.req.valid("param").id);
  return c.json({ items: versions.map(versionPartsJson) }, 200);
};

export const getVersion: AppRouteHandler<typeof routes.getVersion> = async (c) => {
  const { id, versionNo } = c.req.valid("param");
  const { etag, version } = await reads.getVersion(serviceContext(c), id, versionNo);
  c.header("ETag", etag);
  return c.json(versionPartsJson(version), 200);
};

export const editDraft: AppRouteHandler<typeof routes.editDraft> = async (c) => {
  const { id, versionNo } = c.req.valid("param");
  const ifMatch = c.req.valid("header")["if-match"];
  const { etag, version } = await drafting.editDraft(
    serviceContext(c),
    id,
    versionNo,
    c.req.valid("json"),
    ifMatch,
  );
  c.header("ETag", etag);
  return c.json(versionPartsJson(version), 200);
};

export const diffVersions: AppRouteHandler<typeof routes.diffVersions> = async (c) => {
  const { fromVersionNo, toVersionNo } = c.req.valid("query");
  const id = c.req.valid("param").id;
  const changes = await reads.diffVersions(serviceContext(c), id, fromVersionNo, toVersionNo);
  return c.json({ fromVersionNo, toVersionNo, changes }, 200);
};

export const getAudit: AppRouteHandler<typeof routes.getAudit> = async (c) => {
  const entries = await reads.auditOf(serviceContext(c), c.req.valid("param").id);
  return c.json({ items: entries.map(auditEntryJson) }, 200);
};

export const verifyAudit: AppRouteHandler<typeof routes.verifyAudit> = async (c) => {
  return c.json(auditVerdictJson(await reads.verifyAuditOf(serviceContext(c), c.req.valid("param").id)), 200);
};

export const listTransfers: AppRouteHandler<typeof routes.listTransfers> = async (c) => {
  const { today, items } = await reads.upcomingTransfers(serviceContext(c), c.req.valid("query").withinDays);
  return c.json(
    {
      today,
      items: items.map(({ contract, ...due }) => upcomingTransferJson(contract, due)),
    },
    200,
  );
};
