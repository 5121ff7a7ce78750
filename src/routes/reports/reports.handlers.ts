/**
 * Operation report routes: each parses, calls one function of the reports service
 * (src/services/reports), and presents what it returns.
 */
import { serviceContext } from "../../context.js";
import { type AppRouteHandler, pageJson } from "../../openapi.js";
import * as reports from "../../services/reports/reports.js";
import { reportCommentJson, reportDetailJson, reportJson } from "./reports.presenters.js";
import type * as routes from "./reports.routes.js";

export const submitReport: AppRouteHandler<typeof routes.submitReport> = async (c) => {
  const detail = await reports.fileReport(serviceContext(c), c.req.valid("param").id, c.req.valid("json"));
  return c.json(reportDetailJson(detail), 201);
};

export const listReports: AppRouteHandler<typeof routes.listReports> = async (c) => {
  const q = c.req.valid("query");
  const filter = { period: q.period, status: q.state, includeSuperseded: q.includeSuperseded === "true" };
  const { items, total } = await reports.listReports(serviceContext(c), c.req.valid("param").id, filter, q);
  return c.json(pageJson(c.req.url, items.map(reportJson), total, q), 200);
};

export const getReport: AppRouteHandler<typeof routes.getReport> = async (c) => {
  const q = c.req.valid("query");
  const detail = await reports.reportDetailOf(serviceContext(c), c.req.valid("param").id, {
    absolute: q.toleranceAbsolute,
    relative: q.toleranceRelative,
  });
  return c.json(reportDetailJson(detail), 200);
};

export const acceptReport: AppRouteHandler<typeof routes.acceptReport> = async (c) => {
  return c.json(
    reportDetailJson(await reports.acceptReport(serviceContext(c), c.req.valid("param").id)),
    200,
  );
};

export const queryReport: AppRouteHandler<typeof routes.queryReport> = async (c) => {
  const { comment } = c.req.valid("json");
  const detail = await reports.queryReport(serviceContext(c), c.req.valid("param").id, comment);
  return c.json(reportDetailJson(detail), 200);
};

export const reviseReport: AppRouteHandler<typeof routes.reviseReport> = async (c) => {
  const detail = await reports.reviseReport(serviceContext(c), c.req.valid("param").id, c.req.valid("json"));
  const body = reportDetailJson(detail);
  // The revision is a report of its own, read where every report is.
  return c.json(body, 201, { Location: `/v1/reports/${body.id}` });
};

export const listReportComments: AppRouteHandler<typeof routes.listReportComments> = async (c) => {
  const page = c.req.valid("query");
  const { items, total } = await reports.listReportComments(serviceContext(c), c.req.valid("param").id, page);
  const comments = items.map(({ comment, versionNo }) => reportCommentJson(comment, versionNo));
  return c.json(pageJson(c.req.url, comments, total, page), 200);
};
