/**
 * The contract's lifecycle routes: each parses, calls one function of the contracts service
 * (src/services/contracts), and presents what it returns.
 */
import { serviceContext } from "../../context.js";
import { type AppRouteHandler, pageJson } from "../../openapi.js";
import * as contracts from "../../services/contracts/lifecycle.js";
import { contractDetailJson } from "./contracts.presenters.js";
import type * as routes from "./contracts.routes.js";

const commentJson = (r: contracts.CommentRow) => ({
  id: r.id,
  versionNo: r.versionNo,
  authorOrgId: r.authorOrgId,
  body: r.body,
  createdAt: r.createdAt.toISOString(),
});

export const submit: AppRouteHandler<typeof routes.submit> = async (c) => {
  return c.json(contractDetailJson(await contracts.submit(serviceContext(c), c.req.valid("param").id)), 200);
};

export const requestChanges: AppRouteHandler<typeof routes.requestChanges> = async (c) => {
  const { reason } = c.req.valid("json");
  return c.json(
    contractDetailJson(await contracts.requestChanges(serviceContext(c), c.req.valid("param").id, reason)),
    200,
  );
};

export const revise: AppRouteHandler<typeof routes.revise> = async (c) => {
  return c.json(contractDetailJson(await contracts.revise(serviceContext(c), c.req.valid("param").id)), 200);
};

export const recordVote: AppRouteHandler<typeof routes.recordVote> = async (c) => {
  const vote = await contracts.recordVote(serviceContext(c), c.req.valid("param").id, c.req.valid("json"));
  return c.json(contracts.voteView(vote), 201);
};

export const listVotes: AppRouteHandler<typeof routes.listVotes> = async (c) => {
  const page = c.req.valid("query");
  const { items, total } = await contracts.listVotes(serviceContext(c), c.req.valid("param").id, page);
  return c.json(pageJson(c.req.url, items, total, page), 200);
};

export const getVote: AppRouteHandler<typeof routes.getVote> = async (c) => {
  const { id, voteId } = c.req.valid("param");
  return c.json(await contracts.getVote(serviceContext(c), id, voteId), 200);
};

export const approve: AppRouteHandler<typeof routes.approve> = async (c) => {
  const body = c.req.valid("json");
  return c.json(
    contractDetailJson(await contracts.approve(serviceContext(c), c.req.valid("param").id, body)),
    200,
  );
};

export const sign: AppRouteHandler<typeof routes.sign> = async (c) => {
  return c.json(contractDetailJson(await contracts.sign(serviceContext(c), c.req.valid("param").id)), 200);
};

export const createAmendment: AppRouteHandler<typeof routes.createAmendment> = async (c) => {
  const id = c.req.valid("param").id;
  const detail = contractDetailJson(
    await contracts.createAmendment(serviceContext(c), id, c.req.valid("json")),
  );
  // What was created is the amendment's draft version.
  return c.json(detail, 201, { Location: `/v1/contracts/${id}/versions/${detail.currentVersionNo}` });
};

export const listComments: AppRouteHandler<typeof routes.listComments> = async (c) => {
  const { versionNo, ...page } = c.req.valid("query");
  const { items, total } = await contracts.listComments(
    serviceContext(c),
    c.req.valid("param").id,
    versionNo,
    page,
  );
  return c.json(pageJson(c.req.url, items.map(commentJson), total, page), 200);
};

export const getComment: AppRouteHandler<typeof routes.getComment> = async (c) => {
  const { id, commentId } = c.req.valid("param");
  return c.json(commentJson(await contracts.getComment(serviceContext(c), id, commentId)), 200);
};

export const addComment: AppRouteHandler<typeof routes.addComment> = async (c) => {
  const row = await contracts.addComment(serviceContext(c), c.req.valid("param").id, c.req.valid("json"));
  return c.json(commentJson(row), 201);
};

export const recordMilestone: AppRouteHandler<typeof routes.recordMilestone> = async (c) => {
  const id = c.req.valid("param").id;
  const body = c.req.valid("json");
  const detail = contractDetailJson(await contracts.recordMilestone(serviceContext(c), id, body));
  // What was recorded is the milestone, keyed by (contract, kind), not the contract it answers.
  return c.json(detail, 201, { Location: `/v1/contracts/${id}/milestones/${body.kind}` });
};

export const confirmMilestone: AppRouteHandler<typeof routes.confirmMilestone> = async (c) => {
  const { id, kind } = c.req.valid("param");
  return c.json(contractDetailJson(await contracts.confirmMilestone(serviceContext(c), id, kind)), 200);
};

export const checkHandback: AppRouteHandler<typeof routes.checkHandback> = async (c) => {
  const { id, code } = c.req.valid("param");
  const row = await contracts.checkHandback(serviceContext(c), id, code, c.req.valid("json"));
  return c.json(
    { code: row.code, description: row.description, checkedOn: row.checkedOn, note: row.note },
    200,
  );
};

export const transfer: AppRouteHandler<typeof routes.transfer> = async (c) => {
  const body = c.req.valid("json");
  return c.json(
    contractDetailJson(await contracts.transfer(serviceContext(c), c.req.valid("param").id, body)),
    200,
  );
};

export const terminate: AppRouteHandler<typeof routes.terminate> = async (c) => {
  const { reason } = c.req.valid("json");
  return c.json(
    contractDetailJson(await contracts.terminate(serviceContext(c), c.req.valid("param").id, reason)),
    200,
  );
};
