/**
 * The organizations routes: each parses, calls one function of the organizations service
 * (src/services/organizations.ts), and presents what it returns.
 */
import { serviceContext } from "../../context.js";
import { type AppRouteHandler, pageJson } from "../../openapi.js";
import * as organizations from "../../services/organizations.js";
import * as people from "../../services/people.js";
import {
  invitationJson,
  issuedInvitationJson,
  issuedKeyJson,
  keyJson,
  meJson,
  orgJson,
} from "./organizations.presenters.js";
import type * as routes from "./organizations.routes.js";

export const getMe: AppRouteHandler<typeof routes.getMe> = async (c) => {
  const caller = await organizations.whoAmI(serviceContext(c));
  return c.json(meJson(caller, c.var.credential.kind), 200);
};

export const createOrganization: AppRouteHandler<typeof routes.createOrganization> = async (c) => {
  const body = c.req.valid("json");
  const { organization, firstKey } = await organizations.createOrganization(serviceContext(c), body);
  c.var.logger.info({ organizationId: organization.id, kind: body.kind }, "organization registered");
  return c.json({ organization: orgJson(organization), firstKey: issuedKeyJson(firstKey) }, 201);
};

export const listOrganizations: AppRouteHandler<typeof routes.listOrganizations> = async (c) => {
  const { limit, offset, ...filter } = c.req.valid("query");
  const page = { limit, offset };
  const { items, total } = await organizations.listOrganizations(serviceContext(c), filter, page);
  return c.json(pageJson(c.req.url, items.map(orgJson), total, page), 200);
};

export const getOrganization: AppRouteHandler<typeof routes.getOrganization> = async (c) => {
  const row = await organizations.getOrganization(serviceContext(c), c.req.valid("param").id);
  return c.json(orgJson(row), 200);
};

export const updateOrganizationCommunities: AppRouteHandler<
  typeof routes.updateOrganizationCommunities
> = async (c) => {
  const { id } = c.req.valid("param");
  const { communityIds } = c.req.valid("json");
  const row = await organizations.setOrganizationCommunities(
    serviceContext(c),
    c.var.deps.keyCache,
    id,
    communityIds,
  );
  return c.json(orgJson(row), 200);
};

export const listKeys: AppRouteHandler<typeof routes.listKeys> = async (c) => {
  const page = c.req.valid("query");
  const { items, total } = await organizations.listKeys(serviceContext(c), c.req.valid("param").id, page);
  return c.json(pageJson(c.req.url, items.map(keyJson), total, page), 200);
};

export const createKey: AppRouteHandler<typeof routes.createKey> = async (c) => {
  const { id } = c.req.valid("param");
  const issued = await organizations.createKey(serviceContext(c), id, c.req.valid("json"));
  c.var.logger.info({ organizationId: id, keyId: issued.row.id }, "api key issued");
  return c.json(issuedKeyJson(issued), 201);
};

export const getKey: AppRouteHandler<typeof routes.getKey> = async (c) => {
  const { id, keyId } = c.req.valid("param");
  return c.json(keyJson(await organizations.getKey(serviceContext(c), id, keyId)), 200);
};

export const revokeKey: AppRouteHandler<typeof routes.revokeKey> = async (c) => {
  const { id, keyId } = c.req.valid("param");
  const row = await organizations.revokeKey(serviceContext(c), c.var.deps.keyCache, id, keyId);
  c.var.logger.info({ organizationId: id, keyId }, "api key revoked");
  return c.json(keyJson(row), 200);
};

export const createInvitation: AppRouteHandler<typeof routes.createInvitation> = async (c) => {
  const { id } = c.req.valid("param");
  const issued = await people.invite(serviceContext(c), id, c.req.valid("json"));
  c.var.logger.info({ organizationId: id, invitationId: issued.row.id }, "invitation issued");
  return c.json(issuedInvitationJson(issued), 201);
};

export const listInvitations: AppRouteHandler<typeof routes.listInvitations> = async (c) => {
  const page = c.req.valid("query");
  const { items, total } = await people.listInvitations(serviceContext(c), c.req.valid("param").id, page);
  return c.json(pageJson(c.req.url, items.map(invitationJson), total, page), 200);
};

export const getInvitation: AppRouteHandler<typeof routes.getInvitation> = async (c) => {
  const { id, invitationId } = c.req.valid("param");
  return c.json(invitationJson(await people.getInvitation(serviceContext(c), id, invitationId)), 200);
};
