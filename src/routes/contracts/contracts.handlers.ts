/**
 * The contract routes other than the lifecycle: each parses, calls one function of the contracts
 * service (src/services/contracts), and presents what it returns.
 */
import { serviceContext } from "../../context.js";
import { type AppRouteHandler, pageJson } from "../../openapi.js";
import * as drafting from "../../services/contracts/drafting.js";
import * as reads from "../../services/contracts/reads.js";
import {
  auditEntryJson,
  auditVerdictJson,
  contractDetailJson,
  contractSummaryJson,
  milestoneJson,
  signatureJson,
  upcomingTransferJson,
  versionPartsJson,
} from "./contracts.presenters.js";
import type * as routes from "./contracts.routes.js";

export const createContract: AppRouteHandler<typeof routes.createContract> = async (c) => {
  const detail = await drafting.createContract(serviceContext(c), c.req.valid("json"));
  return c.json(contractDetailJson(detail), 201);
};

export const listContracts: AppRouteHandler<typeof routes.listContracts> = async (c) => {
  const query = c.req.valid("query");
  const { items, total } = await reads.listContracts(serviceContext(c), query);
  return c.json(pageJson(c.req.url, items.map(contractSummaryJson), total, query), 200);
};

export const getContract: AppRouteHandler<typeof routes.getContract> = async (c) => {
  return c.json(contractDetailJson(await reads.getContract(serviceContext(c), c.req.valid("param").id)), 200);
};

export const listVersions: AppRouteHandler<typeof routes.listVersions> = async (c) => {
  const page = c.req.valid("query");
  const { items, total } = await reads.listVersions(serviceContext(c), c.req.valid("param").id, page);
  return c.json(pageJson(c.req.url, items.map(versionPartsJson), total, page), 200);
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

export const listMilestones: AppRouteHandler<typeof routes.listMilestones> = async (c) => {
  const page = c.req.valid("query");
  const { items, total } = await reads.listMilestones(serviceContext(c), c.req.valid("param").id, page);
  return c.json(pageJson(c.req.url, items.map(milestoneJson), total, page), 200);
};

export const getMilestone: AppRouteHandler<typeof routes.getMilestone> = async (c) => {
  const { id, kind } = c.req.valid("param");
  return c.json(milestoneJson(await reads.getMilestone(serviceContext(c), id, kind)), 200);
};

export const listSignatures: AppRouteHandler<typeof routes.listSignatures> = async (c) => {
  const query = c.req.valid("query");
  const { items, total } = await reads.listSignatures(serviceContext(c), c.req.valid("param").id, query);
  return c.json(pageJson(c.req.url, items.map(signatureJson), total, query), 200);
};

export const getAudit: AppRouteHandler<typeof routes.getAudit> = async (c) => {
  const page = c.req.valid("query");
  const { items, total } = await reads.auditPage(serviceContext(c), c.req.valid("param").id, page);
  return c.json(pageJson(c.req.url, items.map(auditEntryJson), total, page), 200);
};

export const verifyAudit: AppRouteHandler<typeof routes.verifyAudit> = async (c) => {
  return c.json(auditVerdictJson(await reads.verifyAuditOf(serviceContext(c), c.req.valid("param").id)), 200);
};

export const listTransfers: AppRouteHandler<typeof routes.listTransfers> = async (c) => {
  const { withinDays, ...page } = c.req.valid("query");
  const { today, items, total } = await reads.upcomingTransfers(serviceContext(c), withinDays, page);
  const transfers = items.map(({ contract, ...due }) => upcomingTransferJson(contract, due));
  return c.json({ ...pageJson(c.req.url, transfers, total, page), today }, 200);
};
